import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { DEFAULT_RETRY } from '../retry';
import { SSL_MODES } from './postgres-tls';

/**
 * The config document's shape: the one source of its TypeScript types (Static<…>), of the first pass of
 * validation (config/validate.ts compiles this with TypeBox and turns its errors into path-precise
 * messages) and of the JSON Schema that editors read (schemas/config.schema.json is this object written
 * out by `npm run config-schema`; a unit test fails when the two differ).
 *
 * TypeBox because its schemas *are* JSON Schema: what editors check and what the engine checks are the
 * same document, where zod's or a hand-written converter's output can drop refinements. What JSON Schema
 * cannot say (files exist, identifiers parse, ranges of sizes, rules across fields) is checked after the
 * shape, in validate.ts.
 *
 * Values go through ${VAR} substitution before they are checked, and substitution yields strings, so
 * numbers also accept digit strings; the `${…}` alternative is for editors, which see the text before
 * substitution. `expected` (not a JSON Schema keyword, ignored by editors) is the phrase error messages
 * use for a value that does not fit.
 */

const ENV_REF = '\\$\\{[^}]+\\}';

function int(minimum: number, maximum: number, options: { description?: string; default?: number } = {}) {
  return Type.Union([Type.Integer({ minimum, maximum }), Type.String({ pattern: `^(\\d+|${ENV_REF})$` })], {
    ...options,
    expected: `an integer from ${minimum} to ${maximum}`,
  });
}

function size(options: { description?: string; default?: string } = {}) {
  return Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: `^(\\s*\\d+(\\.\\d+)?\\s*([kKmMgG]i?)?[bB]?\\s*|${ENV_REF})$` })], {
    ...options,
    expected: 'a size (like 64MiB, 8MB or a byte count)',
  });
}

function duration(options: { description?: string; default?: string | number } = {}) {
  return Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: `^(\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)?\\s*|${ENV_REF})$` })], {
    ...options,
    expected: 'a duration (like 100ms or 2s)',
  });
}

/** A non-empty string; a YAML number is taken as its text (`groupId: 7`). */
function text(description?: string, defaultValue?: string) {
  const options = defaultValue === undefined ? { description } : { description, default: defaultValue };
  return Type.Union([Type.String({ minLength: 1 }), Type.Number()], { ...options, expected: 'a non-empty string' });
}

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

function oneOf<const T extends readonly string[]>(values: T, options: { description?: string; default?: T[number] } = {}): TUnion<Literals<T>> {
  // map() loses the tuple's literal types, which Static<> needs to give `'avro' | 'protobuf' | 'json'`.
  return Type.Union(values.map((v) => Type.Literal(v)), { ...options, expected: `one of ${values.join(', ')}` }) as unknown as TUnion<Literals<T>>;
}

function names(description: string) {
  return Type.Union([text(), Type.Array(text())], { description, expected: 'a name or a list of names' });
}

const strict = { additionalProperties: false } as const;

export const PARTITION_INTERVALS = ['day', 'month', 'year'] as const;
export const FORMATS = ['avro', 'protobuf', 'json'] as const;
export const DELIVERIES = ['at-least-once', 'exactly-once'] as const;
export const ON_RECORD_ERROR = ['fail', 'skip', 'dead-letter'] as const;
export const SOURCES = ['auto', 'native', 'node-rdkafka'] as const;
export const WRITE_MODES = ['insert', 'upsert', 'cdc'] as const;
export const REPLICATION_POLICIES = ['default', 'identity'] as const;
export const GROUP_PROTOCOLS = ['classic', 'consumer'] as const;
export const ASSIGNMENT_STRATEGIES = ['cooperative-sticky', 'range', 'roundrobin'] as const;

const librdkafkaSettings = (description: string) =>
  Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()], { expected: 'a string, number or boolean' }), { description, default: {} });

const Dr = Type.Object(
  {
    brokers: text('bootstrap servers of the cluster MirrorMaker 2 mirrors the primary into'),
    primaryAlias: Type.Optional(text('MM2\'s alias of the primary cluster: on the DR cluster the topic orders is <primaryAlias>.orders', 'primary')),
    drAlias: Type.Optional(text('MM2\'s alias of the DR cluster: after failback the primary holds DR\'s records in <drAlias>.orders', 'dr')),
    replicationPolicy: Type.Optional(oneOf(REPLICATION_POLICIES, { description: 'MM2\'s replication.policy.class: DefaultReplicationPolicy (prefixed names) or IdentityReplicationPolicy', default: 'default' })),
    config: Type.Optional(librdkafkaSettings('librdkafka settings for the DR cluster only (e.g. its credentials), applied after kafka.config')),
    autoFailoverAfter: Type.Optional(duration({ description: 'fail over by itself once the active cluster has been unreachable this long; 0: only by `engine failover` (the default: a network split would otherwise move the group while the primary still takes writes)', default: 0 })),
  },
  { ...strict, description: '[DR] the cluster MirrorMaker 2 mirrors the primary into (docs/kafka-dr.md)' },
);

