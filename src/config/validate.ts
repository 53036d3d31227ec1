import { existsSync } from 'node:fs';
import path from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { parseQualifiedName, qualifiedSql } from './identifiers';
import { DEFAULT_MEMORY, planMemory } from './memory';
import { ownedSettingProblems } from './owned-settings';
import { compileTopicPattern } from './topic-pattern';
import { readPgTls } from './postgres-tls';
import { parsePgHosts, type PgHostList } from './postgres-url';
import { ConfigSchema, type ConfigDocument, type KafkaDocument, type PipelineDocument, type RegistryDocument } from './schema';
import { shapeProblems } from './schema-errors';
import { parseBytes, parseMillis } from './units';
import { redact } from '../log';
import { isTableTemplate, TOPIC_PLACEHOLDER } from './table-template';
import { expandRoutes, routesConfig } from './table-routes';
import type { BatchConfig, CreateConfig, DrConfig, EngineConfig, MergeConfig, OnRecordError, PipelineConfig, RegistryConfig } from './types';

const shape = TypeCompiler.Compile(ConfigSchema);

/**
 * Turns a parsed, env-substituted document into an EngineConfig, collecting every problem with its
 * path (`pipelines[0].table: required`) instead of stopping at the first. The shape (keys, types, enums,
 * integer ranges, defaults) is config/schema.ts's; what it cannot say is checked here, once the shape holds.
 */
export function validateConfig(input: unknown, baseDir: string, problems: string[]): EngineConfig | null {
  const doc = Value.Default(ConfigSchema, Value.Clone(input));
  const shapeErrors = [...shapeProblems(shape, doc), ...missingTables(doc)];
  if (shapeErrors.length > 0) {
    // A place substitution already reported (`${DATABASE_URL}` unset) is not reported again as empty.
    const named = new Set(problems.map((p) => p.slice(0, p.indexOf(': '))));
    problems.push(...shapeErrors.filter((p) => !named.has(p.slice(0, p.indexOf(': ')))));
    return null;
  }
  const config = resolve(doc as Required<ConfigDocument>, baseDir, problems);
  return problems.length === 0 ? config : null;
}

function resolve(doc: Required<ConfigDocument>, baseDir: string, problems: string[]): EngineConfig {
  const { kafka, postgres, engine, retry, metrics } = doc;
  const passThrough = kafka.config ?? {};
  problems.push(...ownedSettingProblems(passThrough));
  const pgTarget = readPgTls(str(postgres.url), postgres.ssl ?? null, baseDir, problems);
  const hosts = pgHosts(pgTarget.url, problems);

  const memory = bytes(engine.memory, 'engine.memory', 32 << 20, 2 ** 40, problems) ?? DEFAULT_MEMORY;
  const explicitRing = engine.ringBytes === undefined ? null : bytes(engine.ringBytes, 'engine.ringBytes', 1 << 20, 2 ** 31 - 1, problems);
  const memoryPlan = planMemory(memory, explicitRing);
  if (memoryPlan.ringBytes > 2 ** 31 - 1) memoryPlan.ringBytes = 2 ** 31 - 1;
  const offsetsTable = str(engine.offsetsTable);
  const offsetsName = parseQualifiedName(offsetsTable);
  if (typeof offsetsName === 'string') problems.push(`engine.offsetsTable: "${offsetsTable}" is not a table name: ${offsetsName}`);

  if (doc.pipelines.length === 0) problems.push('pipelines: at least one pipeline is required');
  const pipelines = expandRoutes(doc.pipelines.map((p, i) => pipeline(p, `pipelines[${i}]`, baseDir, problems)), problems);
  checkUnique(pipelines, problems);
  // A batch's tuples stay in memory until its COPY commits: no batch may hold more than a share of the budget.
  for (const p of pipelines) p.batch.maxBytes = Math.min(p.batch.maxBytes, memoryPlan.maxBatchBytes);

  return {
    kafka: {
      brokers: str(kafka.brokers),
      groupId: str(kafka.groupId),
      config: passThrough,
      ...groupSettings(kafka, passThrough, problems),
      dr: drConfig(kafka.dr, str(kafka.brokers), passThrough, problems),
      cluster: 'primary',
    },
    postgres: { url: pgTarget.url, hosts, tls: pgTarget.tls, connections: int(postgres.connections) },
    engine: {
      workers: int(engine.workers),
      ringBytes: memoryPlan.ringBytes,
      memoryBytes: memory,
      fetchQueueKBytes: memoryPlan.fetchQueueKBytes,
      fetchQueueMessages: memoryPlan.fetchQueueMessages,
      fetchMaxBytes: memoryPlan.fetchMaxBytes,
      delivery: engine.delivery!,
      source: engine.source!,
      pollBatch: engine.pollBatch === undefined ? null : int(engine.pollBatch),
      commitIntervalMs: millis(engine.commitIntervalMs),
      offsetsTable,
      watchdog: { notReadyAfterMs: millis(engine.watchdog?.notReadyAfter), exitAfterMs: millis(engine.watchdog?.exitAfter) },
    },
    pipelines,
    retry: { maxElapsedMs: millis(retry.maxElapsed), minDelayMs: millis(retry.minDelay), maxDelayMs: millis(retry.maxDelay) },
    metrics: {
      port: metrics.port === undefined || metrics.port === null ? null : int(metrics.port),
      host: str(metrics.host),
    },
  };
}

