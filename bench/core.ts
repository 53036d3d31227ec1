import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_BROKERS, deleteTopic } from './lib/kafka-tools';
import { ORDER_SCHEMA_PATH } from './lib/orders';
import { DATABASE_URL, flag, freePort, pgQuery, prepareOrders, runEngine } from './lib/scenario';

/**
 * The [Core] benchmark: N reference Avro records over P partitions, drained by one engine process
 * (2 workers, 2 connections) into a fresh table. Prints records/s and peak RSS, as a line and as JSON.
 *   node dist/bench/core.js [--records 500000] [--partitions 8] [--workers 2] [--connections 2] [--runs 1] [--metrics-cost]
 * --metrics-cost: every run twice, without and with metrics served (and scraped every second), in
 * alternating order; prints the mean of each and the difference.
 */
async function main(): Promise<void> {
  const records = flag('records', 500_000);
  const partitions = flag('partitions', 8);
  const workers = flag('workers', 2);
  const connections = flag('connections', 2);
  const runs = flag('runs', 1);
  const compare = process.argv.includes('--metrics-cost');
  const results: Array<{ metrics: boolean; recordsPerSecond: number }> = [];
  const plan: Array<{ run: number; metrics: boolean }> = [];
  for (let run = 1; run <= runs; run++) {
    const order = run % 2 === 1 ? [false, true] : [true, false];
    for (const metrics of compare ? order : [false]) plan.push({ run, metrics });
  }
  for (const { run, metrics } of plan) {
    const port = metrics ? await freePort() : 0;
    const name = `bench_core_${Date.now().toString(36)}`;
    const { topic, table } = await prepareOrders(name, records, partitions);
    const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-core-')), 'config.yaml');
    writeFileSync(
      config,
      `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${name} }
postgres: { url: "${DATABASE_URL}", connections: ${connections} }
engine: { workers: ${workers} }
${metrics ? `metrics: { port: ${port}, host: 127.0.0.1 }\n` : ''}
pipelines:
  - { name: orders, topics: [${topic}], format: avro, schema: "${ORDER_SCHEMA_PATH}", table: ${table},
      columns: { user_id: user.id, country: user.country }, batch: { maxRows: 20000, maxBytes: 8MiB, maxWaitMs: 100 } }
`,
    );
    const s = await runEngine(config, { ENGINE_LOG_LEVEL: 'warn' }, metrics ? (child) => scrapeEverySecond(child, port) : undefined);
    const [check] = await pgQuery<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
    const correct = Number(check.rows) === records && Number(check.ids) === records;
    const result = {
      bench: 'core', run, metrics, records, partitions, workers, connections,
      recordsPerSecond: Math.round(s.recordsPerSecond), drainSeconds: Number(s.drainSeconds.toFixed(3)),
      wholeRunSeconds: Number(s.seconds.toFixed(2)), peakRssMiB: Math.round(s.peakRssBytes / 2 ** 20), correct,
    };
    console.log(
      `run ${run}${compare ? (metrics ? ' (metrics on)' : ' (metrics off)') : ''}: ${records} records over ${partitions} partitions: ${result.recordsPerSecond} records/s ` +
        `(drain ${result.drainSeconds} s, whole run ${result.wholeRunSeconds} s), peak RSS ${result.peakRssMiB} MiB, rows correct: ${correct}`,
    );
    console.log(JSON.stringify(result));
    results.push(result);
    await pgQuery(`DROP TABLE ${table}`);
    await deleteTopic(topic);
    if (!correct) throw new Error(`run ${run}: expected ${records} distinct rows, found ${check.rows} rows / ${check.ids} ids`);
  }
  if (compare) {
    const mean = (on: boolean) => {
      const rs = results.filter((r) => r.metrics === on);
      return rs.reduce((a, r) => a + r.recordsPerSecond, 0) / rs.length;
    };
    const off = mean(false);
    const on = mean(true);
    console.log(`metrics cost: ${Math.round(off)} records/s without, ${Math.round(on)} with metrics served and scraped every second (mean of ${runs} runs each): ${(100 * (1 - on / off)).toFixed(1)}%`);
    console.log(JSON.stringify({ bench: 'core-metrics-cost', runs, offRecordsPerSecond: Math.round(off), onRecordsPerSecond: Math.round(on), costPercent: Number((100 * (1 - on / off)).toFixed(1)) }));
  }
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
