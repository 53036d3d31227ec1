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
 *   npm run bench -- upsert [--records N] [--keys K] [--partitions P] [--contenders engine-insert,engine-upsert,connect-upsert]
 */
const ALL = ['engine-insert', 'engine-upsert', 'connect-upsert'] as const;
type Contender = (typeof ALL)[number];

interface Row {
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

async function freshTable(name: string, key: boolean): Promise<string> {
  await pgQuery(`DROP TABLE IF EXISTS ${name}`);
  await pgQuery(ordersTableSql(name));
  if (key) await pgQuery(`ALTER TABLE ${name} ADD PRIMARY KEY (id)`);
  await pgQuery('CHECKPOINT');
  return name;
}

function engineConfig(topic: string, table: string, upsert: boolean): string {
  const columns = ['id', 'user_id', 'country', 'sku', 'amount', 'created_at', 'tags', 'attrs'].map((c) => `${c}: payload.${c}`).join(', ');
  const file = path.join(os.tmpdir(), `bench-${table}.yaml`);
  writeFileSync(
    file,
    `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${table}_g }
postgres: { url: "${DATABASE_URL}", connections: 2 }
engine: { workers: 2 }
pipelines:
  - { name: bench, topics: [${topic}], format: json, table: ${table}, columns: { ${columns} }${upsert ? ', mode: upsert, key: [id]' : ''} }
`,
  );
  return file;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const records = flag('records', 500_000);
  const keys = flag('keys', 50_000);
  const partitions = flag('partitions', 8);
  const i = argv.indexOf('--contenders');
  const contenders = (i >= 0 ? argv[i + 1] : ALL.join(',')).split(',') as Contender[];
  for (const c of contenders) if (!ALL.includes(c)) throw new Error(`unknown contender ${c} (choose from ${ALL.join(', ')})`);
  const runId = `up${Date.now().toString(36)}`;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`bench upsert ${runId}: ${records} records over ${keys} keys, ${partitions} partitions`);
  const topic = `${runId}_orders`;
  await createTopic(topic, partitions);
  const make = keyedRecord(keys);
  // A key's records share a partition (as a keyed producer would place them), in order.
  await produce(topic, records, make, { partitions, key: (n) => Buffer.from(String(n % keys)), partition: (n) => (n % keys) % partitions });
  log(`  produced ${records} records to ${topic}`);

  const results: Row[] = [];
  const tables: string[] = [];
  for (const contender of contenders) {
    const upsert = contender !== 'engine-insert';
    const table = await freshTable(`${runId}_${contender.replace('-', '_')}`, upsert);
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
      const t = await runTimed('node', [path.join(REPO, 'dist/src/cli/main.js'), 'start', engineConfig(topic, table, upsert), '--until-caught-up'], { env: { ENGINE_LOG_LEVEL: 'warn' } });
      if (t.code !== 0) throw new Error(`engine (${contender}) failed: ${t.stderr}`);
      drainSeconds = (JSON.parse(t.stdout.split('\n').find((l) => l.startsWith('{"event":"summary"'))!) as { drainSeconds: number }).drainSeconds;
      run = t;
    }
    const [{ n }] = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    const rows = Number(n);
    const correct = upsert ? rows === keys && (await upToDate(table, records, keys)) === keys : rows === records;
    results.push({ contender, recordsPerSecond: Math.round(records / drainSeconds), drainSeconds: Number(drainSeconds.toFixed(3)), cpuSeconds: Number(run.cpuSeconds.toFixed(2)), peakRssMiB: Math.round(run.peakRssBytes / 2 ** 20), rows, correct });
    log(`  ${contender}: ${Math.round(records / drainSeconds)} records/s, ${rows} rows${correct ? '' : ' INCORRECT'}`);
  }

  const rate = (c: Contender) => results.find((r) => r.contender === c)?.recordsPerSecond ?? null;
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? Number((a / b).toFixed(2)) : null);
  const upsertVsInsert = ratio(rate('engine-upsert'), rate('engine-insert'));
  const upsertVsConnect = ratio(rate('engine-upsert'), rate('connect-upsert'));
  const header = ['contender', 'records/s', 'drain s', 'CPU s', 'peak RSS MiB', 'rows', 'correct'];
  const lines = results.map((r) => [r.contender, String(r.recordsPerSecond), r.drainSeconds.toFixed(2), r.cpuSeconds.toFixed(1), String(r.peakRssMiB), String(r.rows), r.correct ? 'yes' : 'NO']);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const fmt = (cells: string[]) => `| ${cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join(' | ')} |`;
  console.log(`\n${records} records (JSON, Connect envelope) over ${keys} keys, ${partitions} partitions, 2 connections / 2 tasks, ${os.cpus().length} cores`);
  console.log([fmt(header), ...lines.map(fmt)].join('\n'));
  console.log(`engine upsert ÷ engine insert: ${upsertVsInsert ?? '-'}; engine upsert ÷ Connect upsert: ${upsertVsConnect ?? '-'}`);
  console.log(JSON.stringify({ bench: 'upsert', runId, at: new Date().toISOString(), records, keys, partitions, results, upsertVsInsert, upsertVsConnect }));
  for (const t of tables) await pgQuery(`DROP TABLE IF EXISTS ${t}`);
  await deleteTopic(topic);
  const wrong = results.filter((r) => !r.correct);
  if (wrong.length > 0) throw new Error(`incorrect tables: ${wrong.map((r) => r.contender).join(', ')}`);
}

main().catch((err: Error) => {
  console.error(`bench upsert failed: ${err.message}`);
  process.exit(1);
});
