import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseQualifiedName, qualifiedSql } from './identifiers';
import { DEFAULT_MEMORY, planMemory } from './memory';
import { ownedSettingProblems } from './owned-settings';
import { DEFAULT_RETRY } from '../retry';
import { compileTopicPattern } from './topic-pattern';
import { readPgTls } from './postgres-tls';
import { parseBytes, parseMillis } from './units';
import { redact } from '../log';
import type { BatchConfig, Delivery, EngineConfig, Format, MergeConfig, OnRecordError, PipelineConfig, RegistryConfig, SourceKind, WriteMode } from './types';

/**
 * Turns a parsed, env-substituted document into an EngineConfig, collecting every problem with its
 * path (`pipelines[0].table: required`) instead of stopping at the first.
 */
export function validateConfig(doc: unknown, baseDir: string, problems: string[]): EngineConfig | null {
  const r = new Reader(problems);
  const root = r.object(doc, '');
  if (!root) return null;
  r.noUnknownKeys(root, '', ['kafka', 'postgres', 'engine', 'pipelines', 'retry', 'metrics']);

  const kafka = r.object(root.kafka, 'kafka') ?? {};
  r.noUnknownKeys(kafka, 'kafka', ['brokers', 'groupId', 'config']);
  const kafkaConfig = r.object(kafka.config ?? {}, 'kafka.config') ?? {};
  const passThrough: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(kafkaConfig)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') passThrough[key] = value;
    else problems.push(`kafka.config.${key}: must be a string, number or boolean`);
  }
  problems.push(...ownedSettingProblems(passThrough));

  const pg = r.object(root.postgres, 'postgres') ?? {};
  r.noUnknownKeys(pg, 'postgres', ['url', 'connections', 'ssl']);
  const pgUrl = r.string(pg.url, 'postgres.url') ?? '';
  const pgSsl = pg.ssl === undefined ? null : r.object(pg.ssl, 'postgres.ssl');
  const pgTarget = readPgTls(pgUrl, pgSsl, baseDir, problems);
  const engine = r.object(root.engine ?? {}, 'engine') ?? {};
  r.noUnknownKeys(engine, 'engine', ['workers', 'ringBytes', 'delivery', 'source', 'pollBatch', 'commitIntervalMs', 'offsetsTable', 'memory', 'watchdog']);
  const watchdog = r.object(engine.watchdog ?? {}, 'engine.watchdog') ?? {};
  r.noUnknownKeys(watchdog, 'engine.watchdog', ['notReadyAfter', 'exitAfter']);
  const retry = r.object(root.retry ?? {}, 'retry') ?? {};
  r.noUnknownKeys(retry, 'retry', ['maxElapsed', 'minDelay', 'maxDelay']);
  const metrics = r.object(root.metrics ?? {}, 'metrics') ?? {};
  r.noUnknownKeys(metrics, 'metrics', ['port', 'host']);

  const delivery = r.oneOf<Delivery>(engine.delivery ?? 'exactly-once', 'engine.delivery', ['at-least-once', 'exactly-once']);
  const memory = r.bytes(engine.memory ?? DEFAULT_MEMORY, 'engine.memory', 32 << 20, 2 ** 40) ?? DEFAULT_MEMORY;
  const explicitRing = engine.ringBytes === undefined ? null : r.bytes(engine.ringBytes, 'engine.ringBytes', 1 << 20, 2 ** 31 - 1);
  const memoryPlan = planMemory(memory, explicitRing);
  if (memoryPlan.ringBytes > 2 ** 31 - 1) memoryPlan.ringBytes = 2 ** 31 - 1;
  const offsetsTable = r.string(engine.offsetsTable ?? 'kafka_pg_engine.offsets', 'engine.offsetsTable') ?? 'kafka_pg_engine.offsets';
  const offsetsName = parseQualifiedName(offsetsTable);
  if (typeof offsetsName === 'string') problems.push(`engine.offsetsTable: "${offsetsTable}" is not a table name: ${offsetsName}`);

  const list = r.array(root.pipelines, 'pipelines') ?? [];
  if (root.pipelines !== undefined && list.length === 0) problems.push('pipelines: at least one pipeline is required');
  const pipelines = list.map((p, i) => pipeline(r, p, `pipelines[${i}]`, baseDir)).filter((p): p is PipelineConfig => p !== null);
  checkUnique(pipelines, problems);
  // A batch's tuples stay in memory until its COPY commits: no batch may hold more than a share of the budget.
  for (const p of pipelines) p.batch.maxBytes = Math.min(p.batch.maxBytes, memoryPlan.maxBatchBytes);

  const config: EngineConfig = {
    kafka: {
      brokers: r.string(kafka.brokers, 'kafka.brokers') ?? '',
      groupId: r.string(kafka.groupId, 'kafka.groupId') ?? '',
      config: passThrough,
    },
    postgres: {
      url: pgTarget.url,
      tls: pgTarget.tls,
      connections: r.integer(pg.connections ?? 2, 'postgres.connections', 1, 64) ?? 2,
    },
    engine: {
      workers: r.integer(engine.workers ?? 2, 'engine.workers', 1, 256) ?? 2,
      ringBytes: memoryPlan.ringBytes,
      memoryBytes: memory,
      fetchQueueKBytes: memoryPlan.fetchQueueKBytes,
      fetchQueueMessages: memoryPlan.fetchQueueMessages,
      fetchMaxBytes: memoryPlan.fetchMaxBytes,
      delivery: delivery ?? 'exactly-once',
      source: r.oneOf<SourceKind>(engine.source ?? 'auto', 'engine.source', ['auto', 'native', 'node-rdkafka']) ?? 'auto',
      pollBatch: engine.pollBatch === undefined ? null : r.integer(engine.pollBatch, 'engine.pollBatch', 1, 100_000),
      commitIntervalMs: r.millis(engine.commitIntervalMs ?? 50, 'engine.commitIntervalMs') ?? 50,
      offsetsTable,
      watchdog: {
        notReadyAfterMs: r.millis(watchdog.notReadyAfter ?? '60s', 'engine.watchdog.notReadyAfter') ?? 60_000,
        exitAfterMs: r.millis(watchdog.exitAfter ?? '10m', 'engine.watchdog.exitAfter') ?? 600_000,
      },
    },
    pipelines,
    retry: {
      maxElapsedMs: r.millis(retry.maxElapsed ?? DEFAULT_RETRY.maxElapsedMs, 'retry.maxElapsed') ?? DEFAULT_RETRY.maxElapsedMs,
      minDelayMs: r.millis(retry.minDelay ?? DEFAULT_RETRY.minDelayMs, 'retry.minDelay') ?? DEFAULT_RETRY.minDelayMs,
      maxDelayMs: r.millis(retry.maxDelay ?? DEFAULT_RETRY.maxDelayMs, 'retry.maxDelay') ?? DEFAULT_RETRY.maxDelayMs,
    },
    metrics: {
      port: metrics.port === undefined || metrics.port === null ? null : r.integer(metrics.port, 'metrics.port', 0, 65535),
      host: r.string(metrics.host ?? '0.0.0.0', 'metrics.host') ?? '0.0.0.0',
    },
  };
  return problems.length === 0 ? config : null;
}

