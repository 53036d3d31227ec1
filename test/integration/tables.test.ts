import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder, encodeOrderProto, order, ORDER_PROTO_PATH, ORDER_SCHEMA_PATH, orderType } from '../../bench/lib/orders';
import { startEngine } from '../helpers/engine-process';
import type { PipelineConfig } from '../../src/config/types';
import { createIfMissing, tableExists } from '../../src/sink/create-table';
import { DDL_LOCK } from '../../src/sink/ddl-lock';
import { BROKERS, DATABASE_URL, runCli, sql, unique, until, withPg } from '../helpers/env';
import { runPipeline } from '../helpers/pipeline';
import { frame, TestRegistry } from '../helpers/registry';

/** [Tables] Columns from the record's envelope: $topic and headers ($header.NAME), beside the other metadata. */
test('$topic and $header.NAME columns: text and bytea, the last of repeated headers, NULL when absent; with $partition, $offset, $timestamp, $key', async () => {
  const N = 6;
  // node-rdkafka's producer sends header values as UTF-8 text (it stringifies Buffers), and cuts them at a NUL: these bytes are valid UTF-8 without one.
  const binary = (i: number) => Buffer.from([0x01, 0xc3, 0xa9, 0x7f, 0x30 + i]);
  const { table, run, topic } = await runPipeline({
    format: 'json',
    tableColumns: 'id int, topic text, part int, off bigint, ts timestamptz, k text, trace text, bin bytea, dup text, nothing text',
    extra: '    columns: { topic: $topic, part: $partition, off: $offset, ts: $timestamp, k: $key, trace: $header.trace-id, bin: $header.bin, dup: $header.dup, nothing: $header.nothing }',
    values: Array.from({ length: N }, (_, i) => Buffer.from(JSON.stringify({ id: i }))),
    headers: (i): Array<Record<string, string | Buffer>> => (i % 3 === 2 ? [] : [{ 'trace-id': `t-${i}-é` }, { bin: binary(i) }, { dup: 'first' }, { dup: `last-${i}` }]),
  });
  assert.equal(run.code, 0, run.stderr);
  const rows = await sql(`SELECT id, topic, part, off::int AS off, ts IS NOT NULL AS has_ts, k, trace, encode(bin, 'hex') AS bin, dup, nothing FROM ${table} ORDER BY id`);
  assert.deepEqual(rows, Array.from({ length: N }, (_, i) => {
    const headers = i % 3 !== 2;
    return {
      id: i, topic, part: 0, off: i, has_ts: true, k: String(i), trace: headers ? `t-${i}-é` : null, bin: headers ? binary(i).toString('hex') : null,
      dup: headers ? `last-${i}` : null, nothing: null,
    };
  }));
});

/** The config's kafka, postgres and engine sections, up to `pipelines:`. */
function engineYaml(group: string, kafka = ''): string {
  return `kafka: { brokers: "${BROKERS}", groupId: ${group}${kafka} }
postgres: { url: "${DATABASE_URL}", connections: 1 }
engine: { workers: 1, ringBytes: 8MiB }
pipelines:`;
}

function configFile(text: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-tables-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  writeFileSync(path.join(dir, 'config.yaml'), text);
  return path.join(dir, 'config.yaml');
}

