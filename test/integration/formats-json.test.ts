import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from '../helpers/env';
import { runPipeline } from '../helpers/pipeline';

test('JSON records: columns by name, nested JSON, arrays, NULLs, unicode', async () => {
  const values = [
    { id: 1, name: 'Ünïcødé ✓', price: '12.50', at: '2026-11-22T10:00:00.5Z', doc: { a: [1, { b: null }] }, tags: ['x', 'y'], ok: true, ref: 'd3b07384-d9a0-4c9f-8a3e-1b2c3d4e5f60' },
    { id: 2, name: null, doc: [], tags: [] },
  ].map((v) => Buffer.from(JSON.stringify(v)));
  const { table, run } = await runPipeline({
    format: 'json',
    tableColumns: 'id bigint NOT NULL, name text, price numeric(10,2), at timestamptz, doc jsonb, tags text[], ok boolean, ref uuid, created timestamptz DEFAULT now()',
    values,
  });
  assert.equal(run.code, 0, run.stderr);
  const rows = await sql(`SELECT id::text, name, price::text, extract(epoch from at)::text AS at, doc, tags, ok, ref::text, created IS NOT NULL AS defaulted FROM ${table} ORDER BY id`);
  assert.deepEqual(rows, [
    { id: '1', name: 'Ünïcødé ✓', price: '12.50', at: '1795341600.500000', doc: { a: [1, { b: null }] }, tags: ['x', 'y'], ok: true, ref: 'd3b07384-d9a0-4c9f-8a3e-1b2c3d4e5f60', defaulted: true },
    { id: '2', name: null, price: null, at: null, doc: [], tags: [], ok: null, ref: null, defaulted: true },
  ]);
});

test('a value that does not fit its column fails only that record, naming topic, partition, offset and column', async () => {
  const values = [
    { id: 1, ref: 'd3b07384-d9a0-4c9f-8a3e-1b2c3d4e5f60', n: 1 },
    { id: 2, ref: 'not-a-uuid', n: 1 },
    { id: 3, ref: null, n: 70000 },
    { id: 4, n: 1, d: '2026-02-30' },
    { n: 1 },
    { id: 6, n: 2 },
  ].map((v) => Buffer.from(JSON.stringify(v)));
  const { table, run } = await runPipeline({
    format: 'json',
    tableColumns: 'id bigint NOT NULL, ref uuid, n smallint, d date',
    extra: '    onRecordError: skip',
    values,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /\[0\]@1: column "ref" \(uuid\) from field "ref": expected a uuid, got "not-a-uuid" \(skipped\)/);
  assert.match(run.stderr, /\[0\]@2: column "n" \(int2\) from field "n": number 70000 is out of range -32768\.\.32767 \(skipped\)/);
  assert.match(run.stderr, /\[0\]@3: column "d" \(date\) from field "d": expected a date, got "2026-02-30" \(skipped\)/);
  assert.match(run.stderr, /\[0\]@4: column "id" is NOT NULL but the record has no value for field "id" \(skipped\)/);
  assert.deepEqual(await sql(`SELECT id::text FROM ${table} ORDER BY id`), [{ id: '1' }, { id: '6' }]);
});
