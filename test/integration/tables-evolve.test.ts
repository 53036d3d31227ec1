import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import protobuf from 'protobufjs';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { startEngine } from '../helpers/engine-process';
import { DLQ_HEADERS } from '../../src/deadletter/records';
import { BROKERS, DATABASE_URL, runCli, sql, unique, writeConfig } from '../helpers/env';
import { header, readTopic } from '../helpers/kafka';
import { storedPositions } from '../helpers/offsets';
import { frame, TestRegistry } from '../helpers/registry';

/**
 * [Tables] evolve: a registry topic whose producer moves through schema versions while three engines of
 * one group run; the table is created from the first writer schema and follows the others (docs/tables.md).
 */

const PARTITIONS = 3;
const PER_VERSION = 30;

const V1 = [{ name: 'id', type: 'long' }, { name: 'qty', type: 'int' }, { name: 'price', type: 'float' }];
const V2 = [...V1, { name: 'note', type: ['null', 'string'], default: null }];
const V3 = [{ name: 'id', type: 'long' }, { name: 'qty', type: 'long' }, { name: 'price', type: 'double' }, V2[3]];
const V4 = [...V3, { name: 'channel', type: 'string', default: 'web' }];
const schema = (fields: unknown[]) => ({ type: 'record', name: 'Event', namespace: 'kpe', fields });

function config(o: { topic: string; table: string; group: string; registry: string; extra?: string; format?: string }): string {
  return writeConfig(`kafka: { brokers: "${BROKERS}", groupId: ${o.group} }
postgres: { url: "${DATABASE_URL}", connections: 1 }
engine: { workers: 1, ringBytes: 4MiB }
pipelines:
  - name: events
    topics: [${o.topic}]
    format: ${o.format ?? 'avro'}
    registry: { url: ${o.registry} }
    table: kpe_evolve.${o.table}
    create: true
    evolve: true
    batch: { maxRows: 200, maxWaitMs: 20 }
    columns: { part: $partition, off: $offset }
${o.extra ?? ''}`);
}

/** Produces PER_VERSION records of the version, ids from `base`, spread over the partitions. */
async function produceVersion(topic: string, registry: TestRegistry, fields: unknown[], base: number, value: (i: number) => Record<string, unknown>, n = PER_VERSION, partitions = PARTITIONS): Promise<number> {
  const s = schema(fields);
  const id = registry.register(JSON.stringify(s), 'AVRO', `${topic}-value`);
  const type = avro.Type.forSchema(s as avro.Schema);
  await produce(topic, n, (i) => frame(id, type.toBuffer({ id: base + i, ...value(i) })), { partitions });
  return id;
}