/**
 * [Scale] How the engine takes part in its group. KIP-848's consumer protocol has the broker assign and time
 * out members, so the client settings of the classic protocol are refused with it, naming the broker's.
 */
function groupSettings(kafka: KafkaDocument, passThrough: Record<string, string | number | boolean>, problems: string[]): Pick<EngineConfig['kafka'], 'groupProtocol' | 'assignmentStrategy' | 'instanceId' | 'metadataRefreshMs'> {
  const groupProtocol = kafka.groupProtocol!;
  if (groupProtocol === 'consumer') {
    if (kafka.assignmentStrategy !== undefined) problems.push(`kafka.assignmentStrategy: the consumer group protocol (kafka.groupProtocol: consumer) has the broker assign partitions; remove it (kafka.config group.remote.assignor picks the broker's assignor: uniform or range)`);
    for (const [key, broker] of CLASSIC_ONLY) {
      if (key in passThrough) problems.push(`kafka.config.${key}: not a client setting with kafka.groupProtocol: consumer (KIP-848); the broker's ${broker} sets it`);
    }
  }
  const instanceId = kafka.instanceId === undefined ? null : str(kafka.instanceId).trim();
  if (instanceId === '') problems.push('kafka.instanceId: empty (an unset ${VAR}?); give each engine process its own, e.g. ${HOSTNAME}');
  return {
    groupProtocol,
    assignmentStrategy: groupProtocol === 'consumer' ? null : (kafka.assignmentStrategy ?? 'cooperative-sticky'),
    instanceId: instanceId || null,
    metadataRefreshMs: Math.max(1000, millis(kafka.metadataRefresh)),
  };
}

/** Classic-protocol client settings and what replaces each with KIP-848's protocol. */
const CLASSIC_ONLY: ReadonlyArray<[string, string]> = [
  ['session.timeout.ms', 'group.consumer.session.timeout.ms'],
  ['heartbeat.interval.ms', 'group.consumer.heartbeat.interval.ms'],
  ['group.protocol.type', 'group protocol'],
];

