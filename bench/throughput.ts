import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTopic, DEFAULT_BROKERS, deleteTopic, produce } from './lib/kafka-tools';
import { runTimed } from './lib/measure';
import { ORDER_PROTO_PATH, ORDER_SCHEMA_PATH, ordersTableSql } from './lib/orders';
import { encodeConnectJson, encoderFor, ENGINE_COLUMNS, type BenchFormat } from './lib/records';
import { DATABASE_URL, pgQuery, REPO } from './lib/scenario';
import { removeCopyFiles, runCeiling, writeCopyFiles } from './contenders/ceiling';
import { runConnect } from './contenders/connect';

/**
 * bench throughput: pre-produces N reference records, then measures the drain of that backlog into an
 * identical fresh table for each contender in turn, and prints one table and one JSON line.
 * See `--help`.
 */
const ALL = ['engine', 'ceiling', 'raw-native', 'raw', 'connect', 'kafkajs', 'upsert', 'connect-upsert'] as const;
const SOURCES = ['native', 'node-rdkafka'] as const;
type Source = (typeof SOURCES)[number];
type Contender = (typeof ALL)[number];
const DELIVERIES = ['exactly-once', 'at-least-once'] as const;
type Delivery = (typeof DELIVERIES)[number];

const HELP = `usage: npm run bench -- throughput [options]
  --records N          records to pre-produce (default 500000; --quick: 20000)
  --partitions N       topic partitions (default 8)
  --format F           avro | protobuf | json (default avro)
  --engine LIST        engine configurations as WORKERSxCONNECTIONS, comma-separated (default 1x1,2x2);
                       2x2held: the same with batch.whenIdle false (batches wait for maxRows/maxWaitMs)
  --sources LIST       the engine's Kafka source: native,node-rdkafka (default both, side by side)
  --workers N          shorthand for --engine NxC with --connections C
  --connections N      PostgreSQL connections of KafkaJS and the ceiling, Kafka Connect tasks (default 2)
  --delivery LIST      the engine's delivery modes: exactly-once,at-least-once (default both, side by side;
                       the cost of exactly-once is printed as a percentage)
  --contenders LIST    comma list of ${ALL.join(',')} (default all); upsert and
                       connect-upsert: the engine (last --engine setup) and Kafka Connect in upsert mode by
                       id, into a table with that primary key, on the Connect pair's JSON records
  --quick              correctness run for CI: small N, no speed claims`;

interface EngineSetup {
  workers: number;
  connections: number;
  /** batch.whenIdle false: every batch waits for maxRows or maxWaitMs. */
  held: boolean;
}

interface Options {
  records: number;
  partitions: number;
  format: BenchFormat;
  engines: EngineSetup[];
  sources: Source[];
  connections: number;
  deliveries: Delivery[];
  contenders: Contender[];
  quick: boolean;
}