test('create: an Avro pipeline creates its missing table (range partitions by month, metadata columns) and fills it; rows land in their partitions', async () => {
  const topic = unique('tables_avro');
  const table = unique('created');
  await createTopic(topic, 2);
  const now = Date.now();
  // Half the orders are of this month (its partition), half of January 2026 (the DEFAULT partition).
  const orderAt = (i: number) => ({ ...order(i), created_at: i % 2 === 0 ? now - i : order(i).created_at });
  await produce(topic, 40, (i) => orderType.toBuffer(orderAt(i)), { partitions: 2 });
  const config = configFile(`${engineYaml(unique('g'))}
  - name: orders
    topics: [${topic}]
    format: avro
    schema: order.avsc
    table: kpe_created.${table}
    create: { partitionBy: { column: created_at, interval: month } }
    columns: { user_id: user.id, kafka_offset: $offset, kafka_partition: $partition, src: $topic }
`, { 'order.avsc': readFileSync(ORDER_SCHEMA_PATH, 'utf8') });
  const ddl = await runCli(['validate', config, '--print-ddl']);
  assert.equal(ddl.code, 0, ddl.stderr);
  assert.match(ddl.stdout, new RegExp(`CREATE TABLE IF NOT EXISTS "kpe_created"."${table}" \\(\\n  "id" bigint NOT NULL,`));
  assert.match(ddl.stdout, /PARTITION BY RANGE \("created_at"\);/);
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`created table kpe_created.${table}`));
  const columns = await sql(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'kpe_created' AND table_name = $1 ORDER BY ordinal_position`, [table]);
  assert.deepEqual(columns.map((c) => `${c.column_name} ${c.data_type}${c.is_nullable === 'NO' ? ' not null' : ''}`), [
    'id bigint not null', 'user jsonb not null', 'sku text not null', 'amount double precision not null', 'created_at timestamp with time zone not null',
    'tags ARRAY not null', 'attrs jsonb not null', 'user_id bigint', 'kafka_offset bigint not null', 'kafka_partition integer not null', 'src text not null',
  ]);
  const rows = await sql<{ id: string; user_id: string; sku: string; created_ms: string; src: string; part: string }>(
    `SELECT id::text, user_id::text, sku, (extract(epoch FROM created_at) * 1000)::bigint::text AS created_ms, src, tableoid::regclass::text AS part FROM kpe_created.${table} t ORDER BY t.id`,
  );
  const month = new Date(now).toISOString().slice(0, 7).replace('-', '_');
  assert.deepEqual(rows, Array.from({ length: 40 }, (_, i) => ({
    id: String(i), user_id: String(order(i).user.id), sku: order(i).sku, created_ms: String(orderAt(i).created_at), src: topic,
    part: `kpe_created.${table}_${i % 2 === 0 ? `p${month}` : 'default'}`,
  })));
});

test('create with upsert: three engines start together on a missing partitioned Protobuf table; it is created once, and the merge lands each key once', async () => {
  const topic = unique('tables_proto');
  const table = unique('created_up');
  await createTopic(topic, 3);
  await produce(topic, 30, (i) => encodeOrderProto(i % 10), { partitions: 3 });
  const config = (group: string) => configFile(`${engineYaml(group)}
  - name: orders
    topics: [${topic}]
    format: protobuf
    schema: order.proto
    messageType: shop.Order
    table: ${table}
    mode: upsert
    key: [id, created_at]
    create: { partitionBy: { column: created_at, interval: year } }
    columns: { user_id: user.id, country: user.country }
`, { 'order.proto': readFileSync(ORDER_PROTO_PATH, 'utf8') });
  // Three groups: each engine reads every record, so the merge sees each key three times over.
  const runs = await Promise.all([1, 2, 3].map(() => runCli(['start', config(unique('g')), '--until-caught-up'], { timeoutMs: 90_000 })));
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  assert.equal(runs.filter((r) => /created table/.test(r.stderr)).length, 1, 'exactly one engine created the table');
  const rows = await sql(`SELECT id::int AS id, user_id::int AS user_id, country, sku, tableoid::regclass::text AS part FROM ${table} ORDER BY id`);
  assert.deepEqual(rows, Array.from({ length: 10 }, (_, i) => ({ id: i, user_id: order(i).user.id, country: order(i).user.country, sku: order(i).sku, part: `${table}_p2026` })));
});

test('create: a field with no column type, a partition column that is not a time, a key without the partition column: clear errors naming the pipeline and the field', async () => {
  const withDuration = `syntax = "proto3"; package t; import "google/protobuf/duration.proto";
    message M { int64 id = 1; google.protobuf.Duration took = 2; string name = 3; }`;
  const plain = 'syntax = "proto3"; package t; message M { int64 id = 1; string name = 3; }';
  const config = (proto: string, extra: string) => configFile(`kafka: { brokers: "${BROKERS}", groupId: g }
postgres: { url: "${DATABASE_URL}" }
pipelines:
  - name: p
    topics: [t]
    format: protobuf
    schema: m.proto
    messageType: t.M
    table: m
${extra}`, { 'm.proto': proto });
  const duration = await runCli(['validate', config(withDuration, '    create: true\n')]);
  assert.equal(duration.code, 3, duration.stderr);
  assert.match(duration.stderr, /pipelines\[0\]\.create: cannot derive the columns of m: field "took" is a google\.protobuf\.Duration \(interval columns are not written yet\)/);
  const partition = await runCli(['validate', config(plain, '    mode: upsert\n    key: [id]\n    create: { partitionBy: { column: name } }\n')]);
  assert.equal(partition.code, 3, partition.stderr);
  assert.match(partition.stderr, /pipelines\[0\]\.create\.partitionBy\.column: "name" is text; range partitions by month need a timestamptz, timestamp or date column/);
  assert.match(partition.stderr, /pipelines\[0\]\.create\.partitionBy\.column: the key \(id\) must include "name"/);
  const json = await runCli(['validate', configFile(`kafka: { brokers: "${BROKERS}", groupId: g }\npostgres: { url: "${DATABASE_URL}" }\npipelines:\n  - { name: j, topics: [t], format: json, table: j, create: true }\n`)]);
  assert.equal(json.code, 3, json.stderr);
  assert.match(json.stderr, /pipelines\[0\]\.create: format json needs a JSON Schema file \(schema:\) to make the table's columns from/);
});

test('JSON Schema: a json pipeline with a JSON Schema file creates its table from it and reads Confluent\'s JSON Schema wire format', async () => {
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', required: ['id', 'at', 'tags'],
    properties: {
      id: { type: 'integer' }, at: { type: 'string', format: 'date-time' }, day: { type: ['string', 'null'], format: 'date' }, name: { type: 'string' },
      price: { type: 'number' }, ok: { type: 'boolean' }, tags: { type: 'array', items: { type: 'string' } }, detail: { $ref: '#/$defs/Detail' },
      u: { anyOf: [{ type: 'null' }, { type: 'string', format: 'uuid' }] }, kind: { enum: ['a', 'b'] },
    },
    $defs: { Detail: { type: 'object', properties: { city: { type: 'string' } } } },
  };
  const registry = new TestRegistry();
  await registry.start();
  try {
    const id = registry.register(JSON.stringify(schema), 'JSON');
    const records = [
      { id: 1, at: '2026-12-01T10:00:00.123Z', day: '2026-12-01', name: 'één', price: 9.5, ok: true, tags: ['x', 'y'], detail: { city: 'Gent' }, u: '123e4567-e89b-12d3-a456-426614174000', kind: 'a' },
      { id: 2, at: '2026-12-02T00:00:00Z', day: null, tags: [] },
    ];
    const { table, run } = await runPipeline({
      format: 'json', registryUrl: registry.url, schema: { text: JSON.stringify(schema), ext: 'json' }, tableColumns: null,
      extra: '    create: true\n    columns: { city: detail.city }', values: records.map((r) => frame(id, Buffer.from(JSON.stringify(r)))),
    });
    assert.equal(run.code, 0, run.stderr);
    const columns = await sql(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [table]);
    assert.deepEqual(columns.map((c) => `${c.column_name} ${c.data_type}${c.is_nullable === 'NO' ? ' not null' : ''}`), [
      'id bigint not null', 'at timestamp with time zone not null', 'day date', 'name text', 'price double precision', 'ok boolean', 'tags ARRAY not null',
      'detail jsonb', 'u uuid', 'kind text', 'city text',
    ]);
    assert.deepEqual(await sql(`SELECT id::int AS id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS at, day::text AS day, name, price, ok, tags, detail, u::text AS u, kind, city FROM ${table} ORDER BY id`), [
      { id: 1, at: '2026-12-01 10:00:00.123', day: '2026-12-01', name: 'één', price: 9.5, ok: true, tags: ['x', 'y'], detail: { city: 'Gent' }, u: '123e4567-e89b-12d3-a456-426614174000', kind: 'a', city: 'Gent' },
      { id: 2, at: '2026-12-02 00:00:00.000', day: null, name: null, price: null, ok: null, tags: [], detail: null, u: null, kind: null, city: null },
    ]);
  } finally {
    await registry.stop();
  }
});

test('table: kpe_tpl.${topic}: 12 topics matched by a pattern land in 12 created tables, exact rows; a 13th topic created while the engine runs gets its table too', async () => {
  const p = unique('tpl');
  const topics = Array.from({ length: 12 }, (_, i) => `${p}.t-${i}`);
  await Promise.all(topics.map((t) => createTopic(t, 2)));
  await Promise.all(topics.map((t, i) => produce(t, 10 + i, (j) => encodeOrder(i * 1000 + j), { partitions: 2 })));
  const config = configFile(`${engineYaml(unique('g'), ', metadataRefresh: 1s')}
  - name: orders
    topicPattern: '${p.replace(/[._]/g, (c) => `\\${c}`)}\\.t-[0-9]+'
    format: avro
    schema: order.avsc
    table: kpe_tpl.\${topic}
    create: true
    columns: { src: $topic }
    batch: { maxWaitMs: 20 }
`, { 'order.avsc': readFileSync(ORDER_SCHEMA_PATH, 'utf8') });
  const tableOf = (t: string) => `kpe_tpl."${t.replace(/[^A-Za-z0-9_]/g, '_')}"`;
  const ddl = await runCli(['validate', config, '--print-ddl']);
  assert.equal(ddl.code, 0, ddl.stderr);
  assert.match(ddl.stdout, /per topic, when its table kpe_tpl\.\$\{topic\} is missing; for a topic named TOPIC\nCREATE SCHEMA IF NOT EXISTS "kpe_tpl";\nCREATE TABLE IF NOT EXISTS "kpe_tpl"."topic" \(/);
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  for (const [i, t] of topics.entries()) {
    const rows = await sql<{ id: string; src: string }>(`SELECT id::text, src FROM ${tableOf(t)} ORDER BY id`);
    assert.deepEqual(rows, Array.from({ length: 10 + i }, (_, j) => ({ id: String(i * 1000 + j), src: t })), t);
  }
  // A topic created later: the running engine sees it assigned, starts again with its table, and fills it.
  const engine = startEngine(config);
  await engine.waitFor('the engine to run', () => Promise.resolve(/engine started/.test(engine.log()) || null), 60_000);
  const late = `${p}.t-99`;
  await createTopic(late, 1);
  await produce(late, 5, (j) => encodeOrder(99_000 + j), { partitions: 1 });
  await engine.waitFor(`the rows of ${late}`, async () => {
    const found = await sql(`SELECT 1 FROM pg_tables WHERE schemaname = 'kpe_tpl' AND tablename = $1`, [late.replace(/[^A-Za-z0-9_]/g, '_')]);
    return found.length > 0 && Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM ${tableOf(late)}`))[0].n) === 5;
  }, 90_000);
  assert.match(engine.log(), new RegExp(`topic ${late.replace(/\./g, '\\.')} is new and matches the pattern of pipeline orders, whose table is a template: starting again with its table`));
  const exit = await engine.stop();
  assert.equal(exit.code, 0, engine.log());
  assert.deepEqual(await sql(`SELECT id::int AS id, src FROM ${tableOf(late)} ORDER BY id`), Array.from({ length: 5 }, (_, j) => ({ id: 99_000 + j, src: late })));
  for (const [i, t] of topics.entries()) assert.equal(Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM ${tableOf(t)}`))[0].n), 10 + i, `${t} after the restart`);
});

/**
 * [Tables] The race behind "exactly one engine created the table" failing now and then: engine B looks,
 * finds no table and waits for the DDL lock while engine A creates the table and commits. B must then
 * find A's table, not run its own CREATE … IF NOT EXISTS (a no-op) and say it created it.
 */
test('create: an engine that waited for the DDL lock while another created the table finds it (not created twice)', async () => {
  const table = `kpe_created.${unique('raced')}`;
  const p = { tableSql: table } as PipelineConfig;
  const statements = ['CREATE SCHEMA IF NOT EXISTS kpe_created', `CREATE TABLE IF NOT EXISTS ${table} (id int)`];
  await withPg(async (a) => {
    await withPg(async (b) => {
      const [{ pid: bPid }] = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      assert.equal(await tableExists(b, table), false);
      await a.query('BEGIN');
      await a.query('SELECT pg_advisory_xact_lock($1, $2)', [...DDL_LOCK]);
      const bCreates = createIfMissing(b, p, statements);
      await until('engine B waiting for the DDL lock', async () => (await sql(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND NOT granted`, [bPid])).length > 0, 10_000);
      for (const s of statements) await a.query(s);
      await a.query('COMMIT');
      assert.equal(await bCreates, false, 'B found the table A created');
    });
  });
  assert.equal((await sql(`SELECT to_regclass('${table}') IS NOT NULL AS found`))[0].found, true);
});