function drConfig(dr: KafkaDocument['dr'], primaryBrokers: string, primaryConfig: DrConfig['primaryConfig'], problems: string[]): DrConfig | null {
  if (dr === undefined) return null;
  const config = dr.config ?? {};
  problems.push(...ownedSettingProblems(config).map((p) => p.replace(/^kafka\.config/, 'kafka.dr.config')));
  const primaryAlias = str(dr.primaryAlias);
  const drAlias = str(dr.drAlias);
  for (const [key, alias] of [['primaryAlias', primaryAlias], ['drAlias', drAlias]]) {
    if (!/^[A-Za-z0-9_-]+$/.test(alias)) problems.push(`kafka.dr.${key}: "${alias}" is not an MM2 cluster alias (letters, digits, _ and -)`);
  }
  if (primaryAlias === drAlias) problems.push(`kafka.dr: primaryAlias and drAlias are both "${primaryAlias}"; MM2 names each cluster differently`);
  return { brokers: str(dr.brokers), primaryAlias, drAlias, replicationPolicy: dr.replicationPolicy!, config, autoFailoverAfterMs: millis(dr.autoFailoverAfter), primaryBrokers, primaryConfig };
}

/** The URL's hosts (libpq's multi-host form); the engine writes, so a session that refuses writes is refused here. */
function pgHosts(url: string, problems: string[]): PgHostList {
  const hosts = parsePgHosts(url);
  if (typeof hosts === 'string') {
    problems.push(`postgres.url: ${hosts} (got "${redact(url)}")`);
    return { hosts: [], targetSessionAttrs: 'any', connectTimeoutMs: 0, urls: [] };
  }
  if (['read-only', 'standby', 'prefer-standby'].includes(hosts.targetSessionAttrs)) {
    problems.push(`postgres.url: target_session_attrs=${hosts.targetSessionAttrs} would pick a server that cannot take the engine's writes; use read-write (or primary)`);
  }
  return hosts;
}

function pipeline(p: PipelineDocument, at: string, baseDir: string, problems: string[]): PipelineConfig {
  let topics: string[] | null = null;
  let topicPattern: string | null = null;
  if (p.topics !== undefined && p.topicPattern !== undefined) {
    problems.push(`${at}: give either topics or topicPattern, not both`);
  } else if (p.topicPattern !== undefined) {
    topicPattern = str(p.topicPattern);
    const compiled = compileTopicPattern(topicPattern);
    if (typeof compiled === 'string') problems.push(`${at}.topicPattern: ${compiled}`);
  } else if (p.topics === undefined) {
    problems.push(`${at}.topics: required (or topicPattern)`);
  } else {
    topics = list(p.topics);
    if (topics.length === 0) problems.push(`${at}.topics: at least one topic is required`);
  }
  const format = p.format;
  let registry: RegistryConfig | null = null;
  if (p.registry !== undefined) {
    const url = str(p.registry.url);
    if (!/^https?:\/\/[^/]+/.test(url)) problems.push(`${at}.registry.url: must be an http:// or https:// URL (got "${redact(url)}")`);
    registry = registryConfig(p.registry, url, `${at}.registry`, baseDir, problems);
  }
  if ((format === 'avro' || format === 'protobuf') && p.schema === undefined && p.registry === undefined) {
    problems.push(`${at}.schema: required for format ${format} (or give registry: to read writer schemas from a schema registry)`);
  }
  if (format === 'protobuf' && p.schema !== undefined && p.messageType === undefined) {
    problems.push(`${at}.messageType: required with a .proto schema (the message to decode, e.g. shop.Order)`);
  }
  const columns: Record<string, string> = {};
  for (const [column, field] of Object.entries(p.columns ?? {})) columns[column] = str(field);
  const batch: BatchConfig = {
    maxRows: int(p.batch!.maxRows),
    maxBytes: bytes(p.batch!.maxBytes, `${at}.batch.maxBytes`, 1024, 2 ** 31 - 1, problems) ?? 8 << 20,
    maxWaitMs: millis(p.batch!.maxWaitMs),
    whenIdle: p.batch!.whenIdle !== false,
  };
  let deadLetter: PipelineConfig['deadLetter'] = null;
  if (p.deadLetter !== undefined) {
    const topic = str(p.deadLetter.topic);
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) problems.push(`${at}.deadLetter.topic: "${topic}" is not a Kafka topic name`);
    deadLetter = { topic, createTopic: p.deadLetter.createTopic !== false };
  }
  const onRecordError: OnRecordError = p.onRecordError ?? (p.deadLetter !== undefined ? 'dead-letter' : 'fail');
  if (onRecordError === 'dead-letter' && p.deadLetter === undefined) {
    problems.push(`${at}.onRecordError: dead-letter needs deadLetter: { topic: ... }`);
  }
  if (p.table !== undefined && p.routes !== undefined) problems.push(`${at}.table: give table or routes (its default: is the table of other values), not both`);
  const table = p.table === undefined ? '' : str(p.table);
  const template = isTableTemplate(table) ? table : null;
  // A template is checked with a sample topic name; each real topic's name is checked when it expands.
  const tableName = parseQualifiedName(template === null ? table : table.split(TOPIC_PLACEHOLDER).join('t'));
  if (typeof tableName === 'string' && p.routes === undefined) problems.push(`${at}.table: "${table}" is not a table name (table or schema.table${template === null ? '' : ', with ${topic}'}): ${tableName}`);
  return {
    name: str(p.name),
    topics,
    topicPattern,
    format,
    schemaPath: p.schema === undefined ? null : path.resolve(baseDir, str(p.schema)),
    schemaText: null,
    messageType: p.messageType === undefined ? null : str(p.messageType),
    registry,
    table,
    tableSql: typeof tableName === 'string' || template !== null ? '' : qualifiedSql(tableName),
    columns,
    batch,
    onRecordError,
    deadLetter,
    merge: mergeConfig(p, at, problems),
    create: createConfig(p, at, problems),
    evolve: evolveConfig(p, at, problems),
    routes: routesConfig(p, at, problems),
    routeOf: null,
    tableTemplate: template,
    watchOnly: false,
  };
}