const Kafka = Type.Object(
  {
    brokers: text('bootstrap servers, host:port[,host:port…]'),
    groupId: text('the consumer group; exactly-once positions are kept per group'),
    config: Type.Optional(librdkafkaSettings('librdkafka settings, applied after the engine\'s own; the settings exactly-once rests on are refused')),
    groupProtocol: Type.Optional(
      oneOf(GROUP_PROTOCOLS, {
        description: 'the consumer group protocol: classic (every broker; the client assigns) or consumer (KIP-848, brokers 4.0 and later; the broker assigns, incrementally); docs/scaling.md',
        default: 'classic',
      }),
    ),
    assignmentStrategy: Type.Optional(
      oneOf(ASSIGNMENT_STRATEGIES, {
        description: 'classic protocol only: cooperative-sticky (the default: a rebalance moves only the partitions that change owner, the others keep writing) or an eager one (range, roundrobin: every partition of every member stops while the group rebalances)',
      }),
    ),
    instanceId: Type.Optional(text('static membership (group.instance.id), unique per process, e.g. ${HOSTNAME}: a restart within the session timeout moves no partition')),
    metadataRefresh: Type.Optional(duration({ description: 'how often the engine asks the brokers for topics and partition counts: partitions added to a topic, and new topics matching a topicPattern, are consumed within this long', default: '10s' })),
    dr: Type.Optional(Dr),
  },
  strict,
);

const PostgresSsl = Type.Object(
  {
    mode: Type.Optional(oneOf(SSL_MODES, { description: 'libpq\'s sslmode' })),
    rootCert: Type.Optional(text('CA file that signs the server\'s certificate, or `system`')),
    cert: Type.Optional(text('client certificate file')),
    key: Type.Optional(text('client key file')),
  },
  { ...strict, description: 'TLS as libpq reads it (or sslmode=… in the URL, not both); paths relative to this file' },
);

const Postgres = Type.Object(
  {
    url: text('postgres://user@host:port/database; several hosts as libpq writes them: postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write'),
    connections: Type.Optional(int(1, 64, { description: 'connections (batches written at once)', default: 2 })),
    ssl: Type.Optional(PostgresSsl),
  },
  strict,
);

const Engine = Type.Object(
  {
    workers: Type.Optional(int(1, 256, { description: 'decode worker threads', default: 2 })),
    memory: Type.Optional(size({ description: 'the budget every buffer that grows with the data is sized from (docs/memory.md)', default: '128MiB' })),
    ringBytes: Type.Optional(size({ description: 'the ring\'s size; default: 3/16 of engine.memory' })),
    delivery: Type.Optional(oneOf(DELIVERIES, { default: 'exactly-once' })),
    source: Type.Optional(oneOf(SOURCES, { description: 'the Kafka client that feeds the ring', default: 'auto' })),
    pollBatch: Type.Optional(int(1, 100_000, { description: 'messages per consume call; default: 5000 native, 1000 node-rdkafka' })),
    commitIntervalMs: Type.Optional(duration({ description: 'commits are coalesced to one per this interval', default: 50 })),
    offsetsTable: Type.Optional(text('exactly-once: the table of each partition\'s finished offsets (schema.table)', 'kafka_pg_engine.offsets')),
    watchdog: Type.Optional(
      Type.Object(
        {
          notReadyAfter: Type.Optional(duration({ description: 'a stall this long fails /readyz', default: '60s' })),
          exitAfter: Type.Optional(duration({ description: 'a stall this long ends the engine (exit 1); 0: never', default: '10m' })),
        },
        { ...strict, default: {} },
      ),
    ),
  },
  { ...strict, default: {} },
);

const Registry = Type.Object(
  {
    url: text('http(s)://host:port of a Confluent-compatible schema registry'),
    username: Type.Optional(text()),
    password: Type.Optional(text()),
    ca: Type.Optional(text('CA file for https')),
    cert: Type.Optional(text('client certificate file')),
    key: Type.Optional(text('client key file')),
  },
  strict,
);

