import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder } from '../../bench/lib/orders';
import { freePort } from '../../bench/lib/scenario';
import { runCli, sql, unique, whenRows, writeConfig } from '../helpers/env';
import { createOrdersTable, ordersConfig } from '../helpers/orders';
import { freezeKafkaBroker, sleep } from '../helpers/services';

const N = 200_000;
const PARTITIONS = 2;

test('watchdog: a broker that stops answering (frozen) makes /readyz fail, then the engine exits non-zero naming the stall; a restart lands every record once', { timeout: 240_000 }, async () => {
  const topic = unique('watchdog');
  const table = unique('watchdog');
  const group = unique('watchdog');
  await createTopic(topic, PARTITIONS);
  await produce(topic, N, encodeOrder, { partitions: PARTITIONS });
  await createOrdersTable(table);
  const port = await freePort();
  const config = writeConfig(
    ordersConfig({
      topic,
      table,
      group,
      engine: '  pollBatch: 500\n  watchdog: { notReadyAfter: 3s, exitAfter: 15s }',
      extra: '    batch: { maxRows: 2000, maxWaitMs: 20 }',
    })
      .replace(/groupId: .*\n/, (g) => `${g}  config: { session.timeout.ms: 6000, heartbeat.interval.ms: 500 }\n`)
      .replace('connections: 2', 'connections: 1')
      .replace('ringBytes: 32MiB', 'ringBytes: 4MiB')
      .concat(`metrics:\n  port: ${port}\n  host: 127.0.0.1\n`),
  );
  const readiness: Array<{ status: number; watchdog: string }> = [];
  const freeze = whenRows(table, 10_000, async () => {
    freezeKafkaBroker(true);
    try {
      // Polled until the engine exits (fetch fails then).
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        const body = (await res.json()) as { checks: Record<string, { ok: boolean; detail: string }> };
        readiness.push({ status: res.status, watchdog: body.checks.watchdog.detail });
        await sleep(500);
      }
    } catch {
      // the engine is gone
    } finally {
      freezeKafkaBroker(false);
    }
  });
  let run;
  try {
    run = await runCli(['start', config], { timeoutMs: 120_000, during: freeze.during });
  } finally {
    freezeKafkaBroker(false);
  }
  await freeze.done();
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /ENG_KAFKA_STALLED: stalled for 1[5-9] s \(engine\.watchdog\.exitAfter\): .*exiting so that a supervisor restarts the engine/);
  assert.match(run.stderr, /watchdog: stalled for [3-9] s: .*; \/readyz fails until it moves again/);
  const stalled = readiness.filter((r) => r.status === 503 && /^stalled for/.test(r.watchdog));
  assert.ok(stalled.length > 0, `/readyz reported the stall: ${JSON.stringify(readiness)}`);
  assert.ok(readiness[0].watchdog === 'moving', 'ready before the stall was long enough');
  // Nothing unwritten was committed: a restarted engine lands every record exactly once.
  const again = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 120_000 });
  assert.equal(again.code, 0, again.stderr);
  const [r] = await sql<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  assert.deepEqual([Number(r.rows), Number(r.ids)], [N, N]);
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});