/** create: true, or with partitionBy; the columns themselves are checked against the schema (sink/create-table.ts). */
function createConfig(p: PipelineDocument, at: string, problems: string[]): CreateConfig | null {
  if (p.create === undefined || p.create === false) return null;
  // evolve: a registry pipeline without a schema file creates its table from the first writer schema.
  const fromRegistry = p.schema === undefined && p.registry !== undefined && p.evolve === true;
  if (fromRegistry) {
    // Nothing to check here: engine/evolve.ts makes the table from the first writer schema it meets.
  } else if (p.format === 'json' && p.schema === undefined) problems.push(`${at}.create: format json needs a JSON Schema file (schema:) to make the table's columns from`);
  else if (p.schema === undefined) problems.push(`${at}.create: needs the pipeline's schema file (the columns are made from it; the registry's schemas are not read at start)`);
  const by = p.create === true ? undefined : p.create.partitionBy;
  return { partitionBy: by === undefined ? null : { column: str(by.column), interval: by.interval ?? 'month' } };
}

/** A pipeline needs `table` or `routes` (JSON Schema could say it only with an unreadable anyOf message). */
function missingTables(doc: unknown): string[] {
  const pipelines = (doc as { pipelines?: unknown }).pipelines;
  if (!Array.isArray(pipelines)) return [];
  return pipelines.flatMap((p: unknown, i) => (p !== null && typeof p === 'object' && !('table' in p) && !('routes' in p) ? [`pipelines[${i}].table: required (or routes:)`] : []));
}

/** evolve: follows the registry's writer schemas, so only a registry pipeline without its own schema file. */
function evolveConfig(p: PipelineDocument, at: string, problems: string[]): boolean {
  if (p.evolve !== true) return false;
  if (p.registry === undefined) problems.push(`${at}.evolve: needs registry: (the table follows the writer schemas the registry gives)`);
  else if (p.schema !== undefined) problems.push(`${at}.evolve: with schema: the columns follow that reader schema, not the writers'; remove schema: to evolve the table`);
  if (p.format === 'protobuf' && p.messageType === undefined) problems.push(`${at}.evolve: a Protobuf pipeline names the message its table follows (messageType:, e.g. shop.Order)`);
  if (p.mode === 'cdc') problems.push(`${at}.evolve: not with mode cdc yet (the row is inside the change event)`);
  return true;
}