function pipeline(r: Reader, node: unknown, at: string, baseDir: string): PipelineConfig | null {
  const p = r.object(node, at);
  if (!p) return null;
  r.noUnknownKeys(p, at, ['name', 'topics', 'topicPattern', 'format', 'schema', 'messageType', 'registry', 'table', 'columns', 'batch', 'onRecordError', 'deadLetter',
    'mode', 'key', 'updateColumns', 'onlyIfNewer', 'deleteOnTombstone', 'truncate']);
  let topics: string[] | null = null;
  let topicPattern: string | null = null;
  if (p.topics !== undefined && p.topicPattern !== undefined) {
    r.problems.push(`${at}: give either topics or topicPattern, not both`);
  } else if (p.topicPattern !== undefined) {
    topicPattern = r.string(p.topicPattern, `${at}.topicPattern`);
    const compiled = topicPattern === null ? null : compileTopicPattern(topicPattern);
    if (typeof compiled === 'string') r.problems.push(`${at}.topicPattern: ${compiled}`);
  } else if (p.topics === undefined) {
    r.problems.push(`${at}.topics: required (or topicPattern)`);
  } else {
    const raw = typeof p.topics === 'string' ? [p.topics] : r.array(p.topics, `${at}.topics`) ?? [];
    topics = raw.map((t, i) => r.string(t, `${at}.topics[${i}]`) ?? '');
    if (raw.length === 0) r.problems.push(`${at}.topics: at least one topic is required`);
  }
  const format = r.oneOf<Format>(p.format, `${at}.format`, ['avro', 'protobuf', 'json']);
  let registry: RegistryConfig | null = null;
  if (p.registry !== undefined) {
    const reg = r.object(p.registry, `${at}.registry`) ?? {};
    r.noUnknownKeys(reg, `${at}.registry`, ['url', 'username', 'password', 'ca', 'cert', 'key']);
    const url = r.string(reg.url, `${at}.registry.url`);
    if (url !== null && !/^https?:\/\/[^/]+/.test(url)) r.problems.push(`${at}.registry.url: must be an http:// or https:// URL (got "${redact(url)}")`);
    registry = url === null ? null : registryConfig(r, reg, url, `${at}.registry`, baseDir);
  }
  const schema = p.schema === undefined ? null : r.string(p.schema, `${at}.schema`);
  if ((format === 'avro' || format === 'protobuf') && p.schema === undefined && p.registry === undefined) {
    r.problems.push(`${at}.schema: required for format ${format} (or give registry: to read writer schemas from a schema registry)`);
  }
  if (format === 'protobuf' && schema !== null && p.messageType === undefined) {
    r.problems.push(`${at}.messageType: required with a .proto schema (the message to decode, e.g. shop.Order)`);
  }
  const columns: Record<string, string> = {};
  const cols = r.object(p.columns ?? {}, `${at}.columns`) ?? {};
  for (const [column, field] of Object.entries(cols)) {
    const f = r.string(field, `${at}.columns.${column}`);
    if (f !== null) columns[column] = f;
  }
  const batch = r.object(p.batch ?? {}, `${at}.batch`) ?? {};
  r.noUnknownKeys(batch, `${at}.batch`, ['maxRows', 'maxBytes', 'maxWaitMs']);
  const batchConfig: BatchConfig = {
    maxRows: r.integer(batch.maxRows ?? 20000, `${at}.batch.maxRows`, 1, 10_000_000) ?? 20000,
    maxBytes: r.bytes(batch.maxBytes ?? '8MiB', `${at}.batch.maxBytes`, 1024, 2 ** 31 - 1) ?? 8 << 20,
    maxWaitMs: r.millis(batch.maxWaitMs ?? 100, `${at}.batch.maxWaitMs`) ?? 100,
  };
  let deadLetter: PipelineConfig['deadLetter'] = null;
  if (p.deadLetter !== undefined) {
    const dl = r.object(p.deadLetter, `${at}.deadLetter`) ?? {};
    r.noUnknownKeys(dl, `${at}.deadLetter`, ['topic', 'createTopic']);
    const topic = r.string(dl.topic, `${at}.deadLetter.topic`);
    if (topic !== null && !/^[A-Za-z0-9._-]{1,249}$/.test(topic)) r.problems.push(`${at}.deadLetter.topic: "${topic}" is not a Kafka topic name`);
    const createTopic = dl.createTopic ?? true;
    if (typeof createTopic !== 'boolean') r.problems.push(`${at}.deadLetter.createTopic: must be true or false`);
    deadLetter = topic === null ? null : { topic, createTopic: createTopic === true };
  }
  const onRecordError = r.oneOf<OnRecordError>(p.onRecordError ?? (p.deadLetter !== undefined ? 'dead-letter' : 'fail'), `${at}.onRecordError`, ['fail', 'skip', 'dead-letter']) ?? 'fail';
  if (onRecordError === 'dead-letter' && p.deadLetter === undefined) {
    r.problems.push(`${at}.onRecordError: dead-letter needs deadLetter: { topic: ... }`);
  }
  const table = r.string(p.table, `${at}.table`);
  const tableName = table === null ? null : parseQualifiedName(table);
  if (typeof tableName === 'string') r.problems.push(`${at}.table: "${table}" is not a table name (table or schema.table): ${tableName}`);
  const merge = mergeConfig(r, p, at, format);
  return {
    name: r.string(p.name, `${at}.name`) ?? '',
    topics,
    topicPattern,
    format: format ?? 'json',
    schemaPath: schema === null ? null : path.resolve(baseDir, schema),
    schemaText: null,
    messageType: p.messageType === undefined ? null : r.string(p.messageType, `${at}.messageType`),
    registry,
    table: table ?? '',
    tableSql: tableName === null || typeof tableName === 'string' ? '' : qualifiedSql(tableName),
    columns,
    batch: batchConfig,
    onRecordError,
    deadLetter,
    merge,
  };
}

