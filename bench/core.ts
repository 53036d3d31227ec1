import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_BROKERS, deleteTopic } from './lib/kafka-tools';
import { encodeOrder, encodeOrderProto, ORDER_PROTO_PATH, ORDER_SCHEMA_PATH } from './lib/orders';
import { summarizeProfiles } from './lib/cpu-profile';
import { DATABASE_URL, flag, freePort, pgQuery, prepareOrders, runEngine } from './lib/scenario';

/**
 * The [Core] benchmark: N reference Avro records over P partitions, drained by one engine process
 * (2 workers, 2 connections) into a fresh table. Prints records/s and peak RSS, as a line and as JSON.
 *   node dist/bench/core.js [--records 500000] [--partitions 8] [--workers 2] [--connections 2] [--runs 1] [--metrics-cost | --decode-path-cost | --socket-cost] [--profile] [--format avro|protobuf]
 * --metrics-cost: every run twice, without and with metrics served (and scraped every second), in
 * alternating order; prints the mean of each and the difference, in records/s and in the engine's CPU
 * time per record (all its threads, over the drain). CPU time is the steadier measure of what metrics
 * cost on the hot path: a shared VM's steal time and the broker's and PostgreSQL's share of the two cores
 * move records/s by ±15 % between identical runs, and hardly move the engine's own CPU time.
 * --decode-path-cost: the same, with the Avro transcoder (the default) and with every record on the
 * object path (ENGINE_DECODE_PATH=object), [Transcode].
 * --socket-cost: the same, with postgres.url over loopback TCP and over PostgreSQL's Unix-domain socket.
 * --profile: the engine runs under `node --cpu-prof`; after each run, per thread (main, each worker), its
 * busy time by area (src/ stage, library, socket writes, GC) and its hottest functions.
 */
async function main(): Promise<void> {
  const records = flag('records', 500_000);
  const partitions = flag('partitions', 8);
  const workers = flag('workers', 2);
  const connections = flag('connections', 2);
  const runs = flag('runs', 1);
  const pathCost = process.argv.includes('--decode-path-cost');
  const socketCost = process.argv.includes('--socket-cost');
  const socketUrl = socketCost ? await unixSocketUrl(DATABASE_URL) : DATABASE_URL;
  const protobuf = process.argv.includes('--format') && process.argv[process.argv.indexOf('--format') + 1] === 'protobuf';
  const profile = process.argv.includes('--profile');
  const compare = process.argv.includes('--metrics-cost') || pathCost || socketCost;
  // The variant: metrics served (--metrics-cost), the object path (--decode-path-cost), the socket (--socket-cost).
  const results: Array<{ metrics: boolean; recordsPerSecond: number; cpuMicrosPerRecord: number }> = [];
  const runId = `co${Date.now().toString(36)}`;
  console.log(`bench core ${runId}: ${records} ${protobuf ? 'Protobuf' : 'Avro'} orders over ${partitions} partitions, ${runs} run(s)${compare ? ' of each variant, alternating' : ''}`);
  const label = (on: boolean) => (pathCost ? (on ? 'object path' : 'transcoder') : socketCost ? (on ? 'Unix socket' : 'TCP') : on ? 'metrics on' : 'metrics off');
  const measuresMetrics = !pathCost && !socketCost;
  const plan: Array<{ run: number; metrics: boolean }> = [];
  for (let run = 1; run <= runs; run++) {
    const order = run % 2 === 1 ? [false, true] : [true, false];
    for (const metrics of compare ? order : [false]) plan.push({ run, metrics });
  }
  for (const { run, metrics } of plan) {
    const port = metrics && measuresMetrics ? await freePort() : 0;
    const name = `bench_core_${Date.now().toString(36)}`;
    const { topic, table } = await prepareOrders(name, records, partitions, true, protobuf ? encodeOrderProto : encodeOrder);
    const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-core-')), 'config.yaml');
    writeFileSync(
      config,
      `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${name} }
postgres: { url: "${socketCost && metrics ? socketUrl : DATABASE_URL}", connections: ${connections} }
engine: { workers: ${workers} }
${port ? `metrics: { port: ${port}, host: 127.0.0.1 }\n` : ''}
pipelines:
  - { name: orders, topics: [${topic}], ${protobuf ? `format: protobuf, schema: "${ORDER_PROTO_PATH}", messageType: shop.Order` : `format: avro, schema: "${ORDER_SCHEMA_PATH}"`}, table: ${table},
      columns: { user_id: user.id, country: user.country }, batch: { maxRows: 20000, maxBytes: 8MiB, maxWaitMs: 100 } }
`,
    );
    const env = { ENGINE_LOG_LEVEL: 'warn', ...(pathCost && metrics ? { ENGINE_DECODE_PATH: 'object' } : {}) };
    const profileDir = profile ? mkdtempSync(path.join(os.tmpdir(), 'bench-core-prof-')) : null;
    const s = await runEngine(config, env, port ? (child) => scrapeEverySecond(child, port) : undefined, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    if (profileDir) printProfiles(profileDir, records);
    const [check] = await pgQuery<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
    const correct = Number(check.rows) === records && Number(check.ids) === records;
    const result = {
      bench: 'core', runId, run, variant: compare ? label(metrics) : null, metrics: metrics && measuresMetrics, records, partitions, workers, connections,
      recordsPerSecond: Math.round(s.recordsPerSecond), drainSeconds: Number(s.drainSeconds.toFixed(3)),
      cpuMicrosPerRecord: Number(((s.drainCpuSeconds * 1e6) / records).toFixed(2)),
      wholeRunSeconds: Number(s.seconds.toFixed(2)), peakRssMiB: Math.round(s.peakRssBytes / 2 ** 20), correct,
    };
    console.log(
      `run ${run}${compare ? ` (${label(metrics)})` : ''}: ${records} records over ${partitions} partitions: ${result.recordsPerSecond} records/s ` +
        `(drain ${result.drainSeconds} s, whole run ${result.wholeRunSeconds} s, engine CPU ${result.cpuMicrosPerRecord} µs/record), peak RSS ${result.peakRssMiB} MiB, rows correct: ${correct}`,
    );
    console.log(JSON.stringify(result));
    results.push({ ...result, metrics });
    await pgQuery(`DROP TABLE ${table}`);
    await deleteTopic(topic);
    if (!correct) throw new Error(`run ${run}: expected ${records} distinct rows, found ${check.rows} rows / ${check.ids} ids`);
  }
  if (compare) {
    const stats = (on: boolean, key: 'recordsPerSecond' | 'cpuMicrosPerRecord') => {
      const xs = results.filter((r) => r.metrics === on).map((r) => r[key]);
      const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, xs.length - 1));
      return { mean, sd };
    };
    const spread = (on: boolean, key: 'recordsPerSecond' | 'cpuMicrosPerRecord') => {
      const xs = results.filter((r) => r.metrics === on).map((r) => r[key]);
      return `${Math.min(...xs)}–${Math.max(...xs)}`;
    };
    const off = stats(false, 'recordsPerSecond');
    const on = stats(true, 'recordsPerSecond');
    const cpuOff = stats(false, 'cpuMicrosPerRecord');
    const cpuOn = stats(true, 'cpuMicrosPerRecord');
    const ratePercent = 100 * (1 - on.mean / off.mean);
    const cpuPercent = 100 * (cpuOn.mean / cpuOff.mean - 1);
    const [a, b] = [label(false), label(true)];
    const what = pathCost ? 'object path vs transcoder' : socketCost ? 'Unix socket vs TCP' : 'metrics cost';
    console.log(`${what} (mean ± sd of ${runs} runs each${measuresMetrics ? ', metrics served and scraped every second' : ''}):`);
    console.log(`  records/s:            ${Math.round(off.mean)} ± ${Math.round(off.sd)} ${a}, ${Math.round(on.mean)} ± ${Math.round(on.sd)} ${b}: ${b} costs ${ratePercent.toFixed(1)}% (spread ${spread(false, 'recordsPerSecond')} / ${spread(true, 'recordsPerSecond')})`);
    console.log(`  engine CPU µs/record: ${cpuOff.mean.toFixed(2)} ± ${cpuOff.sd.toFixed(2)} ${a}, ${cpuOn.mean.toFixed(2)} ± ${cpuOn.sd.toFixed(2)} ${b}: ${b} costs ${cpuPercent.toFixed(1)}% (spread ${spread(false, 'cpuMicrosPerRecord')} / ${spread(true, 'cpuMicrosPerRecord')})`);
    console.log(JSON.stringify({
      bench: pathCost ? 'core-decode-path-cost' : socketCost ? 'core-socket-cost' : 'core-metrics-cost', runId, runs, offRecordsPerSecond: Math.round(off.mean), onRecordsPerSecond: Math.round(on.mean), costPercent: Number(ratePercent.toFixed(1)),
      offCpuMicrosPerRecord: Number(cpuOff.mean.toFixed(2)), onCpuMicrosPerRecord: Number(cpuOn.mean.toFixed(2)), cpuCostPercent: Number(cpuPercent.toFixed(1)),
    }));
  }
}

