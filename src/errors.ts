/**
 * Every error the engine reports carries a stable code, the thing and place it concerns, and whether
 * retrying the same operation can succeed. Workers return these as plain data (`toData`) instead of
 * throwing across the thread boundary.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'ENG_CONFIG_INVALID',
  CONFIG_READ: 'ENG_CONFIG_READ',
  SCHEMA_LOAD: 'ENG_SCHEMA_LOAD',
  TABLE_MAPPING: 'ENG_TABLE_MAPPING',
  TABLE_MISSING: 'ENG_TABLE_MISSING',
  /** [Tables] routes: a record whose route value has no table, and the routes no default. */
  RECORD_ROUTE: 'ENG_RECORD_ROUTE',
  RECORD_DECODE: 'ENG_RECORD_DECODE',
  RECORD_VALUE: 'ENG_RECORD_VALUE',
  RECORD_NULL: 'ENG_RECORD_NULL',
  CDC_TRUNCATE: 'ENG_CDC_TRUNCATE',
  RING_RECORD_TOO_LARGE: 'ENG_RING_RECORD_TOO_LARGE',
  KAFKA_CONNECT: 'ENG_KAFKA_CONNECT',
  KAFKA_CONSUME: 'ENG_KAFKA_CONSUME',
  KAFKA_COMMIT: 'ENG_KAFKA_COMMIT',
  KAFKA_TOPIC_ROUTE: 'ENG_KAFKA_TOPIC_ROUTE',
  /** [Tables] A new topic of a table-template pipeline: the engine starts again with its table (not a failure). */
  TOPICS_CHANGED: 'ENG_TOPICS_CHANGED',
  /** [Tables] evolve: a writer schema the table or the column plan does not fit yet: the engine alters the table and starts again (not a failure). */
  TABLES_CHANGED: 'ENG_TABLES_CHANGED',
  /** [Tables] evolve: a writer schema the table cannot take without losing data; its records fail with the DDL it would need. */
  SCHEMA_EVOLUTION: 'ENG_SCHEMA_EVOLUTION',
  KAFKA_STALLED: 'ENG_KAFKA_STALLED',
  NATIVE_UNAVAILABLE: 'ENG_NATIVE_UNAVAILABLE',
  PG_CONNECT: 'ENG_PG_CONNECT',
  PG_WRITE: 'ENG_PG_WRITE',
  PG_REJECTED: 'ENG_PG_REJECTED',
  /** Two hosts of postgres.url answer as primaries: the engine writes to neither. */
  PG_SPLIT_BRAIN: 'ENG_PG_SPLIT_BRAIN',
  WORKER_FAILED: 'ENG_WORKER_FAILED',
  REGISTRY: 'ENG_REGISTRY',
  DEAD_LETTER: 'ENG_DEAD_LETTER',
  INTERNAL: 'ENG_INTERNAL',
  SHUTDOWN: 'ENG_SHUTDOWN',
  FENCED: 'ENG_FENCED',
  OFFSETS: 'ENG_OFFSETS',
  /** [DR] The group failed over to the other Kafka cluster: an engine on the old one restarts on the new. */
  CLUSTER_INACTIVE: 'ENG_CLUSTER_INACTIVE',
  /** [DR] A failover that cannot be done exactly (a cluster unreachable, a mirror or checkpoints missing): nothing moved. */
  FAILOVER: 'ENG_FAILOVER',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface EngineErrorData {
  code: ErrorCode;
  message: string;
  retriable: boolean;
}

export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }

  toData(): EngineErrorData {
    return { code: this.code, message: this.message, retriable: this.retriable };
  }

  static fromData(data: EngineErrorData): EngineError {
    return new EngineError(data.code, data.message, { retriable: data.retriable });
  }
}

/** The message of an unknown thrown value, for wrapping it in an EngineError. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Exit codes of `engine`: a person or a supervisor can act on each. */
export const ExitCodes = {
  OK: 0,
  /** Anything else: retrying later may help (an outage that outlasted retry.maxElapsed, a stall). */
  FAILED: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** The config, a schema or the table does not fit: no retry helps until a person fixes it. */
  CONFIG: 3,
  INTERRUPTED: 130,
} as const;

/** Errors a person must fix before the command can succeed (exit CONFIG, not FAILED). */
const CONFIG_CODES: ReadonlySet<ErrorCode> = new Set([ErrorCodes.CONFIG_INVALID, ErrorCodes.CONFIG_READ, ErrorCodes.SCHEMA_LOAD, ErrorCodes.TABLE_MAPPING]);

/** The one map from an error to the exit code, for every command. */
export function exitCodeFor(err: unknown): number {
  return err instanceof EngineError && CONFIG_CODES.has(err.code) ? ExitCodes.CONFIG : ExitCodes.FAILED;
}
