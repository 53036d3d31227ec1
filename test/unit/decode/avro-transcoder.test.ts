import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avroFieldInfo, parseAvro } from '../../../src/decode/avro';
import type { WorkerColumn, WorkerPipeline } from '../../../src/decode/column-plan';
import { RingWriter } from '../../../src/ring/ring-writer';
import { SchemaTable } from '../../../src/ring/schema-table';
import { encodeOrder, ORDER_TABLE_COLUMNS, orderPipeline } from '../../../bench/lib/orders';
import { planColumns } from '../../../src/decode/column-plan';
import { prng, randomColumns, randomSchema, randomValue, type Rnd } from '../../helpers/random-avro';
import { compare, corrupt, describeRound, randomRing } from '../../helpers/transcode-compare';

/**
 * [Transcode] The transcoder against the object path it replaces: for random schemas, random records
 * and random corruptions of them, both paths must write the same bytes and fail the same records with
 * the same error (code and message). TRANSCODE_RECORDS sets how many records: 250,000 by default (about
 * 10 s, in CI); the full run is TRANSCODE_RECORDS=1000000 (docs/transcode.md).
 */
const TOTAL = Number(process.env.TRANSCODE_RECORDS ?? 250_000);
const PER_SCHEMA = 2_000;

function pipelineOf(writerText: string, readerText: string | null, rnd: Rnd, registry: boolean): WorkerPipeline {
  const schema = JSON.parse(readerText ?? writerText);
  const type = parseAvro(readerText ?? writerText, 'test');
  const columns: WorkerColumn[] = randomColumns(schema, rnd).map((c) => {
    const info = avroFieldInfo(type, c.path);
    return {
      name: c.name, type: { typname: c.typname, elemTypname: c.elemTypname, elemOid: c.elemOid }, source: 'field' as const,
      path: info?.path ?? c.path, hint: info?.hint ?? null, presence: false, required: rnd() < 0.15,
    };
  });
  if (rnd() < 0.3) columns.splice(Math.floor(rnd() * columns.length), 0, { name: 'm', type: { typname: 'int8', elemTypname: null, elemOid: 0 }, source: 'offset', path: [], hint: null, presence: false, required: false });
  if (rnd() < 0.2) columns.push({ name: 'k', type: { typname: 'text', elemTypname: null, elemOid: 0 }, source: 'key', path: [], hint: null, presence: false, required: rnd() < 0.5 });
  return { name: 'p', format: 'avro', schemaText: registry ? readerText : writerText, messageType: null, registry, columns, merge: rnd() < 0.2 ? { cdc: false, keyColumns: [0], deleteOnTombstone: false, skipTruncate: false } : null };
}

test(`random schemas: ${TOTAL} random records and corruptions of them give the same rows and errors on both paths`, { timeout: 600_000 }, () => {
  const rnd = prng(20261202);
  let records = 0;
  let transcoded = 0;
  let failed = 0;
  for (let round = 0; records < TOTAL; round++) {
    const schema = randomSchema(rnd, 2);
    const text = JSON.stringify(schema);
    const p = pipelineOf(text, null, rnd, false);
    const what = describeRound(round, text, p);
    const ring = randomRing(schema, rnd, PER_SCHEMA, (i) => ({ partition: 0, timestamp: 1_700_000_000_000 + i, key: i % 3 === 0 ? null : Buffer.from(`key-${i}`) }));
    const n = compare(ring, p, null, what);
    transcoded += n;
    failed += PER_SCHEMA - n;
    records += PER_SCHEMA;
  }
  // Random columns often do not fit their field (those records fail alike on both paths); most still fit.
  assert.ok(transcoded > records / 5, `${transcoded} of ${records} records became rows (${failed} failed)`);
});

test('registry records resolved to the pipeline schema (fields added with defaults, dropped, promoted, renamed by alias) are the same on both paths', () => {
  const writer = { type: 'record', name: 'Order', fields: [
    { name: 'id', type: 'long' }, { name: 'qty', type: 'int' }, { name: 'price', type: 'float' }, { name: 'gone', type: { type: 'array', items: 'string' } },
    { name: 'sku', type: 'string' }, { name: 'old_name', type: ['null', 'string'] }, { name: 'user', type: { type: 'record', name: 'U', fields: [{ name: 'id', type: 'int' }, { name: 'c', type: 'string' }] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
  ] };
  const reader = { type: 'record', name: 'Order', fields: [
    { name: 'id', type: 'long' }, { name: 'qty', type: 'long' }, { name: 'price', type: 'double' }, { name: 'sku', type: 'string' },
    { name: 'new_name', aliases: ['old_name'], type: ['null', 'string'], default: null }, { name: 'user', type: { type: 'record', name: 'U', fields: [{ name: 'id', type: 'long' }, { name: 'c', type: 'string' }] } },
    { name: 'added', type: 'string', default: 'none' }, { name: 'tags', type: { type: 'array', items: 'string' } },
  ] };
  const rnd = prng(7);
  const columns = [['id', 'int8'], ['qty', 'int4'], ['price', 'float8'], ['sku', 'text'], ['new_name', 'text'], ['user.id', 'int8'], ['user.c', 'text'], ['added', 'text'], ['tags', '_text']]
    .map(([path, typname], i) => ({ name: `c${i}`, type: { typname, elemTypname: typname.startsWith('_') ? typname.slice(1) : null, elemOid: typname.startsWith('_') ? 25 : 0 }, source: 'field' as const, path: path.split('.'), hint: null, presence: false, required: false }));
  const p: WorkerPipeline = { name: 'p', format: 'avro', schemaText: JSON.stringify(reader), messageType: null, registry: true, columns, merge: null };
  const table = new SchemaTable();
  table.publish(0, 5, JSON.stringify({ schema: JSON.stringify(writer) }));
  table.publish(0, 6, JSON.stringify({ schema: JSON.stringify(reader) }));
  const ring = new RingWriter(8 << 20);
  for (let i = 0; i < 4000; i++) {
    const id = i % 2 === 0 ? 5 : 6;
    const out: number[] = [0, 0, 0, 0, id];
    randomValue(id === 5 ? writer : reader, rnd, out);
    const value = i % 5 === 4 ? Buffer.concat([Buffer.from(out.slice(0, 5)), corrupt(Buffer.from(out.slice(5)), rnd)]) : Buffer.from(out);
    assert.ok(ring.write(0, 0, 0, i, 1, null, value));
  }
  const transcoded = compare(ring, p, table.sab, 'resolution');
  assert.ok(transcoded > 1000, `${transcoded} transcoded`);
});

test('the reference Order record is transcoded (not left to the object path) and written as the object path writes it', () => {
  const problems: string[] = [];
  const plan = planColumns(orderPipeline('avro'), 'test', ORDER_TABLE_COLUMNS, problems);
  assert.deepEqual(problems, []);
  const ring = new RingWriter(4 << 20);
  for (let i = 0; i < 1000; i++) assert.ok(ring.write(0, 0, 0, i, 1, null, encodeOrder(i)));
  assert.equal(compare(ring, plan, null, 'orders'), 1000);
});