/** DATABASE_URL's server over its Unix-domain socket (the first of unix_socket_directories). */
async function unixSocketUrl(tcpUrl: string): Promise<string> {
  const [{ dirs }] = await pgQuery<{ dirs: string }>("SELECT current_setting('unix_socket_directories') AS dirs");
  const u = new URL(tcpUrl);
  const userinfo = u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return `${u.protocol}//${userinfo}${encodeURIComponent(dirs.split(',')[0].trim())}:${u.port || 5432}${u.pathname}`;
}

/** Per thread: busy ms, µs per record, the areas over 2 % and the hottest functions. */
function printProfiles(dir: string, records: number): void {
  const threads = summarizeProfiles(dir);
  threads.forEach((t, i) => {
    const name = i === 0 ? 'main thread' : `worker ${i}`;
    const per = (ms: number) => ((ms * 1000) / records).toFixed(2);
    console.log(`  ${name}: busy ${t.busyMs} ms (${per(t.busyMs)} µs per record of the run, startup included)`);
    console.log(`    by area: ${t.byArea.filter((a) => a.ms >= t.busyMs * 0.02).map((a) => `${a.area} ${a.ms} ms (${per(a.ms)} µs)`).join(', ')}`);
    console.log(`    hottest: ${t.top.map((f) => `${f.fn} ${f.ms} ms`).join('; ')}`);
    console.log(JSON.stringify({ bench: 'core-profile', thread: name, ...t }));
  });
}

/** Scrapes the engine's /metrics every second, as Prometheus would (more often than usual). */
function scrapeEverySecond(child: ChildProcess, port: number): void {
  const timer = setInterval(() => {
    fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => undefined);
  }, 1000);
  child.on('exit', () => clearInterval(timer));
}


main().catch((err: Error) => {
  console.error(`bench core failed: ${err.message}`);
  process.exit(1);
});