function parse(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i < 0 ? undefined : argv[i + 1];
  };
  const int = (name: string, fallback: number) => {
    const v = get(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--${name} needs a positive whole number (got ${v})`);
    return Number(v);
  };
  const quick = argv.includes('--quick');
  const format = (get('format') ?? 'avro') as BenchFormat;
  if (!['avro', 'protobuf', 'json'].includes(format)) throw new Error(`--format must be avro, protobuf or json (got ${format})`);
  const deliveries = (get('delivery') ?? DELIVERIES.join(',')).split(',') as Delivery[];
  for (const d of deliveries) if (!DELIVERIES.includes(d)) throw new Error(`--delivery ${d}: choose from ${DELIVERIES.join(', ')}`);
  const contenders = (get('contenders') ?? ALL.join(',')).split(',') as Contender[];
  for (const c of contenders) if (!ALL.includes(c)) throw new Error(`unknown contender ${c} (choose from ${ALL.join(', ')})`);
  const connections = int('connections', 2);
  const spec = get('engine') ?? (get('workers') !== undefined ? `${int('workers', 2)}x${connections}` : '1x1,2x2');
  const engines = spec.split(',').map((e) => {
    const m = /^(\d+)x(\d+)(held)?$/.exec(e);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`--engine ${e}: expected WORKERSxCONNECTIONS, e.g. 2x2 (2x2held: batch.whenIdle false)`);
    return { workers: Number(m[1]), connections: Number(m[2]), held: m[3] !== undefined };
  });
  const sources = (get('sources') ?? SOURCES.join(',')).split(',') as Source[];
  for (const src of sources) if (!SOURCES.includes(src)) throw new Error(`unknown source ${src} (choose from ${SOURCES.join(', ')})`);
  return { records: int('records', quick ? 20_000 : 500_000), partitions: int('partitions', 8), format, engines, sources, connections, deliveries, contenders, quick };
}

interface Result {
  contender: string;
  topic: string;
  records: number;
  recordsPerSecond: number;
  ratioToCeiling: number | null;
  drainSeconds: number;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  rows: number | null;
  distinctIds: number | null;
  correct: boolean;
}

/** A fresh table, after a CHECKPOINT so that no contender pays for the WAL the one before it wrote. */
async function freshTable(name: string, primaryKey = false): Promise<string> {
  await pgQuery(`DROP TABLE IF EXISTS ${name}`);
  await pgQuery(ordersTableSql(name));
  if (primaryKey) await pgQuery(`ALTER TABLE ${name} ADD PRIMARY KEY (id)`);
  await pgQuery('CHECKPOINT');
  return name;
}

async function check(table: string, n: number): Promise<{ rows: number; distinctIds: number; correct: boolean }> {
  const [r] = await pgQuery<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  return { rows: Number(r.rows), distinctIds: Number(r.ids), correct: Number(r.rows) === n && Number(r.ids) === n };
}

function setupOf(e: EngineSetup): string {
  return `${e.workers} worker${e.workers > 1 ? 's' : ''}, ${e.connections} conn${e.held ? ', batches held' : ''}`;
}

function engineConfig(delivery: Delivery, e: EngineSetup, kind: BenchFormat | 'connect-json', topic: string, table: string, group: string, upsert = false): string {
  const schema = kind === 'avro' ? `schema: "${ORDER_SCHEMA_PATH}", ` : kind === 'protobuf' ? `schema: "${ORDER_PROTO_PATH}", messageType: shop.Order, ` : '';
  const columns = Object.entries(ENGINE_COLUMNS[kind]).map(([c, f]) => `${c}: ${f}`).join(', ');
  const file = path.join(os.tmpdir(), `bench-${group}.yaml`);
  writeFileSync(
    file,
    `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${group} }
postgres: { url: "${DATABASE_URL}", connections: ${e.connections} }
engine: { workers: ${e.workers}, ringBytes: 64MiB, delivery: ${delivery} }
pipelines:
  - { name: bench, topics: [${topic}], format: ${kind === 'connect-json' ? 'json' : kind}, ${schema}table: ${table},
      columns: { ${columns} }, batch: { maxRows: 20000, maxBytes: 8MiB, maxWaitMs: 100, whenIdle: ${!e.held} }${upsert ? ', mode: upsert, key: [id]' : ''} }
`,
  );
  return file;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('--print-help')) {
    console.log(HELP);
    return;
  }
  const o = parse(process.argv.slice(2).filter((a) => a !== 'throughput'));
  const runId = `tp${Date.now().toString(36)}`;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`bench throughput ${runId}: ${o.records} ${o.format} records, ${o.partitions} partitions, engine sources ${o.sources.join(', ')}, engine ${o.engines.map((e) => `${e.workers}x${e.connections}${e.held ? 'held' : ''}`).join(', ')}, peers ${o.connections} connections${o.quick ? ' (quick: correctness only)' : ''}`);
  execFileSync('bash', [path.join(REPO, 'scripts/kafka.sh'), 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('bash', [path.join(REPO, 'scripts/pg.sh'), 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });

  const topic = `${runId}_${o.format}`;
  const needsMain = o.contenders.some((c) => !['ceiling', 'connect', 'upsert', 'connect-upsert'].includes(c));
  const needsConnect = o.contenders.some((c) => c === 'connect' || c === 'upsert' || c === 'connect-upsert');
  const produceTopic = async (name: string, encode: (i: number) => Buffer) => {
    await createTopic(name, o.partitions);
    const t0 = Date.now();
    await produce(name, o.records, encode, { partitions: o.partitions, progressEvery: 100_000, onProgress: (n) => process.stderr.write(`  producing ${name}: ${n}/${o.records}\r`) });
    log(`  produced ${o.records} records to ${name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };
  if (needsMain) await produceTopic(topic, encoderFor(o.format));
  const connectTopic = `${runId}_connect_json`;
  if (needsConnect) await produceTopic(connectTopic, encodeConnectJson);

  const results: Result[] = [];
  const tables: string[] = [];
  const add = async (contender: string, t: string, table: string | null, m: { drainSeconds: number; wallSeconds: number; cpuSeconds: number; peakRssBytes: number }) => {
    const c = table ? await check(table, o.records) : { rows: null, distinctIds: null, correct: true };
    if (table) tables.push(table);
    results.push({
      contender, topic: t, records: o.records, recordsPerSecond: Math.round(o.records / m.drainSeconds), ratioToCeiling: null,
      drainSeconds: Number(m.drainSeconds.toFixed(3)), wallSeconds: Number(m.wallSeconds.toFixed(2)), cpuSeconds: Number(m.cpuSeconds.toFixed(2)),
      peakRssMiB: Math.round(m.peakRssBytes / 2 ** 20), ...c,
    });
    log(`  ${contender}: ${Math.round(o.records / m.drainSeconds)} records/s, rows ${c.rows ?? '-'}${c.correct ? '' : ' INCORRECT'}`);
  };
  let engineRuns = 0;
  const engine = async (e: EngineSetup, source: Source, delivery: Delivery, label: string, kind: BenchFormat | 'connect-json', t: string, upsert = false) => {
    const table = await freshTable(`${runId}_engine_${source.replace('-', '_')}_${delivery === 'exactly-once' ? 'eo' : 'alo'}_${kind.replace('-', '_')}_${e.workers}x${e.connections}_${++engineRuns}`, upsert);
    const config = engineConfig(delivery, e, kind, t, table, `${table}_g`, upsert);
    const run = await runTimed('node', [path.join(REPO, 'dist/src/cli/main.js'), 'start', config, '--until-caught-up'], { env: { ENGINE_LOG_LEVEL: 'warn', ENGINE_SOURCE: source } });
    if (run.code !== 0) throw new Error(`engine failed: ${run.stderr}`);
    const summary = JSON.parse(run.stdout.split('\n').find((l) => l.startsWith('{"event":"summary"'))!) as { drainSeconds: number };
    await add(label, t, table, { ...run, drainSeconds: summary.drainSeconds });
  };

  for (const contender of o.contenders) {
    log(`- ${contender}`);
    if (contender === 'engine') {
      for (const source of o.sources) {
        for (const e of o.engines) {
          const setup = setupOf(e);
          // Alternate which mode goes first, so neither always gets the warmer broker and database.
          const order = o.engines.indexOf(e) % 2 === 0 ? o.deliveries : [...o.deliveries].reverse();
          for (const d of order) await engine(e, source, d, `engine ${source} ${d} (${o.format}, ${setup})`, o.format, topic);
          if (needsConnect) await engine(e, source, o.deliveries[0], `engine ${source} ${o.deliveries[0]} (connect json, ${setup})`, 'connect-json', connectTopic);
        }
      }
    } else if (contender === 'ceiling') {
      const dir = path.join(REPO, 'bench/results/tmp', runId);
      const files = await writeCopyFiles(dir, o.records, o.connections);
      const table = await freshTable(`${runId}_ceiling`);
      try {
        await add(`ceiling (psql \\copy ×${o.connections})`, '-', table, await runCeiling(files, table, DATABASE_URL));
      } finally {
        removeCopyFiles(dir);
      }
    } else if (contender === 'raw-native') {
      const run = await runTimed('node', [path.join(REPO, 'dist/bench/contenders/raw-native.js'), DEFAULT_BROKERS, topic, String(o.records)]);
      if (run.code !== 0) throw new Error(`raw native consume failed: ${run.stderr}`);
      await add('raw consume (native → ring)', topic, null, { ...run, drainSeconds: (JSON.parse(run.stdout) as { drainSeconds: number }).drainSeconds });
    } else if (contender === 'raw') {
      const run = await runTimed('node', [path.join(REPO, 'dist/bench/contenders/raw-consume.js'), DEFAULT_BROKERS, topic, String(o.records)]);
      if (run.code !== 0) throw new Error(`raw consume failed: ${run.stderr}`);
      await add('raw consume (node-rdkafka)', topic, null, { ...run, drainSeconds: (JSON.parse(run.stdout) as { drainSeconds: number }).drainSeconds });
    } else if (contender === 'kafkajs') {
      const table = await freshTable(`${runId}_kafkajs`);
      const run = await runTimed('node', [path.join(REPO, 'dist/bench/contenders/kafkajs-sink.js'), DEFAULT_BROKERS, topic, table, String(o.records), o.format, String(o.connections), DATABASE_URL], { timeoutMs: 900_000 });
      if (run.code !== 0) throw new Error(`KafkaJS contender failed: ${run.stderr}`);
      await add('KafkaJS + multi-row INSERT', topic, table, { ...run, drainSeconds: (JSON.parse(run.stdout) as { drainSeconds: number }).drainSeconds });
    } else if (contender === 'connect') {
      const table = await freshTable(`${runId}_connect`);
      const run = await runConnect({ brokers: DEFAULT_BROKERS, topic: connectTopic, table, count: o.records, tasks: o.connections, databaseUrl: DATABASE_URL, workDir: path.join(os.tmpdir(), `${runId}-connect`) });
      await add('Kafka Connect + Debezium JDBC', connectTopic, table, run);
    } else if (contender === 'upsert') {
      const e = o.engines[o.engines.length - 1];
      await engine(e, o.sources[0], o.deliveries[0], `engine ${o.sources[0]} ${o.deliveries[0]} upsert (connect json, ${setupOf(e)})`, 'connect-json', connectTopic, true);
    } else if (contender === 'connect-upsert') {
      const table = await freshTable(`${runId}_connect_upsert`, true);
      const run = await runConnect({ brokers: DEFAULT_BROKERS, topic: connectTopic, table, count: o.records, tasks: o.connections, databaseUrl: DATABASE_URL, workDir: path.join(os.tmpdir(), `${runId}-connect-upsert`), upsertKey: 'id' });
      await add('Kafka Connect + Debezium JDBC, upsert', connectTopic, table, run);
    }
  }

  const ceiling = results.find((r) => r.contender.startsWith('ceiling'));
  for (const r of results) r.ratioToCeiling = ceiling ? Number((r.recordsPerSecond / ceiling.recordsPerSecond).toFixed(2)) : null;
  report(o, runId, results, exactlyOnceCost(results));
  for (const r of results) if (!r.correct) throw new Error(`${r.contender}: expected ${o.records} rows with distinct ids, found ${r.rows} rows / ${r.distinctIds} ids`);
  for (const t of tables) await pgQuery(`DROP TABLE IF EXISTS ${t}`);
  // Bench topics are large and never reused.
  if (needsMain) await deleteTopic(topic);
  if (needsConnect) await deleteTopic(connectTopic);
}

