import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder, order } from '../../bench/lib/orders';
import { committedOffsets, endOffsets, runCli, sql, summaryOf, unique, until, writeConfig } from '../helpers/env';
import { storedPositions } from '../helpers/offsets';
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

// PostgreSQL on this machine over its Unix-domain socket (libpq's `?host=/dir`, which replaces the URL's
// hosts: the host before it does not exist, so a TCP connection could not have written a row). The socket
// carries no TLS: sslmode=require is ignored there, as libpq does.
test('postgres.url naming a Unix-domain socket: the engine writes over the socket, exactly once', { skip: process.env.ENGINE_SOURCE === 'node-rdkafka' ? 'the sink side: covered on the native source' : undefined }, async () => {
  const [{ dirs }] = await sql<{ dirs: string }>("SELECT current_setting('unix_socket_directories') AS dirs");
  const socketDir = dirs.split(',')[0].trim();
  const n = 30_000;
  const topic = unique('socket');
  const table = unique('socket');
  const group = unique('socket');
  await createTopic(topic, 2);
  await produce(topic, n, encodeOrder, { partitions: 2 });
  await createOrdersTable(table);
  const url = `postgres://root@no-such-host.invalid:1/test?host=${encodeURIComponent(socketDir)}&port=5432&sslmode=require`;
  const config = writeConfig(ordersConfig({ topic, table, group }).replace(/url: .*/, `url: "${url}"`));
  const overSocket = () => sql<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'kafka-pg-engine' AND client_addr IS NULL AND client_port = -1`);
  let sessions = 0;
  const run = await runCli(['start', config], {
    during: (child) => {
      void (async () => {
        await until(`${n} rows`, async () => Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n) >= n);
        sessions = await until('the engine\'s sessions over the socket', async () => Number((await overSocket())[0].n) || null);
        child.kill('SIGTERM');
      })().catch(() => child.kill('SIGKILL'));
    },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(sessions >= 1, 'the engine\'s sessions came over the Unix-domain socket');
  const [counts] = await sql<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  assert.deepEqual(counts, { rows: String(n), ids: String(n) });
  assert.deepEqual(await storedPositions('kafka_pg_engine.offsets', group, topic, 2), await endOffsets(topic, 2));
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});

// batch.whenIdle (the default): a pipeline's chunk is written as soon as none of its batches is being
// written. With maxWaitMs 10 minutes and maxRows out of reach, only that gets the rows written: held
// batches (whenIdle: false) would keep them for the ten minutes, past this test's timeout.
test('batch.whenIdle: with maxWaitMs 10 minutes and maxRows out of reach, the rows are written at once, exactly once', { skip: process.env.ENGINE_SOURCE === 'node-rdkafka' ? 'the batcher: covered on the native source' : undefined }, async () => {
  const n = 20_000;
  const topic = unique('idle');
  const table = unique('idle');
  const group = unique('idle');
  await createTopic(topic, 2);
  await produce(topic, n, encodeOrder, { partitions: 2 });
  await createOrdersTable(table);
  const config = writeConfig(ordersConfig({ topic, table, group, extra: '    batch: { maxRows: 10000000, maxBytes: 1GiB, maxWaitMs: 10m }' }));
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  const [r] = await sql<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  assert.deepEqual(r, { rows: String(n), ids: String(n) });
  assert.deepEqual(await storedPositions('kafka_pg_engine.offsets', group, topic, 2), await endOffsets(topic, 2));
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});
