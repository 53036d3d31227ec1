import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAvro } from '../../src/decode/avro';
import { DLQ_HEADERS } from '../../src/deadletter/records';
import { BROKERS, DATABASE_URL, runCli, sql, unique, whenRows, writeConfig } from '../helpers/env';
import { header, readTopic } from '../helpers/kafka';
import { frame, TestRegistry } from '../helpers/registry';

const EVENTS = 200_000;
const KEYS = 20_000;
const PARTITIONS = 6;

/** One event of the keyed topic: an upsert of `id` to version `v`, or a delete of `id`. */
interface Change {
  id: number;
  v: number;
  del: boolean;
}

/** Deterministic interleaved inserts, updates, deletes and re-inserts over KEYS keys (xorshift PRNG). */
function changes(): Change[] {
  let s = 0x2545f491;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const out: Change[] = [];
  const live = new Set<number>();
  for (let v = 0; v < EVENTS; v++) {
    const id = Math.floor(rand() * KEYS);
    const del = live.has(id) && rand() < 0.15;
    if (del) live.delete(id);
    else live.add(id);
    out.push({ id, v, del });
  }
  return out;
}

/** The table a topic must leave behind: per key its last change in Kafka order (one partition per key). */
function model(events: Change[]): Map<number, number> {
  const rows = new Map<number, number>();
  for (const e of events) {
    if (e.del) rows.delete(e.id);
    else rows.set(e.id, e.v);
  }
  return rows;
}

const row = (e: Change) => ({ id: e.id, name: `name-${e.v}`, amount: e.v * 0.5, version: e.v });

async function tableState(table: string): Promise<Map<number, number>> {
  const rows = await sql<{ id: string; version: string; name: string; amount: number }>(`SELECT id, version, name, amount FROM ${table}`);
  const out = new Map<number, number>();
  for (const r of rows) {
    assert.equal(r.name, `name-${r.version}`, `row ${r.id}: name and version come from one record`);
    assert.equal(r.amount, Number(r.version) * 0.5, `row ${r.id}: amount and version come from one record`);
    out.set(Number(r.id), Number(r.version));
  }
  return out;
}

function assertSameState(actual: Map<number, number>, expected: Map<number, number>, what: string): void {
  assert.equal(actual.size, expected.size, `${what}: ${actual.size} rows, the model has ${expected.size}`);
  let wrong = 0;
  let sample = '';
  for (const [id, v] of expected) {
    if (actual.get(id) !== v) {
      wrong++;
      sample ||= `id ${id}: table has version ${actual.get(id)}, model ${v}`;
    }
  }
  assert.equal(wrong, 0, `${what}: ${wrong} keys differ from the model (${sample})`);
}

