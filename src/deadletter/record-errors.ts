import type { Batch } from '../batcher/batcher';
import type { EngineConfig } from '../config/types';
import type { RecordFailure } from '../decode/task';
import { EngineError, ErrorCodes } from '../errors';
import { log } from '../log';
import type { EngineMetrics } from '../metrics/metrics';
import type { TopicRoutes } from '../source/routes';
import { ensureDeadLetterTopic, DeadLetterProducer } from './producer';
import { DeadLetterBuilder, type DeadLetterReason } from './records';
import { rejectionOf, rescue, splitRows, type BatchRow, type Rejection, type RescueStats } from './rescue';

/**
 * What happens to a record that produces no row, per pipeline (`onRecordError`): `fail` stops the
 * engine (nothing at or after it is committed), `skip` logs it with its position, `dead-letter` produces
 * it to the pipeline's dead-letter topic and counts it done only once the broker acknowledged it. Two
 * sources: a record the worker could not decode or encode, and a row PostgreSQL refused (found by
 * splitting the batch, see rescue.ts). A database that is down is never a record error.
 */
export class RecordErrors {
  private readonly producer: DeadLetterProducer | null;
  private readonly builder: DeadLetterBuilder;
  readonly stats: RescueStats = { copies: 0, rejected: 0 };
  deadLettered = 0;
  skipped = 0;

  constructor(
    private readonly config: EngineConfig,
    ring: SharedArrayBuffer,
    private readonly routes: TopicRoutes,
    private readonly metrics: EngineMetrics,
  ) {
    this.builder = new DeadLetterBuilder(ring, config.pipelines, routes);
    this.producer = config.pipelines.some((p) => p.onRecordError === 'dead-letter') ? new DeadLetterProducer(config.kafka, config.retry) : null;
  }

  /** Creates the dead-letter topics that are missing (createTopic), before anything is consumed. */
  async prepare(): Promise<void> {
    for (const p of this.config.pipelines) {
      // [Tables] A route pipeline shares its routed pipeline's dead-letter topic.
      if (p.deadLetter?.createTopic && p.routeOf === null) await ensureDeadLetterTopic(this.config.kafka, p.deadLetter.topic, p.topics?.[0] ?? null);
    }
  }

  /**
   * Decode failures of one chunk: the error that stops the engine (first `fail` record), and the
   * acknowledgements the chunk must wait for (`dead-letter` records).
   */
  decodeFailures(failures: readonly RecordFailure[]): { fatal: EngineError | null; waits: Array<Promise<void>> } {
    let fatal: EngineError | null = null;
    const waits: Array<Promise<void>> = [];
    for (const f of failures) {
      const pipeline = this.config.pipelines[f.pipeline];
      const where = `${this.routes.byTopicId(f.topicId)?.name ?? '?'}[${f.partition}]@${f.offset}`;
      this.metrics.recordFailures.inc({ pipeline: pipeline.name, code: f.error.code });
      const text = `pipeline ${pipeline.name}: record ${where}: ${f.error.message}`;
      if (pipeline.onRecordError === 'skip') {
        this.skipped++;
        this.metrics.skipped.inc({ pipeline: pipeline.name });
        log.warn(`${text} (skipped)`);
      } else if (pipeline.onRecordError === 'dead-letter') {
        waits.push(this.deadLetter(f.pos, { error: f.error }, pipeline.name));
      } else fatal ??= new EngineError(f.error.code, `${text} (onRecordError: fail; nothing at or after it is committed)`);
    }
    return { fatal, waits };
  }

  /**
   * A batch the server refused: when the refusal is about the data and the pipeline does not `fail`,
   * lands the good rows and handles the bad ones; resolves with the rows that landed. Null when the
   * refusal is not rescued (the batch fails as it is).
   */
  rescueBatch(batch: Batch, err: unknown, copy: (rows: BatchRow[]) => Promise<void>): Promise<number> | null {
    const pipeline = this.config.pipelines[batch.pipeline];
    const first = rejectionOf(err);
    if (first === null || pipeline.onRecordError === 'fail') return null;
    const rows = splitRows(batch.parts);
    const before = this.stats.rejected;
    log.warn(`pipeline ${pipeline.name}: PostgreSQL refused a batch of ${batch.rows} rows (${first.sqlstate}: ${first.error.message}); splitting it to find the rows`);
    const reject = (row: BatchRow, why: Rejection): Promise<void> => {
      this.metrics.recordFailures.inc({ pipeline: pipeline.name, code: ErrorCodes.PG_REJECTED });
      const reason: DeadLetterReason = { error: why.error.toData(), sqlstate: why.sqlstate, constraint: why.constraint, column: why.column };
      if (pipeline.onRecordError === 'dead-letter') return this.deadLetter(row.frame, reason, pipeline.name);
      this.skipped++;
      this.metrics.skipped.inc({ pipeline: pipeline.name });
      log.warn(`pipeline ${pipeline.name}: record ${this.builder.where(row.frame)}: row refused by PostgreSQL (${why.sqlstate}): ${why.error.message} (skipped)`);
      return Promise.resolve();
    };
    return rescue(rows, first, copy, reject, this.stats).then(() => rows.length - (this.stats.rejected - before));
  }

  private deadLetter(pos: number, reason: DeadLetterReason, pipeline: string): Promise<void> {
    const record = this.builder.build(pos, reason);
    return this.producer!.send(record).then(() => {
      this.deadLettered++;
      this.metrics.deadLettered.inc({ pipeline });
    });
  }

  async close(): Promise<void> {
    await this.producer?.close();
  }
}