/** mode, key, updateColumns, onlyIfNewer, deleteOnTombstone, truncate: null for insert mode. */
function mergeConfig(r: Reader, p: Record<string, unknown>, at: string, format: Format | null): MergeConfig | null {
  const mode = r.oneOf<WriteMode>(p.mode ?? 'insert', `${at}.mode`, ['insert', 'upsert', 'cdc']) ?? 'insert';
  const names = (node: unknown, where: string): string[] | null => {
    if (node === undefined) return null;
    const raw = typeof node === 'string' ? [node] : r.array(node, where) ?? [];
    return raw.map((c, i) => r.string(c, `${where}[${i}]`) ?? '');
  };
  const key = names(p.key, `${at}.key`);
  if (mode === 'insert') {
    for (const k of ['key', 'updateColumns', 'onlyIfNewer', 'deleteOnTombstone', 'truncate']) {
      if (p[k] !== undefined) r.problems.push(`${at}.${k}: only with mode: upsert or mode: cdc`);
    }
    return null;
  }
  if (key === null || key.length === 0) r.problems.push(`${at}.key: required with mode: ${mode} (the columns of the table's primary key or of a unique constraint)`);
  if (mode === 'cdc' && format === 'protobuf') {
    r.problems.push(`${at}.mode: cdc reads Debezium change events as JSON (with or without the Connect envelope) or Avro; format protobuf is not supported in cdc mode yet`);
  }
  const updateColumns = names(p.updateColumns, `${at}.updateColumns`);
  if (updateColumns !== null && updateColumns.length === 0) r.problems.push(`${at}.updateColumns: list at least one column (or leave it out to update every column)`);
  const onlyIfNewer = p.onlyIfNewer === undefined ? null : r.string(p.onlyIfNewer, `${at}.onlyIfNewer`);
  const deleteOnTombstone = p.deleteOnTombstone ?? false;
  if (typeof deleteOnTombstone !== 'boolean') r.problems.push(`${at}.deleteOnTombstone: must be true or false`);
  if (p.truncate !== undefined && mode !== 'cdc') r.problems.push(`${at}.truncate: only with mode: cdc`);
  const truncate = r.oneOf<'error' | 'skip'>(p.truncate ?? 'error', `${at}.truncate`, ['error', 'skip']) ?? 'error';
  return { mode, key: key ?? [], updateColumns, onlyIfNewer, deleteOnTombstone: deleteOnTombstone === true, truncate };
}

