import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Kafka from 'node-rdkafka';
import { createTopic, DEFAULT_BROKERS, deleteTopic } from './lib/kafka-tools';
import { groupShares, machineCpu, machineShare, processTicks } from './lib/machine-cpu';
import { encodeOrder, ORDER_SCHEMA_PATH, ordersTableSql } from './lib/orders';
import { DATABASE_URL, flag, freePort, pgQuery, prepareOrders, REPO, runEngine, scrapeMetrics } from './lib/scenario';

/**
 * [Transcode] End-to-end latency at fixed rates: a running engine, and a producer sending reference Avro
 * orders at 25 %, 50 % and 75 % of the rate the engine drains a backlog at, `--seconds` each, for the
 * default batch settings, the defaults without batch.whenIdle (`held`) and a low-latency one. Per run: p50/p95/p99 of the time from a record's Kafka
 * timestamp (set by the producer when it sends) to its row being written (a `clock_timestamp()` default
 * evaluated in the COPY), the first 5 s (a quarter of a shorter run) left out as warm-up; the engine's own histogram to the commit
 * (kpe_end_to_end_latency_seconds, first record of each chunk); and where the time goes: a chunk's decode,
 * a batch's transaction (COPY, offsets, commit), rows per batch; how busy the machine's cores were while
 * the producer ran (and how much the VM's host stole), how many seconds had a p99 of their own above
 * 100 ms (a few spikes, or a steady tail), the PostgreSQL checkpoints that ran meanwhile, and who used
 * the CPU (the engine, this process's producer, the broker, PostgreSQL).
 *   node dist/bench/latency.js [--seconds 60] [--partitions 4] [--max <records/s>] [--rates 25,50,75] [--settings default,held,low]
 */

/** `held`: the defaults without whenIdle (every batch waits for maxRows or maxWaitMs, as before it). */
const SETTINGS = {
  default: { maxRows: 20000, maxBytes: '8MiB', maxWaitMs: 100, whenIdle: true },
  held: { maxRows: 20000, maxBytes: '8MiB', maxWaitMs: 100, whenIdle: false },
  low: { maxRows: 2000, maxBytes: '1MiB', maxWaitMs: 5, whenIdle: true },
} as const;
type Setting = keyof typeof SETTINGS;

function list(name: string, fallback: string): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return (i < 0 ? fallback : process.argv[i + 1]).split(',').filter((x) => x !== '');
}


/** A quantile of a Prometheus histogram, interpolated inside its bucket (as histogram_quantile does). */
function histogramQuantile(m: Map<string, number>, name: string, labels: string, q: number): number | null {
  const buckets = [...m].filter(([k]) => k.startsWith(`${name}_bucket{`) && k.includes(labels))
    .map(([k, v]) => ({ le: k.includes('le="+Inf"') ? Infinity : Number(/le="([^"]+)"/.exec(k)![1]), n: v }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.n ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  let lower = 0;
  for (const b of buckets) {
    if (b.n >= rank) return b.le === Infinity ? lower : lower + ((b.le - lower) * (rank - below)) / Math.max(1, b.n - below);
    below = b.n;
    lower = b.le;
  }
  return lower;
}

async function until<T>(what: string, check: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Distinct orders the producer cycles through: encoded once, so sending one costs only the produce call. */
const POOL = 8192;

/**
 * Sends `rate` orders per second for `seconds`, spread over the partitions; resolves when all are
 * acknowledged. A plain Producer: its produce() throws when librdkafka's queue is full, and the tick sends
 * the rest later (HighLevelProducer reports a full queue through the callback instead, after the record
 * was counted as sent: run lamx5vlq04 stopped there at 50 %). The producer shares the two cores with
 * what it measures, so it does as little as it can per record: values and keys are encoded once (a pool
 * of ${POOL} orders, ids repeating; the table has no key), no delivery report per message (a flush at
 * the end waits for the acknowledgements; a message that was never delivered shows as the table never
 * reaching the total, which fails the run).
 * Run lamx611v6q's producer, which encoded each order and took a delivery report each, topped out near
 * 55,000 orders/s.
 */
async function produceAtRate(topic: string, partitions: number, rate: number, seconds: number): Promise<{ total: number; achieved: number }> {
  const producer = new Kafka.Producer({
    'metadata.broker.list': DEFAULT_BROKERS, 'linger.ms': 5, 'batch.num.messages': 10000, 'compression.codec': 'none', 'queue.buffering.max.messages': 1_000_000,
  });
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(100);
  const values = Array.from({ length: POOL }, (_, i) => encodeOrder(i));
  const keys = Array.from({ length: POOL }, (_, i) => Buffer.from(String(i)));
  const total = Math.round(rate * seconds);
  let sent = 0;
  const start = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const tick = () => {
        const due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000));
        try {
          for (; sent < due; sent++) producer.produce(topic, sent % partitions, values[sent % POOL], keys[sent % POOL], Date.now());
        } catch (err) {
          // The queue is full: the broker takes less than the rate asks; the rest goes later (the rate achieved is what the run reports).
          if ((err as { code?: number }).code !== Kafka.CODES.ERRORS.ERR__QUEUE_FULL) return reject(err);
        }
        if (sent < total) setTimeout(tick, 2);
        else producer.flush(120_000, (err) => (err ? reject(err) : resolve()));
      };
      tick();
    });
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
  return { total, achieved: Math.round(total / ((performance.now() - start) / 1000)) };
}

