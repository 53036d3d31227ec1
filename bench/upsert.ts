import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTopic, DEFAULT_BROKERS, deleteTopic, produce } from './lib/kafka-tools';
import { runTimed } from './lib/measure';
import { BASE_TIME, order, ordersTableSql } from './lib/orders';
import { connectPayload, CONNECT_SCHEMA } from './lib/records';
import { DATABASE_URL, flag, pgQuery, REPO } from './lib/scenario';
import { runConnect } from './contenders/connect';

/**
 * bench upsert: a keyed topic of N orders over K keys (record i updates key i % K; JSON with the Connect
 * envelope, which both the engine and Kafka Connect read), drained by
 *   - the engine in insert mode (every record a row: the rate upsert is compared with),
 *   - the engine in upsert mode (key id),
 *   - Kafka Connect with the Debezium JDBC sink in upsert mode (insert.mode=upsert, primary.key.mode=record_value),
 * each into a fresh table; the upsert tables must end with exactly the last record of every key.
 *   npm run bench -- upsert [--records N] [--keys K] [--partitions P] [--runs R] [--contenders engine-insert,engine-upsert,connect-upsert]
 *   (engine-upsert-held, not run by default: engine-upsert with batch.whenIdle false)
 * With --runs R (default 1) every contender drains the same topic R times, the order rotating each run
 * (this machine's noise moves from minute to minute); the ratios are printed per run, then their mean and
 * spread.
 */
const ALL = ['engine-insert', 'engine-upsert', 'connect-upsert', 'engine-upsert-held'] as const;
/** What runs without --contenders; engine-upsert-held (batch.whenIdle: false) is there to compare batch settings. */
const DEFAULT_CONTENDERS: readonly Contender[] = ['engine-insert', 'engine-upsert', 'connect-upsert'];
type Contender = (typeof ALL)[number];

interface Row {
  run: number;
  contender: string;
  recordsPerSecond: number;
  drainSeconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  rows: number;
  correct: boolean;
}

function keyedRecord(keys: number): (i: number) => Buffer {
  return (i) => Buffer.from(JSON.stringify({ schema: CONNECT_SCHEMA, payload: { ...connectPayload(order(i)), id: i % keys } }));
}

/** Rows of an upsert table that hold the last record of their key (created_at is unique per record). */
async function upToDate(table: string, records: number, keys: number): Promise<number> {
  const [r] = await pgQuery<{ n: string }>(
    `SELECT count(*) AS n FROM ${table}
      WHERE created_at = to_timestamp((${BASE_TIME} + (id + ${keys} * floor((${records - 1} - id) / ${keys}.0)) * 1000) / 1000.0)`,
  );
  return Number(r.n);
}

/** Mean, least and most of the runs' ratios (null when no run has one). */
function spread(values: Array<number | null>): { mean: number; min: number; max: number; values: number[] } | null {
  const xs = values.filter((v): v is number => v !== null);
  if (xs.length === 0) return null;
  return { mean: Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)), min: Math.min(...xs), max: Math.max(...xs), values: xs };
}

async function freshTable(name: string, key: boolean): Promise<string> {
  await pgQuery(`DROP TABLE IF EXISTS ${name}`);
  await pgQuery(ordersTableSql(name));
  if (key) await pgQuery(`ALTER TABLE ${name} ADD PRIMARY KEY (id)`);
  await pgQuery('CHECKPOINT');
  return name;
}

