import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avroFieldInfo, parseAvro } from '../../../src/decode/avro';
import { compileFastRow } from '../../../src/decode/avro-fast-row';
import type { WorkerColumn, WorkerPipeline } from '../../../src/decode/column-plan';
import { prng, randomSchema, type Rnd, type Schema } from '../../helpers/random-avro';
import { comparePaths, describeRound, randomRing } from '../../helpers/transcode-compare';

/**
 * [Transcode] The generated row function (avro-fast-row.ts) against the object path: random schemas with
 * columns of the shapes it covers, random records (longs beyond 2^53, invalid UTF-8, NULs, repeated map
 * keys, block byte sizes) and corruptions of them. Both paths must write the same bytes and fail the same
 * records with the same errors; a record the function leaves goes through the closures, which the
 * comparison covers too. FAST_ROW_RECORDS sets how many records (200,000 by default; the full run is
 * 1,000,000, docs/transcode.md).
 */
const TOTAL = Number(process.env.FAST_ROW_RECORDS ?? 200_000);
const PER_SCHEMA = 2_000;

const ELEM_OIDS: Record<string, number> = { text: 25 };

/** Column types the generated function writes for a field of `s` (named types looked up in `named`). */
function coveredTypes(s: Schema, named: Map<string, Schema>): string[] {
  if (Array.isArray(s)) {
    const others = s.filter((b: Schema) => b !== 'null');
    return others.length === 1 && s.length === 2 ? coveredTypes(others[0], named) : [];
  }
  if (typeof s === 'string' && named.has(s)) return coveredTypes(named.get(s), named);
  const type = typeof s === 'string' ? s : s.type;
  const logical = typeof s === 'object' ? s.logicalType : undefined;
  if (logical === 'timestamp-millis') return ['timestamptz', 'timestamp', 'int8'];
  if (logical === 'date') return ['int4', 'int8'];
  if (logical !== undefined) return [];
  switch (type) {
    case 'int': return ['int4', 'int8', 'float8', 'timestamptz'];
    case 'long': return ['int8', 'int4', 'float8', 'timestamptz'];
    case 'float':
    case 'double': return ['float8', 'int8', 'int4'];
    case 'boolean': return ['bool'];
    case 'string': return ['text', 'varchar'];
    case 'bytes': return ['bytea'];
    case 'enum': return ['text'];
    case 'array': {
      const items = s.items;
      const plain = items === 'string' || (Array.isArray(items) && items.length === 2 && items.includes('null') && items.includes('string'));
      return plain ? ['_text'] : [];
    }
    case 'map': return s.values === 'string' ? ['jsonb', 'json'] : [];
    default: return [];
  }
}

/** Fields by path (records nested through nullable unions too), with their schemas. */
function fieldsOf(schema: Schema, named: Map<string, Schema>): Array<{ path: string[]; type: Schema }> {
  const out: Array<{ path: string[]; type: Schema }> = [];
  const note = (s: Schema): void => {
    if (Array.isArray(s)) return s.forEach(note);
    if (typeof s !== 'object' || s === null) return;
    if (s.name) named.set(s.name, s);
    if (s.type === 'record') s.fields.forEach((f: { type: Schema }) => note(f.type));
    if (s.type === 'array') note(s.items);
    if (s.type === 'map') note(s.values);
  };
  note(schema);
  const walk = (s: Schema, path: string[]): void => {
    for (const f of s.fields) {
      out.push({ path: [...path, f.name], type: f.type });
      const t = Array.isArray(f.type) && f.type.length === 2 && f.type.includes('null') ? f.type.find((b: Schema) => b !== 'null') : f.type;
      const r = typeof t === 'string' && named.has(t) ? named.get(t) : t;
      if (typeof r === 'object' && r !== null && !Array.isArray(r) && r.type === 'record') walk(r, [...path, f.name]);
    }
  };
  walk(schema, []);
  return out;
}