const count = async (table: string) => Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM kpe_evolve.${table}`))[0]?.n ?? 0);

test('evolve: a table created from the first writer schema follows three more versions (optional field, widened int and float, field with a default) with 3 engines running: every row once, each DDL once', async () => {
  const registry = new TestRegistry();
  await registry.start();
  const topic = unique('evolve');
  const table = unique('events');
  const group = unique('g');
  await createTopic(topic, PARTITIONS);
  const file = config({ topic, table, group, registry: registry.url });
  const engines = [startEngine(file), startEngine(file), startEngine(file)];
  try {
    const rows = (n: number) => engines[0].waitFor(`${n} rows`, async () => ((await sql(`SELECT to_regclass('kpe_evolve.${table}') AS t`))[0].t !== null && (await count(table)) >= n) || null, 90_000);
    await produceVersion(topic, registry, V1, 0, (i) => ({ qty: i, price: i + 0.5 }));
    await rows(PER_VERSION);
    await produceVersion(topic, registry, V2, 1000, (i) => ({ qty: i, price: i + 0.5, note: i % 2 === 0 ? `n-${i}` : null }));
    await rows(2 * PER_VERSION);
    await produceVersion(topic, registry, V3, 2000, (i) => ({ qty: 2 ** 40 + i, price: 1e300 * i, note: null }));
    await rows(3 * PER_VERSION);
    await produceVersion(topic, registry, V4, 3000, (i) => ({ qty: i, price: 0.1, note: 'v4', channel: `c-${i}` }));
    await rows(4 * PER_VERSION);

    const columns = await sql<{ c: string }>(
      `SELECT column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END || COALESCE(' default ' || column_default, '') AS c
         FROM information_schema.columns WHERE table_schema = 'kpe_evolve' AND table_name = $1 ORDER BY ordinal_position`, [table]);
    assert.deepEqual(columns.map((r) => r.c), ['id bigint not null', 'qty bigint not null', 'price double precision not null', 'part integer not null', 'off bigint not null', 'note text', 'channel text']);
    const got = await sql<{ id: string; qty: string; price: number; note: string | null; channel: string | null }>(`SELECT id, qty, price, note, channel FROM kpe_evolve.${table} ORDER BY id`);
    const expected = [
      ...Array.from({ length: PER_VERSION }, (_, i) => ({ id: String(i), qty: String(i), price: i + 0.5, note: null, channel: 'web' })),
      ...Array.from({ length: PER_VERSION }, (_, i) => ({ id: String(1000 + i), qty: String(i), price: i + 0.5, note: i % 2 === 0 ? `n-${i}` : null, channel: 'web' })),
      ...Array.from({ length: PER_VERSION }, (_, i) => ({ id: String(2000 + i), qty: String(2 ** 40 + i), price: 1e300 * i, note: null, channel: 'web' })),
      ...Array.from({ length: PER_VERSION }, (_, i) => ({ id: String(3000 + i), qty: String(i), price: 0.1, note: 'v4', channel: `c-${i}` })),
    ];
    assert.deepEqual(got, expected);
    const [{ n }] = await sql<{ n: string }>(`SELECT count(DISTINCT (part, off)) AS n FROM kpe_evolve.${table}`);
    assert.equal(Number(n), 4 * PER_VERSION);
  } finally {
    await Promise.all(engines.map((e) => e.stop()));
    await registry.stop();
  }
  const logs = engines.map((e) => e.log()).join('\n');
  if (process.env.SHOW_LOGS) console.log(logs);
  assert.equal(logs.match(/created table kpe_evolve\./g)?.length, 1, logs);
  const altered = [...logs.matchAll(/altered table kpe_evolve\.\S+ for schema id (\d+):\n((?:ALTER[^\n]*\n?)+)/g)].map((m) => `${m[1]}: ${m[2].trim().split('\n').length}`);
  assert.deepEqual(altered.sort(), ['2: 1', '3: 2', '4: 2'], logs);
});

test('evolve: a COPY refused because another engine altered the table (int → bigint) starts this engine again with the new type; every row lands once', async () => {
  const registry = new TestRegistry();
  await registry.start();
  const topic = unique('evolve_under');
  const table = unique('under');
  await createTopic(topic, 1);
  const engine = startEngine(config({ topic, table, group: unique('g'), registry: registry.url }));
  try {
    const id = await produceVersion(topic, registry, V1, 0, (i) => ({ qty: i, price: 1 }), 10, 1);
    await engine.waitFor('10 rows', async () => ((await sql(`SELECT to_regclass('kpe_evolve.${table}') AS t`))[0].t !== null && (await count(table)) >= 10) || null, 60_000);
    // What an engine of the group does for a newer version (this one has not met it): the running plan still writes int4.
    await sql(`ALTER TABLE kpe_evolve.${table} ALTER COLUMN qty TYPE bigint`);
    const type = avro.Type.forSchema(schema(V1) as avro.Schema);
    await produce(topic, 10, (i) => frame(id, type.toBuffer({ id: 10 + i, qty: 10 + i, price: 1 })), { partitions: 1 });
    await engine.waitFor('20 rows', async () => ((await count(table)) >= 20) || null, 60_000);
    assert.match(engine.log(), /another engine of the group altered its table for a newer schema: starting again/);
    const rows = await sql<{ id: string; qty: string }>(`SELECT id, qty FROM kpe_evolve.${table} ORDER BY id`);
    assert.deepEqual(rows, Array.from({ length: 20 }, (_, i) => ({ id: String(i), qty: String(i) })));
  } finally {
    await engine.stop();
    await registry.stop();
  }
});

const INCOMPATIBLE = [{ name: 'id', type: 'long' }, { name: 'qty', type: 'string' }, { name: 'price', type: 'float' }];

/** A 1-partition topic: 10 records of V1 (offsets 0–9), 5 of a version that changes qty to a string (10–14), 5 of V1 again (15–19). */
async function withIncompatibleVersion(prefix: string, check: (o: { topic: string; table: string; registry: TestRegistry }) => Promise<void>): Promise<void> {
  const registry = new TestRegistry();
  await registry.start();
  const topic = unique(prefix);
  await createTopic(topic, 1);
  try {
    const good = await produceVersion(topic, registry, V1, 0, (i) => ({ qty: i, price: 1 }), 10, 1);
    await produceVersion(topic, registry, INCOMPATIBLE, 10, (i) => ({ qty: `q${i}`, price: 1 }), 5, 1);
    const type = avro.Type.forSchema(schema(V1) as avro.Schema);
    await produce(topic, 5, (i) => frame(good, type.toBuffer({ id: 15 + i, qty: i, price: 1 })), { partitions: 1 });
    await check({ topic, table: unique(prefix), registry });
  } finally {
    await registry.stop();
  }
}

const ids = async (table: string) => (await sql<{ id: string }>(`SELECT id FROM kpe_evolve.${table} ORDER BY id`)).map((r) => Number(r.id));

test('evolve: a version the table cannot take without losing data stops the pipeline with the DDL it would need; nothing past the last good record is committed', async () => {
  await withIncompatibleVersion('evolve_bad', async ({ topic, table, registry }) => {
    const group = unique('g');
    const run = await runCli(['start', config({ topic, table, group, registry: registry.url }), '--until-caught-up'], { timeoutMs: 60_000 });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`ENG_SCHEMA_EVOLUTION: pipeline events: record ${topic}\\[0\\]@10: schema id 2 does not fit table kpe_evolve\\.${table} without losing data`));
    assert.match(run.stderr, /it would need: ALTER TABLE "kpe_evolve"\."[^"]+" ALTER COLUMN "qty" TYPE text USING "qty"::text/);
    const [position] = await storedPositions('kafka_pg_engine.offsets', group, topic, 1);
    assert.ok(position <= 10, `position ${position} is past the last good record`);
    assert.deepEqual(await ids(table), Array.from({ length: position }, (_, i) => i));
  });
});

test('evolve: with a dead-letter topic, the records of a version the table cannot take are dead-lettered (ENG_SCHEMA_EVOLUTION) and the others land', async () => {
  await withIncompatibleVersion('evolve_dlq', async ({ topic, table, registry }) => {
    const dlq = unique('evolve_dlq_dead');
    const file = config({ topic, table, group: unique('g'), registry: registry.url, extra: `    deadLetter: { topic: ${dlq} }\n` });
    const run = await runCli(['start', file, '--until-caught-up'], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await ids(table), [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 5 }, (_, i) => 15 + i)]);
    const dead = await readTopic(dlq, 5);
    assert.deepEqual(dead.map((m) => header(m, DLQ_HEADERS.code)), Array(5).fill('ENG_SCHEMA_EVOLUTION'));
    assert.deepEqual(dead.map((m) => header(m, DLQ_HEADERS.offset)), ['10', '11', '12', '13', '14']);
  });
});

test('engine validate --print-ddl: what evolve would create, alter or refuse for the latest schema of each topic, without Kafka', async () => {
  await withIncompatibleVersion('evolve_ddl', async ({ topic, table, registry }) => {
    // Kafka is named but never reached: validate reads only the registry and PostgreSQL.
    const file = config({ topic, table, group: unique('g'), registry: registry.url }).replace(BROKERS, '127.0.0.1:1');
    const print = async () => {
      const run = await runCli(['validate', file, '--print-ddl'], { timeoutMs: 30_000 });
      assert.equal(run.code, 0, run.stderr);
      return run.stdout;
    };
    // Latest of the subject: the incompatible version (id 2); the table is missing, so create: would make it from that.
    assert.match(await print(), new RegExp(`-- pipeline events: kpe_evolve\\.${table} is missing; for schema id 2 \\(subject ${topic}-value, version 2\\) the engine would run\\nCREATE SCHEMA IF NOT EXISTS "kpe_evolve";\\nCREATE TABLE IF NOT EXISTS "kpe_evolve"\\."${table}" \\(\\n  "id" bigint NOT NULL,\\n  "qty" text NOT NULL,`));
    await sql(`CREATE TABLE kpe_evolve.${table} (id bigint NOT NULL, qty int NOT NULL, price real NOT NULL, part int NOT NULL, off bigint NOT NULL)`);
    assert.match(await print(), /for schema id 2 \(subject \S+, version 2\) is refused \(its records would fail with ENG_SCHEMA_EVOLUTION\):\n-- {3}field "qty" is text now .* it would need: ALTER TABLE "kpe_evolve"\."[^"]+" ALTER COLUMN "qty" TYPE text USING "qty"::text/);
    registry.register(JSON.stringify(schema(V4)), 'AVRO', `${topic}-value`);
    const t = `"kpe_evolve"."${table}"`;
    assert.ok((await print()).includes(`for schema id 3 (subject ${topic}-value, version 3) the engine would run
ALTER TABLE ${t} ALTER COLUMN "qty" TYPE bigint;
ALTER TABLE ${t} ALTER COLUMN "price" TYPE double precision;
ALTER TABLE ${t} ADD COLUMN "note" text;
ALTER TABLE ${t} ADD COLUMN "channel" text DEFAULT 'web';
ALTER TABLE ${t} ALTER COLUMN "channel" DROP DEFAULT;`));
    assert.deepEqual((await sql(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'kpe_evolve' AND table_name = $1`, [table])).length, 5, 'validate altered nothing');
  });
});