function engineConfig(topic: string, table: string, upsert: boolean, held: boolean): string {
  const columns = ['id', 'user_id', 'country', 'sku', 'amount', 'created_at', 'tags', 'attrs'].map((c) => `${c}: payload.${c}`).join(', ');
  const file = path.join(os.tmpdir(), `bench-${table}.yaml`);
  writeFileSync(
    file,
    `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${table}_g }
postgres: { url: "${DATABASE_URL}", connections: 2 }
engine: { workers: 2 }
pipelines:
  - { name: bench, topics: [${topic}], format: json, table: ${table}, columns: { ${columns} }${upsert ? ', mode: upsert, key: [id]' : ''}${held ? ', batch: { whenIdle: false }' : ''} }
`,
  );
  return file;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const records = flag('records', 500_000);
  const keys = flag('keys', 50_000);
  const partitions = flag('partitions', 8);
  const runs = flag('runs', 1);
  const i = argv.indexOf('--contenders');
  const contenders = (i >= 0 ? argv[i + 1] : DEFAULT_CONTENDERS.join(',')).split(',') as Contender[];
  for (const c of contenders) if (!ALL.includes(c)) throw new Error(`unknown contender ${c} (choose from ${ALL.join(', ')})`);
  const runId = `up${Date.now().toString(36)}`;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`bench upsert ${runId}: ${records} records over ${keys} keys, ${partitions} partitions, ${runs} run(s)`);
  const topic = `${runId}_orders`;
  await createTopic(topic, partitions);
  const make = keyedRecord(keys);
  // A key's records share a partition (as a keyed producer would place them), in order.
  await produce(topic, records, make, { partitions, key: (n) => Buffer.from(String(n % keys)), partition: (n) => (n % keys) % partitions });
  log(`  produced ${records} records to ${topic}`);

  const results: Row[] = [];
  const tables: string[] = [];
  const order = Array.from({ length: runs }, (_, r) => contenders.map((_, k) => contenders[(k + r) % contenders.length]));
  for (const [r, contender] of order.flatMap((cs, r) => cs.map((c) => [r, c] as const))) {
    const upsert = contender !== 'engine-insert';
    const table = await freshTable(`${runId}_${contender.replaceAll('-', '_')}_${r + 1}`, upsert);
    tables.push(table);
    let drainSeconds: number;
    let run: { cpuSeconds: number; peakRssBytes: number };
    if (contender === 'connect-upsert') {
      const c = await runConnect({
        brokers: DEFAULT_BROKERS, topic, table, count: keys, tasks: 2, databaseUrl: DATABASE_URL, workDir: path.join(os.tmpdir(), `${runId}-connect`),
        upsertKey: 'id', done: async () => (await upToDate(table, records, keys)) === keys,
      });
      drainSeconds = c.drainSeconds;
      run = c;
    } else {
      const t = await runTimed('node', [path.join(REPO, 'dist/src/cli/main.js'), 'start', engineConfig(topic, table, upsert, contender === 'engine-upsert-held'), '--until-caught-up'], { env: { ENGINE_LOG_LEVEL: 'warn' } });
      if (t.code !== 0) throw new Error(`engine (${contender}) failed: ${t.stderr}`);
      drainSeconds = (JSON.parse(t.stdout.split('\n').find((l) => l.startsWith('{"event":"summary"'))!) as { drainSeconds: number }).drainSeconds;
      run = t;
    }
    const [{ n }] = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    const rows = Number(n);
    const correct = upsert ? rows === keys && (await upToDate(table, records, keys)) === keys : rows === records;
    results.push({ run: r + 1, contender, recordsPerSecond: Math.round(records / drainSeconds), drainSeconds: Number(drainSeconds.toFixed(3)), cpuSeconds: Number(run.cpuSeconds.toFixed(2)), peakRssMiB: Math.round(run.peakRssBytes / 2 ** 20), rows, correct });
    log(`  run ${r + 1}, ${contender}: ${Math.round(records / drainSeconds)} records/s, ${rows} rows${correct ? '' : ' INCORRECT'}`);
  }

  const rate = (c: Contender, run: number) => results.find((r) => r.contender === c && r.run === run)?.recordsPerSecond ?? null;
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? Number((a / b).toFixed(2)) : null);
  const perRun = Array.from({ length: runs }, (_, r) => ({ vsInsert: ratio(rate('engine-upsert', r + 1), rate('engine-insert', r + 1)), vsConnect: ratio(rate('engine-upsert', r + 1), rate('connect-upsert', r + 1)) }));
  const upsertVsInsert = spread(perRun.map((p) => p.vsInsert));
  const upsertVsConnect = spread(perRun.map((p) => p.vsConnect));
  const heldVsConnect = spread(Array.from({ length: runs }, (_, r) => ratio(rate('engine-upsert-held', r + 1), rate('connect-upsert', r + 1))));
  const header = ['run', 'contender', 'records/s', 'drain s', 'CPU s', 'peak RSS MiB', 'rows', 'correct'];
  const lines = results.map((r) => [String(r.run), r.contender, String(r.recordsPerSecond), r.drainSeconds.toFixed(2), r.cpuSeconds.toFixed(1), String(r.peakRssMiB), String(r.rows), r.correct ? 'yes' : 'NO']);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const fmt = (cells: string[]) => `| ${cells.map((x, c) => (c === 1 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join(' | ')} |`;
  console.log(`\n${records} records (JSON, Connect envelope) over ${keys} keys, ${partitions} partitions, 2 connections / 2 tasks, ${os.cpus().length} cores`);
  console.log([fmt(header), ...lines.map(fmt)].join('\n'));
  const show = (x: ReturnType<typeof spread>) => (x === null ? '-' : runs === 1 ? String(x.mean) : `${x.mean} (${x.min}–${x.max} over ${runs} runs: ${x.values.join(', ')})`);
  console.log(`bench upsert ${runId}: engine upsert ÷ engine insert: ${show(upsertVsInsert)}; engine upsert ÷ Connect upsert: ${show(upsertVsConnect)}${heldVsConnect === null ? '' : `; engine upsert with whenIdle: false ÷ Connect upsert: ${show(heldVsConnect)}`}`);
  console.log(JSON.stringify({ bench: 'upsert', runId, at: new Date().toISOString(), records, keys, partitions, runs, results, perRun, upsertVsInsert, upsertVsConnect, heldVsConnect }));
  for (const t of tables) await pgQuery(`DROP TABLE IF EXISTS ${t}`);
  await deleteTopic(topic);
  const wrong = results.filter((r) => !r.correct);
  if (wrong.length > 0) throw new Error(`incorrect tables: ${wrong.map((r) => r.contender).join(', ')}`);
}

main().catch((err: Error) => {
  console.error(`bench upsert failed: ${err.message}`);
  process.exit(1);
});
