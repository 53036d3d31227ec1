import assert from 'node:assert/strict';
import { test } from 'node:test';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO } from '../helpers/env';

// `bench throughput --quick`: every contender (the engine on both Kafka sources and in both delivery modes, on Avro and on Connect's
// JSON, psql \copy, raw native and node-rdkafka consume, Kafka Connect + Debezium JDBC sink, KafkaJS, and in upsert
// mode the engine and Kafka Connect)
// drains the same small backlog correctly.
// Speed is not asserted here; the full benchmark prints it.
test('bench throughput --quick: every contender lands every record exactly once', () => {
  const run = spawnSync(process.execPath, [path.join(REPO, 'dist/bench/cli.js'), 'throughput', '--quick', '--records', '5000', '--engine', '2x2'], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(run.status, 0, run.stderr);
  const line = run.stdout.split('\n').find((l) => l.startsWith('{"bench":"throughput"'));
  assert.ok(line, run.stdout);
  const report = JSON.parse(line) as { results: Array<{ contender: string; correct: boolean; rows: number | null; recordsPerSecond: number }> };
  assert.deepEqual(
    report.results.map((r) => r.contender),
    [
      'engine native exactly-once (avro, 2 workers, 2 conn)', 'engine native at-least-once (avro, 2 workers, 2 conn)', 'engine native exactly-once (connect json, 2 workers, 2 conn)',
      'engine node-rdkafka exactly-once (avro, 2 workers, 2 conn)', 'engine node-rdkafka at-least-once (avro, 2 workers, 2 conn)', 'engine node-rdkafka exactly-once (connect json, 2 workers, 2 conn)',
      'ceiling (psql \\copy ×2)', 'raw consume (native → ring)', 'raw consume (node-rdkafka)', 'Kafka Connect + Debezium JDBC', 'KafkaJS + multi-row INSERT',
      'engine native exactly-once upsert (connect json, 2 workers, 2 conn)', 'Kafka Connect + Debezium JDBC, upsert',
    ],
  );
  const upsert = (JSON.parse(line) as { upsert: { vsConnect: number | null; vsInsert: number | null } | null }).upsert;
  assert.ok(upsert && upsert.vsConnect !== null && upsert.vsInsert !== null, 'the upsert ratios are printed');
  for (const r of report.results) {
    assert.ok(r.correct, `${r.contender}: ${r.rows} rows`);
    assert.ok(r.recordsPerSecond > 0);
  }
});

// `bench latency`, reduced: one short run at a fixed rate; the figures it prints come from the rows written.
test('bench latency (3 s at 50 % of 4,000 records/s): every record lands and the percentiles are printed', () => {
  const run = spawnSync(process.execPath, [path.join(REPO, 'dist/bench/cli.js'), 'latency', '--seconds', '3', '--max', '4000', '--rates', '50', '--settings', 'low'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, run.stderr);
  const line = run.stdout.split('\n').find((l) => l.startsWith('{"bench":"latency"'));
  assert.ok(line, run.stdout);
  const r = JSON.parse(line) as { rate: number; rows: number; p50Ms: number; p99Ms: number; rowsPerBatch: number };
  assert.equal(r.rate, 2000);
  assert.ok(r.rows > 0, 'rows after the warm-up are measured');
  assert.ok(r.p50Ms > 0 && r.p99Ms >= r.p50Ms, JSON.stringify(r));
  assert.ok(r.rowsPerBatch > 0);
});