const Pipeline = Type.Object(
  {
    name: text('unique among the pipelines; labels metrics and logs'),
    topics: Type.Optional(names('topics to consume (or topicPattern)')),
    topicPattern: Type.Optional(text('a regular expression matched against whole topic names')),
    format: oneOf(FORMATS),
    schema: Type.Optional(text('.avsc or .proto file, relative to this file')),
    messageType: Type.Optional(text('protobuf: the message to decode, e.g. shop.Order')),
    registry: Type.Optional(Registry),
    table: Type.Optional(text('table or schema.table (or routes:)')),
    routes: Type.Optional(
      Type.Object(
        {
          by: text('$header.NAME, $key, or a dotted field path: the value that picks the table'),
          tables: Type.Record(Type.String(), text(), { description: 'route value → table or schema.table' }),
          default: Type.Optional(text('the table of any other value (without it such a record fails)')),
        },
        { ...strict, description: '[Tables] one topic to several tables, chosen per record (docs/tables.md)' },
      ),
    ),
    columns: Type.Optional(
      Type.Record(Type.String(), text(), { description: 'column → dotted field path; other columns take the field of their name', default: {} }),
    ),
    batch: Type.Optional(
      Type.Object(
        {
          maxRows: Type.Optional(int(1, 10_000_000, { default: 20000 })),
          maxBytes: Type.Optional(size({ default: '8MiB' })),
          maxWaitMs: Type.Optional(duration({ default: 100 })),
          whenIdle: Type.Optional(
            Type.Boolean({ default: true, description: 'send the open batch as soon as a PostgreSQL connection is free, before maxRows/maxWaitMs (docs/configuration.md)', expected: 'true or false' }),
          ),
        },
        { ...strict, default: {} },
      ),
    ),
    onRecordError: Type.Optional(oneOf(ON_RECORD_ERROR, { description: 'default: dead-letter with deadLetter, else fail' })),
    deadLetter: Type.Optional(
      Type.Object(
        {
          topic: text('the dead-letter topic'),
          createTopic: Type.Optional(Type.Boolean({ default: true, expected: 'true or false' })),
        },
        strict,
      ),
    ),
    mode: Type.Optional(oneOf(WRITE_MODES, { default: 'insert' })),
    key: Type.Optional(names('upsert/cdc: the columns of the primary key or a unique constraint')),
    updateColumns: Type.Optional(names('upsert/cdc: columns an existing row takes from a newer record (default: all)')),
    onlyIfNewer: Type.Optional(text('upsert/cdc: a row changes only if this column of the record is not older')),
    deleteOnTombstone: Type.Optional(Type.Boolean({ expected: 'true or false' })),
    truncate: Type.Optional(oneOf(['error', 'skip'] as const, { description: 'cdc: what a truncate event does' })),
    create: Type.Optional(
      Type.Union(
        [
          Type.Boolean(),
          Type.Object(
            {
              partitionBy: Type.Optional(
                Type.Object({ column: text('a timestamptz, timestamp or date column'), interval: oneOf(PARTITION_INTERVALS, { default: 'month' }) }, strict),
              ),
            },
            strict,
          ),
        ],
        { description: '[Tables] create the table from the schema when it is missing (docs/tables.md)', expected: 'true, false or { partitionBy: { column, interval } }' },
      ),
    ),
    evolve: Type.Optional(
      Type.Boolean({ default: false, description: "[Tables] registry pipelines: alter the table for new writer schema versions (docs/tables.md)", expected: 'true or false' }),
    ),
  },
  strict,
);

export const ConfigSchema = Type.Object(
  {
    kafka: Kafka,
    postgres: Postgres,
    engine: Type.Optional(Engine),
    pipelines: Type.Array(Pipeline, { expected: 'a list' }),
    retry: Type.Optional(
      Type.Object(
        {
          maxElapsed: Type.Optional(duration({ description: 'how long transient failures are retried before the engine stops', default: DEFAULT_RETRY.maxElapsedMs })),
          minDelay: Type.Optional(duration({ default: DEFAULT_RETRY.minDelayMs })),
          maxDelay: Type.Optional(duration({ default: DEFAULT_RETRY.maxDelayMs })),
        },
        { ...strict, default: {} },
      ),
    ),
    metrics: Type.Optional(
      Type.Object(
        {
          port: Type.Optional(Type.Union([int(0, 65535), Type.Null()], { expected: 'an integer from 0 to 65535', description: 'serves /metrics, /healthz, /readyz; absent: not served' })),
          host: Type.Optional(text('the address the endpoints listen on', '0.0.0.0')),
        },
        { ...strict, default: {} },
      ),
    ),
  },
  { ...strict, title: 'kafka-pg-engine configuration' },
);

/** The document after its defaults are filled in (validate.ts), before it is resolved into an EngineConfig. */
export type ConfigDocument = Static<typeof ConfigSchema>;
export type PipelineDocument = Static<typeof Pipeline>;
export type RegistryDocument = Static<typeof Registry>;
export type KafkaDocument = Static<typeof Kafka>;
export type PostgresSslDocument = Static<typeof PostgresSsl>;

/** The JSON Schema file's content (draft 2020-12), for `# yaml-language-server: $schema=…` in config files. */
export function configJsonSchema(): TSchema & Record<string, unknown> {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', ...ConfigSchema };
}