function checkUnique(pipelines: PipelineConfig[], problems: string[]): void {
  const names = new Map<string, number>();
  const topics = new Map<string, number>();
  pipelines.forEach((p, i) => {
    const seen = names.get(p.name);
    if (seen !== undefined) problems.push(`pipelines[${i}].name: duplicate pipeline name "${p.name}" (also pipelines[${seen}])`);
    else names.set(p.name, i);
    for (const t of p.topics ?? []) {
      const other = topics.get(t);
      if (other !== undefined && other !== i) problems.push(`pipelines[${i}].topics: topic "${t}" is already routed by pipelines[${other}]`);
      topics.set(t, i);
    }
  });
}

type Obj = Record<string, unknown>;

/** Credentials from the URL (`https://user:pass@host`) or the settings, never both; files relative to the config. */
function registryConfig(r: Reader, reg: Record<string, unknown>, url: string, at: string, baseDir: string): RegistryConfig {
  const opt = (key: string) => (reg[key] === undefined ? null : r.string(reg[key], `${at}.${key}`));
  let username = opt('username');
  let password = opt('password');
  let clean = url.replace(/\/+$/, '');
  const m = /^(https?:\/\/)([^:/@\s]+)(?::([^@/\s]*))?@(.*)$/.exec(clean);
  if (m) {
    if (username !== null || password !== null) r.problems.push(`${at}: credentials are in the URL and in username/password; give them once`);
    const decode = (text: string, what: string) => {
      try {
        return decodeURIComponent(text);
      } catch {
        r.problems.push(`${at}.url: the ${what} has a malformed %-escape (a literal % is written %25)`);
        return text;
      }
    };
    username = decode(m[2], 'user name');
    password = m[3] === undefined ? null : decode(m[3], 'password');
    clean = m[1] + m[4];
  }
  if (password !== null && username === null) r.problems.push(`${at}.password: needs username (HTTP basic auth)`);
  const file = (key: string) => {
    const v = opt(key);
    if (v === null) return null;
    const resolved = path.resolve(baseDir, v);
    if (!existsSync(resolved)) r.problems.push(`${at}.${key}: ${resolved} does not exist`);
    return resolved;
  };
  const config: RegistryConfig = { url: clean, username, password, ca: file('ca'), cert: file('cert'), key: file('key') };
  if ((config.cert === null) !== (config.key === null)) r.problems.push(`${at}: cert and key go together (a client certificate needs its key)`);
  return config;
}

