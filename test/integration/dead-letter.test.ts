import assert from 'node:assert/strict';
import { test } from 'node:test';
import Kafka from 'node-rdkafka';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { order, orderType, ORDER_SCHEMA_PATH } from '../../bench/lib/orders';
import { DLQ_HEADERS } from '../../src/deadletter/records';
import { header, readTopic } from '../helpers/kafka';
import { BROKERS, committedOffsets, DATABASE_URL, endOffsets, runCli, sql, summaryOf, unique, writeConfig } from '../helpers/env';

const N = 200_000;
const PARTITIONS = 6;
/** The suite runs this file on both sources (npm test, npm run test:node-rdkafka): each run takes one delivery mode. */
const DELIVERY = process.env.ENGINE_SOURCE === 'node-rdkafka' ? 'at-least-once' : 'exactly-once';

/**
 * 1 % poison of six kinds, each found at a different place:
 *   decode  bytes that are not Avro                       → the worker  (ENG_RECORD_DECODE)
 *   range   user.id beyond the int2 column                → the worker  (ENG_RECORD_VALUE)
 *   check   a negative amount (CHECK amount >= 0)         → the server, names the row  (23514)
 *   length  a sku longer than varchar(24)                 → the server, names the row  (22001)
 *   fk      a country not in the countries table          → the server at the end of the COPY (23503)
 *   null    no country, for a column whose domain is NOT NULL → the server, names the row (23502)
 */
const KINDS = ['decode', 'range', 'check', 'length', 'fk', 'null'] as const;
type Kind = (typeof KINDS)[number];
const kindOf = (i: number): Kind | null => (i % 100 === 37 ? KINDS[Math.floor(i / 100) % KINDS.length] : null);

function value(i: number): Buffer {
  const o = order(i);
  switch (kindOf(i)) {
    case 'decode':
      return Buffer.from([0xff, 0xfe, 0x00, 0x01, i & 0xff]);
    case 'range':
      return orderType.toBuffer({ ...o, user: { ...o.user, id: 40_000 + (i % 1000) } });
    case 'check':
      return orderType.toBuffer({ ...o, amount: -1 - (i % 7) });
    case 'length':
      return orderType.toBuffer({ ...o, sku: `${o.sku}-${'x'.repeat(30)}` });
    case 'fk':
      return orderType.toBuffer({ ...o, user: { ...o.user, country: 'XX' } });
    case 'null':
      return orderType.toBuffer({ ...o, user: { ...o.user, country: null } });
    default:
      return orderType.toBuffer({ ...o, user: { ...o.user, country: o.user.country ?? 'DE' } });
  }
}

const EXPECTED: Record<Kind, { code: string; sqlstate?: string }> = {
  decode: { code: 'ENG_RECORD_DECODE' },
  range: { code: 'ENG_RECORD_VALUE' },
  check: { code: 'ENG_PG_REJECTED', sqlstate: '23514' },
  length: { code: 'ENG_PG_REJECTED', sqlstate: '22001' },
  fk: { code: 'ENG_PG_REJECTED', sqlstate: '23503' },
  null: { code: 'ENG_PG_REJECTED', sqlstate: '23502' },
};