/**
 * Per engine setup run in both modes: how much slower exactly-once drained than at-least-once, in %, from
 * the mean records/s of each mode (a setup listed several times in --engine runs several times).
 */
function exactlyOnceCost(results: Result[]): Array<{ setup: string; costPercent: number; runs: number }> {
  const mean = (label: string) => {
    const runs = results.filter((r) => r.contender === label);
    return { rate: runs.reduce((a, r) => a + r.recordsPerSecond, 0) / runs.length, runs: runs.length };
  };
  const out: Array<{ setup: string; costPercent: number; runs: number }> = [];
  for (const label of new Set(results.map((r) => r.contender).filter((c) => c.includes(' exactly-once ')))) {
    const alo = label.replace(' exactly-once ', ' at-least-once ');
    if (!results.some((r) => r.contender === alo)) continue;
    const eo = mean(label);
    out.push({ setup: label.replace(' exactly-once', ''), costPercent: Number((100 * (1 - eo.rate / mean(alo).rate)).toFixed(1)), runs: eo.runs });
  }
  return out;
}

/** The engine's upsert rate against Kafka Connect's upsert and against its own insert mode on the connect JSON records. */
function upsertRatios(results: Result[]): { vsConnect: number | null; vsInsert: number | null } | null {
  const up = results.find((r) => r.contender.includes(' upsert (connect json'));
  if (!up) return null;
  const connect = results.find((r) => r.contender === 'Kafka Connect + Debezium JDBC, upsert');
  const insert = results.find((r) => r.contender === up.contender.replace(' upsert (connect json', ' (connect json'));
  const ratio = (other: Result | undefined) => (other ? Number((up.recordsPerSecond / other.recordsPerSecond).toFixed(2)) : null);
  return { vsConnect: ratio(connect), vsInsert: ratio(insert) };
}