/** mode, key, updateColumns, onlyIfNewer, deleteOnTombstone, truncate: null for insert mode. */
function mergeConfig(p: PipelineDocument, at: string, problems: string[]): MergeConfig | null {
  const mode = p.mode ?? 'insert';
  if (mode === 'insert') {
    for (const k of ['key', 'updateColumns', 'onlyIfNewer', 'deleteOnTombstone', 'truncate'] as const) {
      if (p[k] !== undefined) problems.push(`${at}.${k}: only with mode: upsert or mode: cdc`);
    }
    return null;
  }
  const key = p.key === undefined ? [] : list(p.key);
  if (key.length === 0) problems.push(`${at}.key: required with mode: ${mode} (the columns of the table's primary key or of a unique constraint)`);
  if (mode === 'cdc' && p.format === 'protobuf') {
    problems.push(`${at}.mode: cdc reads Debezium change events as JSON (with or without the Connect envelope) or Avro; format protobuf is not supported in cdc mode yet`);
  }
  const updateColumns = p.updateColumns === undefined ? null : list(p.updateColumns);
  if (updateColumns !== null && updateColumns.length === 0) problems.push(`${at}.updateColumns: list at least one column (or leave it out to update every column)`);
  if (p.truncate !== undefined && mode !== 'cdc') problems.push(`${at}.truncate: only with mode: cdc`);
  return {
    mode,
    key,
    updateColumns,
    onlyIfNewer: p.onlyIfNewer === undefined ? null : str(p.onlyIfNewer),
    deleteOnTombstone: p.deleteOnTombstone === true,
    truncate: p.truncate ?? 'error',
  };
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

/** Credentials from the URL (`https://user:pass@host`) or the settings, never both; files relative to the config. */
function registryConfig(reg: RegistryDocument, url: string, at: string, baseDir: string, problems: string[]): RegistryConfig {
  let username = reg.username === undefined ? null : str(reg.username);
  let password = reg.password === undefined ? null : str(reg.password);
  let clean = url.replace(/\/+$/, '');
  const m = /^(https?:\/\/)([^:/@\s]+)(?::([^@/\s]*))?@(.*)$/.exec(clean);
  if (m) {
    if (username !== null || password !== null) problems.push(`${at}: credentials are in the URL and in username/password; give them once`);
    const decode = (text: string, what: string) => {
      try {
        return decodeURIComponent(text);
      } catch {
        problems.push(`${at}.url: the ${what} has a malformed %-escape (a literal % is written %25)`);
        return text;
      }
    };
    username = decode(m[2], 'user name');
    password = m[3] === undefined ? null : decode(m[3], 'password');
    clean = m[1] + m[4];
  }
  if (password !== null && username === null) problems.push(`${at}.password: needs username (HTTP basic auth)`);
  const file = (key: 'ca' | 'cert' | 'key') => {
    if (reg[key] === undefined) return null;
    const resolved = path.resolve(baseDir, str(reg[key]));
    if (!existsSync(resolved)) problems.push(`${at}.${key}: ${resolved} does not exist`);
    return resolved;
  };
  const config: RegistryConfig = { url: clean, username, password, ca: file('ca'), cert: file('cert'), key: file('key') };
  if ((config.cert === null) !== (config.key === null)) problems.push(`${at}: cert and key go together (a client certificate needs its key)`);
  return config;
}

// The shape check has let through only what these read: digit strings for integers, numbers for names,
// well-formed sizes and durations (whose ranges are checked here).
const str = (v: string | number | undefined): string => String(v);
const int = (v: string | number | undefined): number => Number(v);
const millis = (v: string | number | undefined): number => parseMillis(v) ?? 0;
const list = (v: string | number | Array<string | number>): string[] => (Array.isArray(v) ? v.map(str) : [str(v)]);

function bytes(v: string | number | undefined, at: string, min: number, max: number, problems: string[]): number | null {
  const n = parseBytes(v);
  if (n !== null && n >= min && n <= max) return n;
  problems.push(`${at}: must be a size from ${min} to ${max} bytes (like 64MiB) (got ${JSON.stringify(v)})`);
  return null;
}
