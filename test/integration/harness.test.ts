import assert from 'node:assert/strict';
import { test } from 'node:test';
import Kafka from 'node-rdkafka';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { BROKERS, sql, unique } from '../helpers/env';

// Proves the ground every other test stands on: the local broker started by scripts/kafka.sh and the
// local PostgreSQL started by scripts/pg.sh.

test('the local broker takes 10,000 messages on a 4-partition topic and gives all of them back', async () => {
  const topic = unique('harness');
  await createTopic(topic, 4);
  await produce(topic, 10_000, (i) => Buffer.from(`message-${i}`), { partitions: 4 });

  const consumer = new Kafka.KafkaConsumer(
    { 'metadata.broker.list': BROKERS, 'group.id': unique('harness'), 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  consumer.subscribe([topic]);
  consumer.setDefaultConsumeTimeout(200);
  const seen = new Set<string>();
  const partitions = new Set<number>();
  const deadline = Date.now() + 60_000;
  try {
    while (seen.size < 10_000 && Date.now() < deadline) {
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))));
      for (const m of batch) {
        seen.add(m.value!.toString());
        partitions.add(m.partition);
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  assert.equal(seen.size, 10_000);
  assert.ok(seen.has('message-0') && seen.has('message-9999'));
  assert.deepEqual([...partitions].sort(), [0, 1, 2, 3]);
});

test('the local PostgreSQL round-trips a row', async () => {
  const table = unique('harness_pg');
  await sql(`CREATE TABLE ${table} (id bigint, doc jsonb)`);
  await sql(`INSERT INTO ${table} VALUES ($1, $2)`, [42, { a: [1, 'two'] }]);
  const rows = await sql<{ id: string; doc: unknown }>(`SELECT id, doc FROM ${table}`);
  assert.deepEqual(rows, [{ id: '42', doc: { a: [1, 'two'] } }]);
  await sql(`DROP TABLE ${table}`);
});
