import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { BROKERS, DATABASE_URL, runCli, sql, unique, writeConfig } from '../helpers/env';

/**
 * Names that need quoting all the way through: schema "Sales-EU", table "Order Items", columns "Order ID"
 * and "select" (a reserved word), in insert and upsert mode, with the offsets in "Sales-EU"."Engine Offsets".
 */
test('a table "Order Items" in schema "Sales-EU" with columns "Order ID" and "select": insert and upsert land exactly', { timeout: 180_000 }, async () => {
  const table = `Order Items ${unique('t')}`;
  const qualified = `"Sales-EU"."${table}"`;
  await sql('CREATE SCHEMA IF NOT EXISTS "Sales-EU"');
  await sql(`CREATE TABLE ${qualified} ("Order ID" bigint PRIMARY KEY, "select" text NOT NULL, "Kafka Offset" bigint)`);
  const records = 6000;
  const keys = 1500;
  const topic = unique('idents');
  await createTopic(topic, 3);
  // Key i % keys in partition (i % keys) % 3, so a key's records keep their order; the last one wins.
  await produce(topic, records, (i) => Buffer.from(JSON.stringify({ id: i % keys, choice: `v${i}` })), { partitions: 3, key: (i) => Buffer.from(String(i % keys)), partition: (i) => (i % keys) % 3 });
  const yaml = (mode: string) => `kafka: { brokers: "${BROKERS}", groupId: ${unique('idents')} }
postgres: { url: "${DATABASE_URL}" }
engine: { workers: 1, offsetsTable: '"Sales-EU"."Engine Offsets"' }
pipelines:
  - name: items
    topics: [${topic}]
    format: json
    table: '${qualified}'
    columns: { "Order ID": id, select: choice, "Kafka Offset": $offset }
${mode}`;

  const upsert = await runCli(['start', writeConfig(yaml('    mode: upsert\n    key: ["Order ID"]\n')), '--until-caught-up'], { timeoutMs: 120_000 });
  assert.equal(upsert.code, 0, upsert.stderr);
  const rows = await sql<{ id: string; choice: string }>(`SELECT "Order ID" AS id, "select" AS choice FROM ${qualified} ORDER BY 1`);
  assert.equal(rows.length, keys);
  for (const r of rows) assert.equal(r.choice, `v${records - keys + Number(r.id)}`, `key ${r.id} holds the last record of its key`);
  const stored = await sql<{ n: string }>(`SELECT count(*) AS n FROM "Sales-EU"."Engine Offsets" WHERE topic = $1`, [topic]);
  assert.equal(Number(stored[0].n), 3, 'positions kept in "Sales-EU"."Engine Offsets"');

  await sql(`TRUNCATE ${qualified}`);
  const insertTopic = unique('idents_insert');
  await createTopic(insertTopic, 1);
  await produce(insertTopic, 500, (i) => Buffer.from(JSON.stringify({ id: i, choice: `it's "quoted"; -- ${i}` })), { partitions: 1 });
  const insert = await runCli(['start', writeConfig(yaml('').replace(`[${topic}]`, `[${insertTopic}]`)), '--until-caught-up'], { timeoutMs: 120_000 });
  assert.equal(insert.code, 0, insert.stderr);
  const [{ n, last }] = await sql<{ n: string; last: string }>(`SELECT count(*) AS n, max("select") FILTER (WHERE "Order ID" = 499) AS last FROM ${qualified}`);
  assert.equal(Number(n), 500);
  assert.equal(last, `it's "quoted"; -- 499`);
});

test('a table name that tries to inject SQL is refused before anything connects', { timeout: 60_000 }, async () => {
  const victim = unique('victim');
  await sql(`CREATE TABLE ${victim} (id int)`);
  for (const table of [`public.t; drop table ${victim}`, `t" ; drop table ${victim}; --`, `public.t.${victim}`]) {
    // Nothing listens on these ports: a run that got past the config would fail to connect instead.
    const config = writeConfig(`kafka: { brokers: "127.0.0.1:1", groupId: g }
postgres: { url: "postgres://root@127.0.0.1:1/test" }
pipelines:
  - { name: p, topics: [t], format: json, table: '${table.replace(/'/g, "''")}' }
`);
    const started = Date.now();
    const run = await runCli(['start', config], { timeoutMs: 30_000 });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /ENG_CONFIG_INVALID: .*pipelines\[0\]\.table: ".*" is not a table name/s);
    assert.ok(Date.now() - started < 10_000, 'refused at once');
    assert.doesNotMatch(run.stderr, /cannot connect|ECONNREFUSED/);
  }
  const left = await sql<{ n: string }>(`SELECT count(*) AS n FROM pg_tables WHERE tablename = $1`, [victim]);
  assert.equal(Number(left[0].n), 1, 'the table is still there');
});