test('dead-letter: 1 % poison of six kinds; the table holds exactly the good rows, the DLQ exactly the bad records, byte for byte with their headers', async () => {
  const topic = unique('poison');
  const dlq = `${topic}.dlq`;
  const table = unique('poison');
  const countries = `${table}_countries`;
  const group = unique('poison');
  await createTopic(topic, PARTITIONS);
  await produce(topic, N, value, { partitions: PARTITIONS });
  await sql(`CREATE TABLE ${countries} (code text PRIMARY KEY)`);
  await sql(`INSERT INTO ${countries} VALUES ('DE'), ('FR'), ('US'), ('JP'), ('BR')`);
  await sql(`CREATE DOMAIN ${table}_country AS text NOT NULL`);
  await sql(`CREATE TABLE ${table} (
    id bigint NOT NULL, user_small int2 NOT NULL, country ${table}_country REFERENCES ${countries}(code), sku varchar(24) NOT NULL,
    amount double precision CHECK (amount >= 0), created_at timestamptz NOT NULL, tags text[], attrs jsonb)`);
  const config = writeConfig(`kafka: { brokers: "${BROKERS}", groupId: ${group} }
postgres: { url: "${DATABASE_URL}", connections: 2 }
engine: { workers: 2, ringBytes: 32MiB, delivery: ${DELIVERY} }
pipelines:
  - name: orders
    topics: [${topic}]
    format: avro
    schema: ${ORDER_SCHEMA_PATH}
    table: ${table}
    columns: { user_small: user.id, country: user.country }
    deadLetter: { topic: ${dlq} }
`);
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 300_000 });
  assert.equal(run.code, 0, run.stderr);
  const summary = summaryOf(run) as ReturnType<typeof summaryOf> & { deadLettered: number; copies: number };

  const bad = Array.from({ length: N }, (_, i) => i).filter((i) => kindOf(i) !== null);
  const good = N - bad.length;
  const [r] = await sql<{ rows: string; ids: string; poisoned: string }>(
    `SELECT count(*) AS rows, count(DISTINCT id) AS ids, count(*) FILTER (WHERE id % 100 = 37) AS poisoned FROM ${table}`,
  );
  assert.deepEqual([Number(r.rows), Number(r.ids), Number(r.poisoned)], [good, good, 0], 'exactly the good rows, once each');
  assert.equal(summary.deadLettered, bad.length);
  assert.ok(summary.copies > 0);
  process.stderr.write(`  ${N} records, ${bad.length} poisoned: ${summary.copies} COPY statements\n`);

  const letters = await readTopic(dlq, bad.length);
  assert.equal(letters.length, bad.length, 'every bad record is in the DLQ once');
  const seen = new Set<number>();
  for (const m of letters) {
    const id = Number(m.key!.toString());
    const kind = kindOf(id);
    assert.ok(kind !== null, `record ${id} is not poison`);
    assert.ok(!seen.has(id), `record ${id} dead-lettered twice`);
    seen.add(id);
    assert.deepEqual(m.value, value(id), `record ${id}: the value is kept byte for byte`);
    const headers = new Map<string, string>();
    for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers.set(k, Buffer.from(v as Buffer).toString());
    assert.equal(headers.get(DLQ_HEADERS.topic), topic);
    assert.equal(headers.get(DLQ_HEADERS.partition), String(id % PARTITIONS));
    assert.equal(headers.get(DLQ_HEADERS.offset), String(Math.floor(id / PARTITIONS)));
    assert.equal(headers.get(DLQ_HEADERS.pipeline), 'orders');
    assert.equal(headers.get(DLQ_HEADERS.code), EXPECTED[kind].code, `record ${id} (${kind})`);
    assert.equal(headers.get(DLQ_HEADERS.sqlstate), EXPECTED[kind].sqlstate, `record ${id} (${kind}): ${headers.get(DLQ_HEADERS.message)}`);
    assert.ok((headers.get(DLQ_HEADERS.message) ?? '').length > 0);
    if (kind === 'check') assert.equal(headers.get(DLQ_HEADERS.constraint), `${table}_amount_check`);
  }
  assert.deepEqual(await committedOffsets(group, topic, PARTITIONS), await endOffsets(topic, PARTITIONS), 'commits reach the end');

  // engine dlq inspect: the count and the error codes, from the topic itself.
  const inspect = await runCli(['dlq', 'inspect', config, '--pipeline', 'orders'], { timeoutMs: 60_000 });
  assert.equal(inspect.code, 0, inspect.stderr);
  const report = JSON.parse(inspect.stdout.split('\n').find((l) => l.startsWith('{"event":"dlq"'))!) as { count: number; codes: Record<string, number>; samples: unknown[] };
  assert.equal(report.count, bad.length);
  const byCode: Record<string, number> = {};
  for (const i of bad) byCode[EXPECTED[kindOf(i)!].code] = (byCode[EXPECTED[kindOf(i)!].code] ?? 0) + 1;
  assert.deepEqual(report.codes, byCode);
  assert.equal(report.samples.length, 5);

  // engine dlq replay after a fix: the rows the table refused land now; records that cannot decode or
  // fit are skipped again (they stay dead letters). A second replay writes nothing more.
  await sql(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_amount_check, DROP CONSTRAINT ${table}_country_fkey, ALTER sku TYPE text, ALTER country TYPE text`);
  const replay = await runCli(['dlq', 'replay', config, '--pipeline', 'orders'], { timeoutMs: 120_000 });
  assert.equal(replay.code, 0, replay.stderr);
  const serverSide = bad.filter((i) => EXPECTED[kindOf(i)!].sqlstate !== undefined).length;
  assert.deepEqual([summaryOf(replay).records, summaryOf(replay).rows], [bad.length, serverSide]);
  const [after] = await sql<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  assert.deepEqual([Number(after.rows), Number(after.ids)], [good + serverSide, good + serverSide]);
  const again = await runCli(['dlq', 'replay', config, '--pipeline', 'orders'], { timeoutMs: 120_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(summaryOf(again).rows, 0, 'a second replay goes on where the first stopped');
  // --from-offset 0: every dead letter goes through the pipeline again.
  const from = await runCli(['dlq', 'replay', config, '--pipeline', 'orders', '--from-offset', '0'], { timeoutMs: 120_000 });
  assert.equal(from.code, 0, from.stderr);
  assert.deepEqual([summaryOf(from).records, summaryOf(from).rows], [bad.length, serverSide]);
  await sql(`DROP TABLE ${table}`);
  await sql(`DROP DOMAIN ${table}_country`);
  await sql(`DROP TABLE ${countries}`);
  await deleteTopic(topic);
  await deleteTopic(dlq);
});

test('a dead-letter topic that refuses the record stops progress with ENG_DEAD_LETTER; nothing at or after the record is committed', async () => {
  const topic = unique('poison_stuck');
  const dlq = `${topic}.dlq`;
  const table = unique('poison_stuck');
  const group = unique('poison_stuck');
  await createTopic(topic, 1);
  await produce(topic, 2000, value, { partitions: 1 });
  // The dead letters (record + headers) are larger than this topic takes.
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': BROKERS });
  await new Promise<void>((resolve, reject) =>
    admin.createTopic({ topic: dlq, num_partitions: 1, replication_factor: 1, config: { 'max.message.bytes': '200' } }, 10_000, (err) => (err ? reject(err) : resolve())),
  );
  admin.disconnect();
  await sql(`CREATE TABLE ${table} (id bigint NOT NULL, user_small int2 NOT NULL, sku text, amount double precision, created_at timestamptz NOT NULL, tags text[], attrs jsonb)`);
  const config = writeConfig(`kafka: { brokers: "${BROKERS}", groupId: ${group} }
postgres: { url: "${DATABASE_URL}", connections: 1 }
engine: { workers: 1, ringBytes: 8MiB }
pipelines:
  - { name: orders, topics: [${topic}], format: avro, schema: ${ORDER_SCHEMA_PATH}, table: ${table},
      columns: { user_small: user.id }, deadLetter: { topic: ${dlq}, createTopic: false } }
`);
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 60_000 });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`ENG_DEAD_LETTER: the dead-letter topic ${dlq} did not take a record`));
  const [committed] = await committedOffsets(group, topic, 1);
  assert.ok(committed <= 37, `committed ${committed}: past the first record that could not be dead-lettered (offset 37)`);
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
  await deleteTopic(dlq);
});

test('a record whose header name is too long to frame (70,000 bytes) is dead-lettered with ENG_RECORD_DECODE, without that header; its neighbours are written', async () => {
  const topic = unique('long_header');
  const dlq = `${topic}.dlq`;
  const table = unique('long_header');
  await createTopic(topic, 1);
  await sql(`CREATE TABLE ${table} (id bigint NOT NULL)`);
  const producer = new Kafka.HighLevelProducer({ 'metadata.broker.list': BROKERS, 'message.max.bytes': 2_000_000 });
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    for (const [id, headers] of [[1, [{ trace: 'a' }]], [2, [{ ['h'.repeat(70_000)]: 'v' }, { trace: 'b' }]], [3, []]] as const) {
      await new Promise<void>((resolve, reject) =>
        producer.produce(topic, 0, Buffer.from(JSON.stringify({ id })), null, Date.now(), [...headers], (err) => (err ? reject(err) : resolve())),
      );
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
  const config = writeConfig(`kafka: { brokers: "${BROKERS}", groupId: ${unique('long_header')} }
postgres: { url: "${DATABASE_URL}", connections: 1 }
engine: { workers: 1, ringBytes: 8MiB, delivery: ${DELIVERY} }
pipelines:
  - name: j
    topics: [${topic}]
    format: json
    table: ${table}
    deadLetter: { topic: ${dlq} }
`);
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await sql(`SELECT id::int FROM ${table} ORDER BY id`), [{ id: 1 }, { id: 3 }]);
  const [dead] = await readTopic(dlq, 1);
  assert.equal(JSON.parse(dead.value!.toString()).id, 2);
  assert.equal(header(dead, DLQ_HEADERS.code), 'ENG_RECORD_DECODE');
  assert.match(header(dead, DLQ_HEADERS.message) ?? '', /a header name is longer than 65535 bytes/);
  assert.equal(header(dead, 'trace'), undefined, 'the record\'s headers could not be kept');
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
  await deleteTopic(dlq);
});
