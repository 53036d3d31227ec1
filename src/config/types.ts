import type { PgTls } from './postgres-tls';
import type { PgHostList } from './postgres-url';
import type { RetryPolicy } from '../retry';
import type { ASSIGNMENT_STRATEGIES, DELIVERIES, FORMATS, GROUP_PROTOCOLS, ON_RECORD_ERROR, PARTITION_INTERVALS, REPLICATION_POLICIES, SOURCES, WRITE_MODES } from './schema';
/**
 * A schema registry and how to reach it: HTTP basic auth (also from the URL's user:password) and, for
 * https, a CA file to verify it by (else the system's roots) and optionally a client certificate.
 */
export interface RegistryConfig {
  url: string;
  username: string | null;
  password: string | null;
  ca: string | null;
  cert: string | null;
  key: string | null;
}

/**
 * The validated, resolved engine configuration: what config/validate.ts makes of the document whose shape
 * config/schema.ts defines (paths resolved, sizes and durations parsed, table names quoted, defaults and
 * the memory plan applied). The enumerations come from the schema, so the two cannot drift.
 */
export type Format = (typeof FORMATS)[number];
export type Delivery = (typeof DELIVERIES)[number];
/** What a record that produces no row does: stop the pipeline, be logged and skipped, or go to the dead-letter topic. */
export type OnRecordError = (typeof ON_RECORD_ERROR)[number];
/** Which Kafka client feeds the ring: the native/ addon, node-rdkafka's JS API, or native when it is built. */
export type SourceKind = (typeof SOURCES)[number];

export interface BatchConfig {
  maxRows: number;
  maxBytes: number;
  maxWaitMs: number;
  /** Flush as soon as a connection is free (batcher.ts); maxRows/maxBytes/maxWaitMs bound it when none is. */
  whenIdle: boolean;
}

/** How rows reach the table: appended (insert), or merged by key (upsert; cdc: Debezium change events). */
export type WriteMode = (typeof WRITE_MODES)[number];

/** upsert and cdc: how a batch is merged into the table (sink/merge.ts). */
export interface MergeConfig {
  mode: 'upsert' | 'cdc';
  /** Columns of the table's primary key or of a unique constraint (checked against the catalog at start). */
  key: string[];
  /** Columns an existing row takes from a newer record; null = every written column but the key. */
  updateColumns: string[] | null;
  /** A column compared before an update: the row changes only if the record's value is not older. */
  onlyIfNewer: string | null;
  /** A tombstone (a key with a null value) deletes the row of its key. */
  deleteOnTombstone: boolean;
  /** cdc: a truncate event (op "t") is a record error (the pipeline's onRecordError) or is skipped. */
  truncate: 'error' | 'skip';
}

export interface PipelineConfig {
  name: string;
  /** Literal topic names, or null when `topicPattern` is used. */
  topics: string[] | null;
  /** A regular expression (librdkafka subscribes to it with a leading `^`). */
  topicPattern: string | null;
  format: Format;
  /** Absolute path of the schema file, or null for schemaless JSON. */
  schemaPath: string | null;
  /** The schema file's text, read at load time so workers never touch the filesystem. */
  schemaText: string | null;
  messageType: string | null;
  /** A Confluent-compatible schema registry: records carry its wire format and writer-schema ids. */
  registry: RegistryConfig | null;
  /** The table as the config wrote it, for messages. */
  table: string;
  /** The table as SQL text: quoted, from config/identifiers.ts. The only form that goes into a statement. */
  tableSql: string;
  /** column name → dotted field path; columns not listed map to the field of the same name. */
  columns: Record<string, string>;
  batch: BatchConfig;
  onRecordError: OnRecordError;
  /** The pipeline's dead-letter topic (created at start unless createTopic is false). */
  deadLetter: { topic: string; createTopic: boolean } | null;
  /** null: insert mode, every record appends a row. */
  merge: MergeConfig | null;
  /** [Tables] Create the table from the schema when it is missing (sink/create-table.ts); null: never. */
  create: CreateConfig | null;
  /** [Tables] One topic to several tables (config/table-routes.ts): the pipeline reads, its route pipelines write. */
  routes: RoutesConfig | null;
  /** [Tables] A route pipeline: the index of the pipeline whose records it writes (it consumes no topic itself). */
  routeOf: number | null;
  /** [Tables] Registry pipelines: ADD COLUMN / ALTER TYPE for new writer schema versions (sink/evolve-table.ts). */
  evolve: boolean;
  /** [Tables] `table` with `${topic}`: expanded into one pipeline per topic before start (config/table-template.ts). */
  tableTemplate: string | null;
  /** A topicPattern template kept after expansion: its topics restart the engine (TopicsChanged), it writes nothing. */
  watchOnly: boolean;
}