class Reader {
  constructor(readonly problems: string[]) {}

  private bad(at: string, what: string, value: unknown): null {
    this.problems.push(value === undefined ? `${at}: required` : `${at}: must be ${what} (got ${JSON.stringify(value)})`);
    return null;
  }

  object(v: unknown, at: string): Obj | null {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
    return this.bad(at || '(root)', 'a mapping', v);
  }

  array(v: unknown, at: string): unknown[] | null {
    return Array.isArray(v) ? v : this.bad(at, 'a list', v);
  }

  string(v: unknown, at: string): string | null {
    if (typeof v === 'string' && v.length > 0) return v;
    if (typeof v === 'number') return String(v);
    return this.bad(at, 'a non-empty string', v);
  }

  integer(v: unknown, at: string, min: number, max: number): number | null {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
    return this.bad(at, `an integer from ${min} to ${max}`, v);
  }

  bytes(v: unknown, at: string, min: number, max: number): number | null {
    const n = parseBytes(v);
    if (n !== null && n >= min && n <= max) return n;
    return this.bad(at, `a size from ${min} to ${max} bytes (like 64MiB)`, v);
  }

  millis(v: unknown, at: string): number | null {
    const n = parseMillis(v);
    return n === null ? this.bad(at, 'a duration (like 100ms or 2s)', v) : n;
  }

  oneOf<T extends string>(v: unknown, at: string, allowed: readonly T[]): T | null {
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    return this.bad(at, `one of ${allowed.join(', ')}`, v);
  }

  noUnknownKeys(o: Obj, at: string, known: string[]): void {
    for (const key of Object.keys(o)) {
      if (!known.includes(key)) this.problems.push(`${at ? `${at}.` : ''}${key}: unknown key (expected one of ${known.join(', ')})`);
    }
  }
}