async function createTable(table: string): Promise<void> {
  await sql(`DROP TABLE IF EXISTS ${table}`);
  await sql(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, amount double precision, version bigint NOT NULL)`);
}

function config(o: { topic: string; table: string; group: string; mode: string }): string {
  return writeConfig(`kafka:
  brokers: ${BROKERS}
  groupId: ${o.group}
  # The restart after a SIGKILL gets the partitions once the killed member's session times out.
  config: { session.timeout.ms: 6000, heartbeat.interval.ms: 500 }
postgres:
  url: ${DATABASE_URL}
  connections: 2
engine:
  workers: 2
  pollBatch: 500
pipelines:
  - name: changes
    topics: [${o.topic}]
    table: ${o.table}
${o.mode.includes('format:') ? o.mode : `    format: json\n${o.mode}`}
    batch: { maxRows: 2000, maxWaitMs: 20 }
`);
}

/** Runs the engine over the topic twice: once straight through, once killed (SIGKILL) in the middle and restarted. */
async function runBoth(prefix: string, topic: string, mode: string, expected: Map<number, number>): Promise<void> {
  const plain = { topic, table: unique(prefix), group: unique(prefix), mode };
  await createTable(plain.table);
  const run = await runCli(['start', config(plain), '--until-caught-up'], { timeoutMs: 180_000 });
  assert.equal(run.code, 0, run.stderr);
  assertSameState(await tableState(plain.table), expected, `${prefix}, straight through`);

  const killed = { topic, table: unique(prefix), group: unique(prefix), mode };
  await createTable(killed.table);
  const file = config(killed);
  const kill = whenRows(killed.table, 8_000, (child) => child.kill('SIGKILL'));
  const first = await runCli(['start', file], { during: kill.during, timeoutMs: 180_000 });
  assert.equal(first.signal, 'SIGKILL', first.stderr);
  const rest = await runCli(['start', file, '--until-caught-up'], { timeoutMs: 180_000 });
  assert.equal(rest.code, 0, rest.stderr);
  assertSameState(await tableState(killed.table), expected, `${prefix}, killed and restarted`);
  await sql(`DROP TABLE ${plain.table}`);
  await sql(`DROP TABLE ${killed.table}`);
}

test('upsert: 200,000 inserts, updates, deletes (tombstones) and re-inserts over 20,000 keys: the table equals the model, also after a SIGKILL', async () => {
  const events = changes();
  const topic = unique('upsert');
  await createTopic(topic, PARTITIONS);
  await produce(topic, EVENTS, (i) => (events[i].del ? null : Buffer.from(JSON.stringify(row(events[i])))), {
    partitions: PARTITIONS,
    key: (i) => Buffer.from(String(events[i].id)),
    partition: (i) => events[i].id % PARTITIONS,
  });
  await runBoth('upsert', topic, '    mode: upsert\n    key: [id]\n    deleteOnTombstone: true', model(events));
  await deleteTopic(topic);
});

test('cdc: 200,000 Debezium change events (JSON with the Connect envelope, c/r/u/d and tombstones): the table equals the model, also after a SIGKILL', async () => {
  const events = changes();
  const last = new Map<number, Change>();
  const before: Array<Change | null> = events.map((e) => {
    const b = last.get(e.id) ?? null;
    if (e.del) last.delete(e.id);
    else last.set(e.id, e);
    return b;
  });
  const envelope = (payload: unknown) => Buffer.from(JSON.stringify({ schema: { type: 'struct', name: 'test.Envelope' }, payload }));
  // Every delete is followed by Debezium's tombstone for its key (skipped: deleteOnTombstone is off).
  const stream: Array<{ e: Change; tombstone: boolean }> = [];
  for (const e of events) {
    stream.push({ e, tombstone: false });
    if (e.del) stream.push({ e, tombstone: true });
  }
  const topic = unique('cdc');
  await createTopic(topic, PARTITIONS);
  await produce(
    topic,
    stream.length,
    (i) => {
      const { e, tombstone } = stream[i];
      if (tombstone) return null;
      const b = before[e.v];
      // Half the deletes carry their before image, half only the key (before: null).
      if (e.del) return envelope({ before: e.v % 2 === 0 && b ? row(b) : null, after: null, op: 'd', ts_ms: e.v });
      const op = b === null ? (e.v % 7 === 0 ? 'r' : 'c') : 'u';
      return envelope({ before: b ? row(b) : null, after: row(e), op, ts_ms: e.v });
    },
    {
      partitions: PARTITIONS,
      key: (i) => Buffer.from(JSON.stringify({ schema: { type: 'struct' }, payload: { id: stream[i].e.id } })),
      partition: (i) => stream[i].e.id % PARTITIONS,
    },
  );
  await runBoth('cdc', topic, '    mode: cdc\n    key: [id]', model(events));
  await deleteTopic(topic);
});

test('upsert: a key that is not the primary key or a unique constraint is refused before anything is consumed', async () => {
  const table = unique('upsert_key');
  await createTable(table);
  const run = await runCli(['start', config({ topic: unique('none'), table, group: unique('g'), mode: '    mode: upsert\n    key: [name]' })]);
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stderr, /pipelines\[0\]\.key: \(name\) is not the primary key or a unique constraint of .* \(its keys: \(id\)\)/);
  await sql(`DROP TABLE ${table}`);
});

test('cdc: rows the server refuses at the merge (a CHECK) and a truncate event are dead-lettered; everything else merges', async () => {
  const topic = unique('cdc_dlq');
  const table = unique('cdc_dlq');
  await createTopic(topic, 2);
  await createTable(table);
  await sql(`ALTER TABLE ${table} ADD CHECK (amount >= 0)`);
  // 3,000 changes over 300 keys, a truncate in the middle, then a last update of 10 keys that the CHECK refuses.
  const events: Array<{ id: number; v: number; op: string; amount: number }> = [];
  for (let v = 0; v < 3_000; v++) events.push({ id: v % 300, v, op: v < 300 ? 'c' : 'u', amount: v * 0.5 });
  events.splice(1_500, 0, { id: 0, v: -1, op: 't', amount: 0 });
  const poisoned = [3, 17, 42, 99, 123, 150, 201, 250, 277, 299];
  for (const id of poisoned) events.push({ id, v: 10_000 + id, op: 'u', amount: -1 });
  await produce(
    topic,
    events.length,
    (i) => {
      const e = events[i];
      const after = e.op === 't' ? null : { id: e.id, name: `name-${e.v}`, amount: e.amount, version: e.v };
      return Buffer.from(JSON.stringify({ schema: { type: 'struct' }, payload: { before: null, after, op: e.op } }));
    },
    { partitions: 2, key: (i) => Buffer.from(String(events[i].id)), partition: (i) => events[i].id % 2 },
  );
  const file = writeConfig(`kafka: { brokers: "${BROKERS}", groupId: ${unique('g')} }
postgres: { url: "${DATABASE_URL}", connections: 2 }
pipelines:
  - name: changes
    topics: [${topic}]
    format: json
    table: ${table}
    mode: cdc
    key: [id]
    deadLetter: { topic: ${topic}.dlq }
    batch: { maxRows: 500, maxWaitMs: 20 }
`);
  const run = await runCli(['start', file, '--until-caught-up'], { timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  const expected = new Map<number, number>();
  for (const e of events) if (e.op !== 't' && e.amount >= 0) expected.set(e.id, e.v);
  assertSameState(await tableState(table), expected, 'cdc with refused rows');
  const letters = await readTopic(`${topic}.dlq`, poisoned.length + 1);
  const codes = letters.map((m) => `${header(m, DLQ_HEADERS.code)} ${header(m, DLQ_HEADERS.sqlstate) ?? ''}`.trim()).sort();
  assert.deepEqual(codes, ['ENG_CDC_TRUNCATE', ...poisoned.map(() => 'ENG_PG_REJECTED 23514')].sort());
  const refusedIds = letters.filter((m) => header(m, DLQ_HEADERS.code) === 'ENG_PG_REJECTED').map((m) => Number(m.key!.toString())).sort((a, b) => a - b);
  assert.deepEqual(refusedIds, poisoned);
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
  await deleteTopic(`${topic}.dlq`);
});

test('upsert: updateColumns changes only the listed columns; onlyIfNewer keeps a row whose version is newer than the record', async () => {
  const topic = unique('upsert_guard');
  const table = unique('upsert_guard');
  await createTopic(topic, 1);
  await createTable(table);
  const file = writeConfig(`kafka: { brokers: "${BROKERS}", groupId: ${unique('g')} }
postgres: { url: "${DATABASE_URL}", connections: 1 }
pipelines:
  - name: guarded
    topics: [${topic}]
    format: json
    table: ${table}
    mode: upsert
    key: [id]
    updateColumns: [name, version]
    onlyIfNewer: version
`);
  // Per key, one run each (so each is its own batch): version 10, then an older 5 (not applied), then 20.
  for (const v of [10, 5, 20]) {
    await produce(topic, 3, (id) => Buffer.from(JSON.stringify({ id, name: `name-${v}`, amount: v, version: v })), { partitions: 1 });
    const run = await runCli(['start', file, '--until-caught-up'], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
  }
  const rows = await sql<{ id: string; name: string; amount: number; version: string }>(`SELECT id, name, amount, version FROM ${table} ORDER BY id`);
  assert.deepEqual(
    rows.map((r) => [Number(r.id), r.name, r.amount, Number(r.version)]),
    [0, 1, 2].map((id) => [id, 'name-20', 10, 20]),
    'name and version follow the newest record; amount keeps the first insert (not in updateColumns)',
  );
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});

test('cdc: Debezium change events in Avro (a schema file with the envelope): the table equals the model, also after a SIGKILL', async () => {
  const events = changes();
  const value = { type: 'record', name: 'Value', fields: [{ name: 'id', type: 'long' }, { name: 'name', type: 'string' }, { name: 'amount', type: ['null', 'double'], default: null }, { name: 'version', type: 'long' }] };
  const envelope = {
    type: 'record', name: 'Envelope', namespace: 'test.changes',
    fields: [{ name: 'before', type: ['null', value], default: null }, { name: 'after', type: ['null', 'Value'], default: null }, { name: 'op', type: 'string' }, { name: 'ts_ms', type: ['null', 'long'], default: null }],
  };
  const schemaFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cdc-avro-')), 'envelope.avsc');
  writeFileSync(schemaFile, JSON.stringify(envelope));
  const type = parseAvro(JSON.stringify(envelope), 'envelope');
  const last = new Map<number, Change>();
  const topic = unique('cdc_avro');
  await createTopic(topic, PARTITIONS);
  const encoded = events.map((e) => {
    const b = last.get(e.id) ?? null;
    if (e.del) last.delete(e.id);
    else last.set(e.id, e);
    return type.toBuffer({ before: b ? row(b) : null, after: e.del ? null : row(e), op: e.del ? 'd' : b ? 'u' : 'c', ts_ms: e.v });
  });
  await produce(topic, EVENTS, (i) => encoded[i], { partitions: PARTITIONS, key: (i) => Buffer.from(String(events[i].id)), partition: (i) => events[i].id % PARTITIONS });
  await runBoth('cdc_avro', topic, `    format: avro\n    schema: ${schemaFile}\n    mode: cdc\n    key: [id]`, model(events));
  await deleteTopic(topic);
});

test('upsert with a registry: Avro values and Avro keys (what Confluent\'s and Debezium\'s converters write); tombstones delete by the decoded key', async () => {
  const registry = new TestRegistry();
  await registry.start();
  try {
    const valueType = parseAvro(JSON.stringify({ type: 'record', name: 'Row', fields: [
      { name: 'id', type: 'long' }, { name: 'name', type: 'string' }, { name: 'amount', type: 'double' }, { name: 'version', type: 'long' },
    ] }), 'value');
    const keyType = parseAvro(JSON.stringify({ type: 'record', name: 'Key', fields: [{ name: 'id', type: 'long' }] }), 'key');
    const valueId = registry.register(JSON.stringify(valueType.schema()));
    const keyId = registry.register(JSON.stringify(keyType.schema()));
    const events = changes().slice(0, 20_000);
    const topic = unique('upsert_avro_keys');
    await createTopic(topic, PARTITIONS);
    await produce(topic, events.length, (i) => (events[i].del ? null : frame(valueId, valueType.toBuffer(row(events[i])))), {
      partitions: PARTITIONS,
      key: (i) => frame(keyId, keyType.toBuffer({ id: events[i].id })),
      partition: (i) => events[i].id % PARTITIONS,
    });
    const expected = model(events);
    assert.ok(events.some((e) => e.del) && expected.size < new Set(events.map((e) => e.id)).size, 'the topic deletes keys');
    const o = { topic, table: unique('upsert_avro_keys'), group: unique('upsert_avro_keys'), mode: `    format: avro\n    registry: { url: "${registry.url}" }\n    mode: upsert\n    key: [id]\n    deleteOnTombstone: true` };
    await createTable(o.table);
    const run = await runCli(['start', config(o), '--until-caught-up'], { timeoutMs: 180_000 });
    assert.equal(run.code, 0, run.stderr);
    assertSameState(await tableState(o.table), expected, 'Avro keys');
    assert.ok(registry.requests.includes(`GET /schemas/ids/${keyId}`), 'the key schema was fetched');
    await sql(`DROP TABLE ${o.table}`);
    await deleteTopic(topic);
  } finally {
    await registry.stop();
  }
});