function report(o: Options, runId: string, results: Result[], eoCost: Array<{ setup: string; costPercent: number; runs: number }>): void {
  const header = ['contender', 'records/s', '× ceiling', 'drain s', 'wall s', 'CPU s', 'peak RSS MiB', 'rows', 'distinct ids'];
  const rows = results.map((r) => [
    r.contender, String(r.recordsPerSecond), r.ratioToCeiling === null ? '-' : r.ratioToCeiling.toFixed(2), r.drainSeconds.toFixed(2),
    r.wallSeconds.toFixed(1), r.cpuSeconds.toFixed(1), String(r.peakRssMiB), r.rows === null ? '-' : String(r.rows), r.distinctIds === null ? '-' : String(r.distinctIds),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const table = [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
  const setup = `${o.records} ${o.format} records (Connect pair: JSON with embedded schema), ${o.partitions} partitions, KafkaJS / ceiling ${o.connections} connections, Connect ${o.connections} tasks, ${os.cpus().length} cores; broker and PostgreSQL on the same machine`;
  console.log(`\n${setup}\n${table}\n`);
  const note = 'records/s = records ÷ drain (first record polled → last row durable; Connect: first row → last row seen in the table, polled every 250 ms). wall = process start → exit. CPU and RSS are the contender process (GNU time), not the PostgreSQL server or the broker.';
  console.log(note);
  const upsert = upsertRatios(results);
  const costs = [
    ...eoCost.map((c) => `exactly-once cost, ${c.setup}, mean of ${c.runs} run${c.runs > 1 ? 's' : ''} per mode: ${c.costPercent}% (records/s below at-least-once; negative: faster)`),
    ...(upsert ? [`upsert: the engine ${upsert.vsConnect ?? '-'}× Kafka Connect's upsert, ${upsert.vsInsert ?? '-'}× its own insert mode on the same records`] : []),
  ].join('\n');
  if (costs) console.log(`\n${costs}`);
  const json = { bench: 'throughput', runId, at: new Date().toISOString(), options: o, results, exactlyOnceCost: eoCost, upsert };
  console.log(JSON.stringify(json));
  const dir = path.join(REPO, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${runId}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(path.join(dir, `${runId}.md`), `# bench throughput ${runId}\n\n${setup}\n\n${table}\n\n${note}\n${costs ? `\n${costs}\n` : ''}`);
  process.stderr.write(`results: bench/results/${runId}.json and .md\n`);
}

main().catch((err: Error) => {
  console.error(`bench throughput failed: ${err.message}`);
  process.exit(1);
});