export interface RoutesConfig {
  /** `$header.NAME`, `$key` or a dotted field path, as configured. */
  by: string;
  /** Route value → table, as configured. */
  tables: Record<string, string>;
  /** The table of any other value; null: such a record fails (ENG_RECORD_ROUTE). */
  default: string | null;
  /** Route value → the index of its table's route pipeline (set by expandRoutes). */
  targets: Record<string, number>;
  /** The default table's route pipeline; null: none. */
  fallback: number | null;
}

export interface CreateConfig {
  /** Range partitions by a time column: a DEFAULT partition and one per period. */
  partitionBy: { column: string; interval: (typeof PARTITION_INTERVALS)[number] } | null;
}

/** [DR] The two Kafka clusters a mirrored deployment consumes from (source/clusters.ts). */
export type ClusterName = 'primary' | 'dr';
export type ReplicationPolicy = (typeof REPLICATION_POLICIES)[number];
export type GroupProtocol = (typeof GROUP_PROTOCOLS)[number];
export type AssignmentStrategy = (typeof ASSIGNMENT_STRATEGIES)[number];

/** kafka.dr: the cluster MirrorMaker 2 mirrors the primary into. */
export interface DrConfig {
  brokers: string;
  primaryAlias: string;
  drAlias: string;
  replicationPolicy: ReplicationPolicy;
  /** librdkafka settings for the DR cluster, over kafka.config. */
  config: Record<string, string | number | boolean>;
  /** 0: failover only by command. */
  autoFailoverAfterMs: number;
  /** kafka.brokers and kafka.config as configured: the primary's, whichever cluster a view reads. */
  primaryBrokers: string;
  primaryConfig: Record<string, string | number | boolean>;
}

export interface EngineConfig {
  kafka: {
    /** The cluster this configuration reads: kafka.brokers, or kafka.dr.brokers once the group failed over. */
    brokers: string;
    groupId: string;
    /** Passed through to librdkafka, after the engine's own defaults. */
    config: Record<string, string | number | boolean>;
    /** [Scale] classic or KIP-848's consumer protocol (docs/scaling.md). */
    groupProtocol: GroupProtocol;
    /** The classic protocol's partition.assignment.strategy; null with the consumer protocol (the broker assigns). */
    assignmentStrategy: AssignmentStrategy | null;
    /** group.instance.id (static membership); null: a dynamic member. */
    instanceId: string | null;
    /** topic.metadata.refresh.interval.ms: new partitions and pattern-matched topics are seen within this. */
    metadataRefreshMs: number;
    dr: DrConfig | null;
    /** Which cluster `brokers` is (clusterView switches it; validation gives the primary). */
    cluster: ClusterName;
  };
  /**
   * `url` without libpq's TLS parameters, which are in `tls` (config/postgres-tls.ts); `hosts`: its hosts,
   * target_session_attrs and connect timeout (config/postgres-url.ts), one single-host URL per host.
   */
  postgres: { url: string; hosts: PgHostList; connections: number; tls: PgTls | null };
  engine: {
    workers: number;
    /** engine.memory, and what config/memory.ts derives from it (unless set explicitly). */
    memoryBytes: number;
    ringBytes: number;
    fetchQueueKBytes: number;
    fetchQueueMessages: number;
    fetchMaxBytes: number;
    delivery: Delivery;
    source: SourceKind;
    /** Messages asked of librdkafka per consume call; null = the source's default (native 5000, node-rdkafka 1000). */
    pollBatch: number | null;
    /** Commits are coalesced to at most one per this interval. */
    commitIntervalMs: number;
    /** exactly-once: the table holding each partition's finished offsets (commit/offsets-table.ts), `schema.table`. */
    offsetsTable: string;
    /** engine/watchdog.ts: how long a stall may last before /readyz fails, and before the engine exits (0: never). */
    watchdog: { notReadyAfterMs: number; exitAfterMs: number };
  };
  pipelines: PipelineConfig[];
  /**
   * Transient failures (PostgreSQL down or refusing connections, the dead-letter topic unreachable) are
   * retried with exponential backoff and jitter for at most maxElapsedMs; then the engine stops (exit 1).
   */
  retry: RetryPolicy;
  /** Prometheus /metrics, /healthz and /readyz; port null = not served. */
  metrics: { port: number | null; host: string };
}