test('evolve with Protobuf: a table created from the first writer message gains a field and widens int32 → int64 for the next version', async () => {
  const registry = new TestRegistry();
  await registry.start();
  const topic = unique('evolve_proto');
  const table = unique('proto');
  await createTopic(topic, 1);
  try {
    const versions = [
      'syntax = "proto3"; package kpe; message E { int64 id = 1; int32 qty = 2; }',
      'syntax = "proto3"; package kpe; message E { int64 id = 1; int64 qty = 2; string note = 3; }',
    ];
    for (const [v, text] of versions.entries()) {
      const id = registry.register(text, 'PROTOBUF', `${topic}-value`);
      const E = protobuf.parse(text, { keepCase: true }).root.lookupType('kpe.E');
      const value = (i: number) => (v === 0 ? { id: i, qty: i + 1 } : { id: 10 + i, qty: String(2 ** 40 + i), note: `n${i}` });
      await produce(topic, 5, (i) => frame(id, Buffer.from(E.encode(E.fromObject(value(i))).finish()), [0]), { partitions: 1 });
    }
    const file = config({ topic, table, group: unique('g'), registry: registry.url, format: 'protobuf\n    messageType: kpe.E' });
    const run = await runCli(['start', file, '--until-caught-up'], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /altered table kpe_evolve\.\S+ for schema id 2:\nALTER TABLE "kpe_evolve"\."[^"]+" ALTER COLUMN "qty" TYPE bigint;\nALTER TABLE "kpe_evolve"\."[^"]+" ADD COLUMN "note" text/);
    const rows = await sql<{ id: string; qty: string; note: string | null }>(`SELECT id, qty, note FROM kpe_evolve.${table} ORDER BY id`);
    assert.deepEqual(rows, [
      ...Array.from({ length: 5 }, (_, i) => ({ id: String(i), qty: String(i + 1), note: null })),
      ...Array.from({ length: 5 }, (_, i) => ({ id: String(10 + i), qty: String(2 ** 40 + i), note: `n${i}` })),
    ]);
  } finally {
    await registry.stop();
  }
});
