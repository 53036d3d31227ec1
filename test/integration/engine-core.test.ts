import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder, order } from '../../bench/lib/orders';
import { committedOffsets, endOffsets, runCli, sql, summaryOf, unique, writeConfig } from '../helpers/env';
import { createOrdersTable, ordersConfig } from '../helpers/orders';

const N = 500_000;
const PARTITIONS = 8;

test(`engine start --until-caught-up: ${N} Avro records over ${PARTITIONS} partitions land once each and are committed`, async () => {
  const topic = unique('core');
  const table = unique('core');
  const group = unique('core');
  await createTopic(topic, PARTITIONS);
  await produce(topic, N, encodeOrder, { partitions: PARTITIONS });
  await createOrdersTable(table);
  const config = writeConfig(ordersConfig({ topic, table, group }));

  const first = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 180_000 });
  assert.equal(first.code, 0, first.stderr);
  // The suite runs once per source (scripts/test.sh): make sure each run used the one it names.
  assert.match(first.stderr, new RegExp(`\\(${process.env.ENGINE_SOURCE || 'native'} source\\)`), 'the engine ran on the expected Kafka source');
  assert.equal(summaryOf(first).records, N);

  const [counts] = await sql<{ rows: string; ids: string; min: string; max: string }>(
    `SELECT count(*) AS rows, count(DISTINCT id) AS ids, min(id) AS min, max(id) AS max FROM ${table}`,
  );
  assert.deepEqual(counts, { rows: String(N), ids: String(N), min: '0', max: String(N - 1) });

  // Every column of a sample of rows holds exactly what was produced.
  const sample = await sql<Record<string, unknown>>(
    `SELECT id, user_id, country, sku, amount, extract(epoch from created_at) * 1000 AS created_ms, tags, attrs FROM ${table} WHERE id IN (0, 1, 3, 12345, ${N - 1}) ORDER BY id`,
  );
  for (const row of sample) {
    const o = order(Number(row.id));
    assert.deepEqual(
      { user_id: row.user_id, country: row.country, sku: row.sku, amount: row.amount, created_ms: Number(row.created_ms), tags: row.tags, attrs: row.attrs },
      { user_id: String(o.user.id), country: o.user.country, sku: o.sku, amount: o.amount, created_ms: o.created_at, tags: o.tags, attrs: o.attrs },
    );
  }

  assert.deepEqual(await committedOffsets(group, topic, PARTITIONS), await endOffsets(topic, PARTITIONS));

  const second = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 60_000 });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(summaryOf(second).records, 0, 'a second run with the same group consumes nothing');
  const [after] = await sql<{ rows: string }>(`SELECT count(*) AS rows FROM ${table}`);
  assert.equal(after.rows, String(N));
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});