function pipelineOf(schema: Schema, rnd: Rnd): WorkerPipeline | null {
  const text = JSON.stringify(schema);
  const type = parseAvro(text, 'test');
  const named = new Map<string, Schema>();
  const usable = fieldsOf(schema, named).map((f) => ({ ...f, types: coveredTypes(f.type, named) })).filter((f) => f.types.length > 0);
  if (usable.length === 0) return null;
  const columns: WorkerColumn[] = [];
  const count = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < count; i++) {
    const f = usable[Math.floor(rnd() * usable.length)];
    const typname = f.types[Math.floor(rnd() * f.types.length)];
    const elem = typname.startsWith('_') ? typname.slice(1) : null;
    const info = avroFieldInfo(type, f.path);
    columns.push({
      name: `c${i}`, type: { typname, elemTypname: elem, elemOid: elem ? ELEM_OIDS[elem] : 0 }, source: 'field',
      path: info?.path ?? f.path, hint: info?.hint ?? null, presence: false, required: rnd() < 0.15,
    });
  }
  if (rnd() < 0.2) columns.push({ name: 'missing', type: { typname: 'text', elemTypname: null, elemOid: 0 }, source: 'field', path: ['missing'], hint: null, presence: false, required: rnd() < 0.3 });
  const meta: Array<[WorkerColumn['source'], string]> = [['offset', 'int8'], ['partition', 'int4'], ['partition', 'int8'], ['timestamp', 'timestamptz']];
  if (rnd() < 0.4) {
    const [source, typname] = meta[Math.floor(rnd() * meta.length)];
    columns.splice(Math.floor(rnd() * columns.length), 0, { name: 'm', type: { typname, elemTypname: null, elemOid: 0 }, source, path: [], hint: null, presence: false, required: rnd() < 0.3 });
  }
  return { name: 'p', format: 'avro', schemaText: text, messageType: null, registry: false, columns, merge: rnd() < 0.2 ? { cdc: false, keyColumns: [0], deleteOnTombstone: false, skipTruncate: false } : null };
}

test(`generated row functions: ${TOTAL} random records and corruptions give the object path's rows and errors`, { timeout: 600_000 }, (t) => {
  const rnd = prng(20261203);
  let records = 0;
  let transcoded = 0;
  let fastRows = 0;
  let generated = 0;
  for (let round = 0; records < TOTAL; round++) {
    const schema = randomSchema(rnd, 2);
    const p = pipelineOf(schema, rnd);
    if (p === null) continue;
    const what = describeRound(round, JSON.stringify(schema), p);
    // Timestamps sometimes absent (-1), as Kafka allows.
    const ring = randomRing(schema, rnd, PER_SCHEMA, (i) => ({ partition: i % 5, timestamp: i % 7 === 0 ? -1 : 1_700_000_000_000 + i, key: null }));
    const n = comparePaths(ring, p, null, what);
    transcoded += n.transcoded;
    fastRows += n.fastRows;
    if (n.fastRows > 0) generated++;
    records += PER_SCHEMA;
  }
  t.diagnostic(`${records} records, ${transcoded} rows, ${fastRows} of them from generated functions (${generated} schemas)`);
  // Most schemas here are covered, and most of their fine records take the generated function.
  assert.ok(generated > 0 && fastRows > transcoded / 2, `${fastRows} of ${transcoded} rows from generated functions (${generated} schemas)`);
});

test('the reference order is covered: every record of it takes the generated function', () => {
  const schema = parseAvro(JSON.stringify({
    type: 'record', name: 'R', fields: [
      { name: 'id', type: 'long' }, { name: 'tags', type: { type: 'array', items: 'string' } }, { name: 'attrs', type: { type: 'map', values: 'string' } },
    ],
  }), 'test');
  const text = (typname: string): WorkerColumn['type'] => ({ typname, elemTypname: typname === '_text' ? 'text' : null, elemOid: typname === '_text' ? 25 : 0 });
  const columns: WorkerColumn[] = [
    { name: 'id', type: text('int8'), source: 'field', path: ['id'], hint: null, presence: false, required: true },
    { name: 'tags', type: text('_text'), source: 'field', path: ['tags'], hint: { kind: 'plain-json' }, presence: false, required: false },
    { name: 'attrs', type: text('jsonb'), source: 'field', path: ['attrs'], hint: { kind: 'plain-json' }, presence: false, required: false },
  ];
  assert.notEqual(compileFastRow(schema, columns, columns.map((c) => c.path), columns.map((c) => c.hint)), null);
  // A column type it does not write (numeric) leaves the whole schema to the closures.
  const numeric = [...columns, { ...columns[0], name: 'n', type: text('numeric') }];
  assert.equal(compileFastRow(schema, numeric, numeric.map((c) => c.path), numeric.map((c) => c.hint)), null);
});