interface RunResult {
  setting: Setting;
  percent: number;
  rate: number;
  /** The rate the producer reached (below `rate` when the broker could not take more). */
  achieved: number;
  rows: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  durableP50Ms: number | null;
  durableP99Ms: number | null;
  decodeMsPerChunk: number;
  transactionMsPerBatch: number;
  rowsPerBatch: number;
  /** The machine while the producer ran: every core's busy and stolen time, percent. */
  busyPercent: number;
  stealPercent: number;
  /** Who used the CPU meanwhile, percent of one core (the machine has two: 200 is all of it). */
  cpuPercent: Record<string, number>;
  /** Seconds (after the warm-up) whose own p99 was above 100 ms, of all seconds: a few spikes or a steady tail. */
  slowSeconds: number;
  measuredSeconds: number;
  /** PostgreSQL checkpoints (timed + requested) that started during the run. */
  checkpoints: number;
}

async function checkpointCount(): Promise<number> {
  const [r] = await pgQuery<{ n: string }>('SELECT checkpoints_timed + checkpoints_req AS n FROM pg_stat_bgwriter');
  return Number(r.n);
}

async function runAt(runId: string, setting: Setting, percent: number, rate: number, seconds: number, partitions: number): Promise<RunResult> {
  const name = `${runId}_${setting}_${percent}`;
  await createTopic(name, partitions);
  await pgQuery(`DROP TABLE IF EXISTS ${name}`);
  await pgQuery(ordersTableSql(name));
  await pgQuery(`ALTER TABLE ${name} ADD COLUMN kafka_ts timestamptz, ADD COLUMN landed_at timestamptz DEFAULT clock_timestamp()`);
  const port = await freePort();
  const b = SETTINGS[setting];
  const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-latency-')), 'config.yaml');
  writeFileSync(config, `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${name} }
postgres: { url: "${DATABASE_URL}", connections: 2 }
engine: { workers: 2 }
metrics: { port: ${port}, host: 127.0.0.1 }
pipelines:
  - { name: orders, topics: [${name}], format: avro, schema: "${ORDER_SCHEMA_PATH}", table: ${name},
      columns: { user_id: user.id, country: user.country, kafka_ts: $timestamp },
      batch: { maxRows: ${b.maxRows}, maxBytes: ${b.maxBytes}, maxWaitMs: ${b.maxWaitMs}, whenIdle: ${b.whenIdle} } }
`);
  const engine: ChildProcess = spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), 'start', config], { env: { ...process.env, ENGINE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await until('the engine to own its partitions', async () => ((await scrapeMetrics(port)).get('kpe_assigned_partitions') === partitions ? true : null), 60_000);
    const checkpointsBefore = await checkpointCount();
    const cpuBefore = machineCpu();
    const ticksBefore = processTicks(engine.pid!);
    const producing = performance.now();
    const { total, achieved } = await produceAtRate(name, partitions, rate, seconds);
    const cpuPercent = groupShares(ticksBefore, processTicks(engine.pid!), (performance.now() - producing) / 1000);
    const share = machineShare(cpuBefore, machineCpu());
    await until(`${total} rows`, async () => {
      const [r] = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
      return Number(r.n) === total ? true : null;
    }, 120_000);
    const m = await scrapeMetrics(port);
    const warmUp = Math.min(5, seconds / 4);
    const [q] = await pgQuery<{ n: string; p: number[]; max: number }>(`
      WITH t AS (SELECT extract(epoch FROM landed_at - kafka_ts) * 1000 AS ms FROM ${name}
                 WHERE kafka_ts >= (SELECT min(kafka_ts) FROM ${name}) + interval '${warmUp} seconds')
      SELECT count(*) AS n, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ms) AS p, max(ms) AS max FROM t`);
    const [perSecond] = await pgQuery<{ slow: string; all: string }>(`
      WITH t AS (SELECT date_trunc('second', kafka_ts) AS s, extract(epoch FROM landed_at - kafka_ts) * 1000 AS ms FROM ${name}
                 WHERE kafka_ts >= (SELECT min(kafka_ts) FROM ${name}) + interval '${warmUp} seconds'),
           q AS (SELECT s, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99 FROM t GROUP BY s)
      SELECT count(*) FILTER (WHERE p99 > 100) AS slow, count(*) AS all FROM q`);
    const checkpoints = (await checkpointCount()) - checkpointsBefore;
    const ratio = (sum: string, count: string) => (m.get(sum) ?? 0) / Math.max(1, m.get(count) ?? 0);
    const ms = (v: number | null) => (v === null ? null : Math.round(v * 1000));
    return {
      setting, percent, rate, achieved, rows: Number(q.n), p50Ms: Math.round(q.p[0]), p95Ms: Math.round(q.p[1]), p99Ms: Math.round(q.p[2]), maxMs: Math.round(q.max),
      durableP50Ms: ms(histogramQuantile(m, 'kpe_end_to_end_latency_seconds', 'pipeline="orders"', 0.5)),
      durableP99Ms: ms(histogramQuantile(m, 'kpe_end_to_end_latency_seconds', 'pipeline="orders"', 0.99)),
      decodeMsPerChunk: Number((ratio('kpe_decode_duration_seconds_sum', 'kpe_decode_duration_seconds_count') * 1000).toFixed(2)),
      transactionMsPerBatch: Number((ratio('kpe_copy_duration_seconds_sum{pipeline="orders"}', 'kpe_copy_duration_seconds_count{pipeline="orders"}') * 1000).toFixed(1)),
      rowsPerBatch: Math.round(ratio('kpe_batch_rows_sum{pipeline="orders"}', 'kpe_batch_rows_count{pipeline="orders"}')),
      ...share, cpuPercent, slowSeconds: Number(perSecond.slow), measuredSeconds: Number(perSecond.all), checkpoints,
    };
  } finally {
    engine.kill('SIGTERM');
    await new Promise((r) => engine.once('exit', r));
    await pgQuery(`DROP TABLE IF EXISTS ${name}`);
    await deleteTopic(name);
  }
}

