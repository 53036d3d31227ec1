import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder } from '../../bench/lib/orders';
import { freePort, scrapeMetrics } from '../../bench/lib/scenario';
import { endOffsets, runCli, sql, unique, until, writeConfig } from '../helpers/env';
import { createOrdersTable, ordersConfig } from '../helpers/orders';
import { pgCluster, waitForPg } from '../helpers/services';

const N = 100_000;
const PARTITIONS = 4;



async function readyz(port: number): Promise<{ status: number; body: { checks: Record<string, { ok: boolean; detail: string }> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, { ok: boolean; detail: string }> } };
}

test('metrics after a 100,000-record run: consumed == written, lag 0, committed == end offsets, histograms filled; /readyz follows PostgreSQL', { timeout: 300_000 }, async () => {
  const topic = unique('operate');
  const table = unique('operate');
  const group = unique('operate');
  await createTopic(topic, PARTITIONS);
  await produce(topic, N, encodeOrder, { partitions: PARTITIONS });
  await createOrdersTable(table);
  const port = await freePort();
  const config = writeConfig(`${ordersConfig({ topic, table, group })}metrics: { port: ${port}, host: 127.0.0.1 }\n`);
  const ends = await endOffsets(topic, PARTITIONS);

  let checks: Promise<void> = Promise.resolve();
  const run = await runCli(['start', config], {
    timeoutMs: 240_000,
    during: (child: ChildProcess) => {
      checks = (async () => {
        try {
          const m = await until('every record written and the lag refreshed to 0', async () => {
            const s = await scrapeMetrics(port);
            const lags = ends.map((_, p) => s.get(`kpe_partition_lag{topic="${topic}",partition="${p}"}`));
            return s.get('kpe_records_written_total{pipeline="orders"}') === N && lags.every((l) => l === 0) ? s : null;
          });
          assert.equal(m.get('kpe_records_consumed_total'), N);
          ends.forEach((end, p) => {
            assert.equal(m.get(`kpe_partition_committed_offset{topic="${topic}",partition="${p}"}`), end, `partition ${p} committed`);
            assert.equal(m.get(`kpe_partition_consumed_offset{topic="${topic}",partition="${p}"}`), end, `partition ${p} consumed`);
            assert.equal(m.get(`kpe_partition_high_watermark{topic="${topic}",partition="${p}"}`), end, `partition ${p} high watermark`);
          });
          for (const h of ['kpe_batch_rows_count{pipeline="orders"}', 'kpe_batch_bytes_count{pipeline="orders"}', 'kpe_copy_duration_seconds_count{pipeline="orders"}', 'kpe_decode_duration_seconds_count', 'kpe_end_to_end_latency_seconds_count{pipeline="orders"}']) {
            assert.ok((m.get(h) ?? 0) > 0, `${h} has samples`);
          }
          assert.equal(m.get('kpe_batch_rows_sum{pipeline="orders"}'), N);
          // [Transcode] Every Avro order went through the function generated for its schema: none through
          // the transcoder's closures or the object path.
          assert.equal(m.get('kpe_rows_encoded_total{path="generated"}'), N);
          assert.equal(m.get('kpe_rows_encoded_total{path="transcoder"}'), undefined);
          assert.equal(m.get('kpe_rows_encoded_total{path="object"}'), undefined);
          assert.equal(m.get('kpe_assigned_partitions'), PARTITIONS);
          assert.ok((m.get('kpe_rebalances_total{kind="assign"}') ?? 0) >= 1);
          assert.equal(m.get('kpe_records_in_flight'), 0);
          assert.ok(m.has('kpe_process_resident_memory_bytes') && m.has('kpe_nodejs_eventloop_lag_seconds'), 'default process metrics');
          assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
          assert.equal((await readyz(port)).status, 200);

          pgCluster('stop');
          try {
            const down = await until('/readyz 503 while PostgreSQL is down', async () => {
              const r = await readyz(port);
              return r.status === 503 ? r : null;
            }, 20_000);
            assert.equal(down.body.checks.postgres.ok, false, JSON.stringify(down.body));
            assert.equal(down.body.checks.kafka.ok, true, JSON.stringify(down.body));
          } finally {
            pgCluster('start');
            await waitForPg();
          }
          await until('/readyz 200 again', async () => ((await readyz(port)).status === 200 ? true : null), 20_000);
        } finally {
          child.kill('SIGTERM');
        }
      })();
    },
  });
  await checks;
  assert.equal(run.code, 0, run.stderr);
  const [r] = await sql<{ rows: string }>(`SELECT count(*) AS rows FROM ${table}`);
  assert.equal(Number(r.rows), N);
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});
