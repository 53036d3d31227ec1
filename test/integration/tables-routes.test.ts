import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { DLQ_HEADERS } from '../../src/deadletter/records';
import { BROKERS, DATABASE_URL, endOffsets, runCli, sql, unique, writeConfig } from '../helpers/env';
import { header, readTopic } from '../helpers/kafka';
import { storedPositions } from '../helpers/offsets';

/**
 * [Tables] routes: one topic to several tables, each with its own columns, chosen per record by a header
 * or a field; batches per table, positions per partition (docs/tables.md).
 */

const PARTITIONS = 2;

function config(o: { topic: string; group: string; routes: string; extra?: string }): string {
  return writeConfig(`kafka: { brokers: "${BROKERS}", groupId: ${o.group} }
postgres: { url: "${DATABASE_URL}", connections: 2 }
engine: { workers: 2, ringBytes: 4MiB }
pipelines:
  - name: events
    topics: [${o.topic}]
    format: json
    batch: { maxRows: 100, maxWaitMs: 20 }
    routes:
${o.routes}
${o.extra ?? ''}`);
}

test('routes by a header: one topic into three tables with their own columns (the default takes the other values and the records without the header); every row once, positions at the end', async () => {
  const topic = unique('routes');
  const [clicks, views, other] = [unique('clicks'), unique('views'), unique('other')];
  await sql(`CREATE TABLE ${clicks} (id int PRIMARY KEY, x text NOT NULL, part int NOT NULL, off bigint NOT NULL)`);
  await sql(`CREATE TABLE ${views} (id int PRIMARY KEY, y double precision, kind text NOT NULL)`);
  await sql(`CREATE TABLE ${other} (id int PRIMARY KEY, kind text, raw jsonb)`);
  await createTopic(topic, PARTITIONS);
  const N = 600;
  const kind = (i: number) => ['click', 'view', 'buy', null][i % 4];
  await produce(topic, N, (i) => Buffer.from(JSON.stringify({ id: i, x: `x${i}`, y: i / 2, raw: { i } })), {
    partitions: PARTITIONS,
    headers: (i) => (kind(i) === null ? [] : [{ type: kind(i)! }]),
  });
  const group = unique('g');
  const run = await runCli(['start', config({
    topic, group,
    routes: `      by: $header.type\n      tables: { click: ${clicks}, view: ${views} }\n      default: ${other}`,
    extra: `    columns: { part: $partition, off: $offset, kind: $header.type }\n`,
  }), '--until-caught-up'], { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  const ids = (rows: Array<{ id: number }>) => rows.map((r) => r.id);
  const wanted = (k: string | null) => Array.from({ length: N }, (_, i) => i).filter((i) => (k === 'other' ? kind(i) !== 'click' && kind(i) !== 'view' : kind(i) === k));
  const c = await sql<{ id: number; x: string; part: number; off: string }>(`SELECT id, x, part, off FROM ${clicks} ORDER BY id`);
  assert.deepEqual(ids(c), wanted('click'));
  assert.ok(c.every((r) => r.x === `x${r.id}`));
  const v = await sql<{ id: number; y: number; kind: string }>(`SELECT id, y, kind FROM ${views} ORDER BY id`);
  assert.deepEqual(v, wanted('view').map((i) => ({ id: i, y: i / 2, kind: 'view' })));
  const o = await sql<{ id: number; kind: string | null; raw: unknown }>(`SELECT id, kind, raw FROM ${other} ORDER BY id`);
  assert.deepEqual(o, wanted('other').map((i) => ({ id: i, kind: kind(i), raw: { i } })));
  // Each click row's (partition, offset) is its own, and the positions stored are the topic's end.
  const [{ n }] = await sql<{ n: string }>(`SELECT count(DISTINCT (part, off)) AS n FROM ${clicks}`);
  assert.equal(Number(n), c.length);
  assert.deepEqual(await storedPositions('kafka_pg_engine.offsets', group, topic, PARTITIONS), await endOffsets(topic, PARTITIONS));
});

test('routes by a field: a value with no table and no default is a record error (ENG_RECORD_ROUTE, dead-lettered) naming the field and value; the others land', async () => {
  const topic = unique('routes_field');
  const dlq = unique('routes_dlq');
  const [a, b] = [unique('route_a'), unique('route_b')];
  await sql(`CREATE TABLE ${a} (id int, kind text)`);
  await sql(`CREATE TABLE ${b} (id int, n int)`);
  await createTopic(topic, 1);
  const kind = (i: number) => ['a', 'b', 'zzz', 7][i % 4];
  await produce(topic, 40, (i) => Buffer.from(JSON.stringify({ id: i, kind: kind(i), n: i })), { partitions: 1 });
  const run = await runCli(['start', config({
    topic, group: unique('g'),
    routes: `      by: kind\n      tables: { a: ${a}, b: ${b} }`,
    extra: `    deadLetter: { topic: ${dlq} }\n`,
  }), '--until-caught-up'], { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual((await sql<{ id: number }>(`SELECT id FROM ${a} ORDER BY id`)).map((r) => r.id), Array.from({ length: 10 }, (_, i) => 4 * i));
  assert.deepEqual((await sql<{ id: number; n: number }>(`SELECT id, n FROM ${b} ORDER BY id`)), Array.from({ length: 10 }, (_, i) => ({ id: 4 * i + 1, n: 4 * i + 1 })));
  const dead = await readTopic(dlq, 20);
  assert.equal(dead.length, 20);
  assert.deepEqual(dead.map((m) => header(m, DLQ_HEADERS.code)), Array(20).fill('ENG_RECORD_ROUTE'));
  assert.match(header(dead[0], DLQ_HEADERS.message) ?? '', /routes\.by kind: the record has value "zzz", which routes\.tables does not name \("a", "b"\), and routes has no default/);
  assert.match(header(dead[1], DLQ_HEADERS.message) ?? '', /the record has value "7"/);
});