async function main(): Promise<void> {
  const seconds = flag('seconds', 60);
  const partitions = flag('partitions', 4);
  const runId = `la${Date.now().toString(36)}`;
  let max = flag('max', 0);
  if (max === 0) {
    const records = flag('calibrate', 300_000);
    const { topic, table } = await prepareOrders(`${runId}_max`, records, partitions);
    const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-latency-')), 'config.yaml');
    writeFileSync(config, `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${topic} }
postgres: { url: "${DATABASE_URL}", connections: 2 }
engine: { workers: 2 }
pipelines:
  - { name: orders, topics: [${topic}], format: avro, schema: "${ORDER_SCHEMA_PATH}", table: ${table}, columns: { user_id: user.id, country: user.country } }
`);
    max = Math.round((await runEngine(config, { ENGINE_LOG_LEVEL: 'warn' })).recordsPerSecond);
    await pgQuery(`DROP TABLE ${table}`);
    await deleteTopic(topic);
  }
  const percents = list('rates', '25,50,75').map(Number);
  const settings = list('settings', 'default,held,low') as Setting[];
  console.log(`bench latency ${runId}: the engine drains a backlog at ${max} records/s; ${seconds} s at ${percents.join(', ')} % of that, settings ${settings.join(', ')} (alternating)`);
  console.log('setting  rate %  records/s (achieved)   p50 ms  p95 ms  p99 ms  max ms | to commit p50/p99 ms | decode ms/chunk  transaction ms/batch  rows/batch | machine busy/steal % | seconds with p99 > 100 ms | checkpoints | CPU % of a core: engine/producer/broker/postgres/other');
  const results: RunResult[] = [];
  for (const percent of percents) {
    const order = results.length % 2 === 0 ? settings : [...settings].reverse();
    for (const setting of order) {
      const r = await runAt(runId, setting, percent, Math.round((max * percent) / 100), seconds, partitions);
      results.push(r);
      console.log(`${setting.padEnd(8)} ${String(percent).padStart(6)}  ${`${r.rate} (${r.achieved})`.padStart(19)}  ${String(r.p50Ms).padStart(7)} ${String(r.p95Ms).padStart(7)} ${String(r.p99Ms).padStart(7)} ${String(r.maxMs).padStart(7)} | ${String(r.durableP50Ms).padStart(8)}/${String(r.durableP99Ms).padEnd(11)} | ${String(r.decodeMsPerChunk).padStart(15)}  ${String(r.transactionMsPerBatch).padStart(20)}  ${String(r.rowsPerBatch).padStart(10)} | ${`${r.busyPercent}/${r.stealPercent}`.padStart(19)} | ${`${r.slowSeconds} of ${r.measuredSeconds}`.padStart(25)} | ${String(r.checkpoints).padStart(11)} | ${['engine', 'producer', 'broker', 'postgres', 'other'].map((k) => r.cpuPercent[k]).join('/')}`);
      console.log(JSON.stringify({ bench: 'latency', runId, seconds, maxRecordsPerSecond: max, ...r, batch: SETTINGS[setting] }));
    }
  }
}

main().catch((err: Error) => {
  console.error(`bench latency failed: ${err.message}`);
  process.exit(1);
});
