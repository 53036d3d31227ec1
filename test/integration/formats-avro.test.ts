import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { sql } from '../helpers/env';
import { runPipeline } from '../helpers/pipeline';

const SCHEMA = {
  type: 'record',
  name: 'AllTypes',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'i', type: 'int' },
    { name: 'l', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'b', type: 'boolean' },
    { name: 's', type: 'string' },
    { name: 'by', type: 'bytes' },
    { name: 'fx', type: { type: 'fixed', name: 'Four', size: 4 } },
    { name: 'e', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
    { name: 'u', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'ts_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'ts_us', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'dt', type: { type: 'int', logicalType: 'date' } },
    { name: 'tm_ms', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'tm_us', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 20, scale: 4 } },
    { name: 'opt', type: ['null', 'string'], default: null },
    { name: 'multi', type: ['null', 'string', 'long'], default: null },
    { name: 'arr', type: { type: 'array', items: 'long' } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'm', type: { type: 'map', values: 'string' } },
    { name: 'nested', type: { type: 'record', name: 'Nested', fields: [{ name: 'a', type: 'int' }, { name: 'inner', type: { type: 'record', name: 'Inner', fields: [{ name: 'b', type: 'string' }] } }] } },
  ],
};

const TABLE = `id bigint, i int, l bigint, f real, d double precision, b boolean, s text, by bytea, fx bytea, e text, u uuid,
  ts_ms timestamptz, ts_us timestamp, dt date, tm_ms time, tm_us time, dec numeric(20,4), opt text, multi text,
  arr bigint[], tags text[], m jsonb, nested jsonb, inner_b text`;

// Written with plain avsc (no logical types): values are given in their underlying Avro form. Longs past
// avsc's own ±2^52 limit are written as bigints through a long type of the test's.
const BigLong = avro.types.LongType.__with({
  fromBuffer: (b: Buffer) => b.readBigInt64LE(),
  toBuffer: (n: bigint | number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return b;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n: unknown) => typeof n === 'bigint' || Number.isInteger(n),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});
const writer = avro.Type.forSchema(SCHEMA as avro.Schema, { wrapUnions: 'never', registry: { long: BigLong } });
const unscaled = (n: bigint, bytes: number) => {
  const b = Buffer.alloc(bytes);
  b.writeBigInt64BE(BigInt.asIntN(64, n), bytes - 8 >= 0 ? bytes - 8 : 0);
  return b;
};

const RECORDS = [
  {
    id: 0, i: 2147483647, l: 9223372036854775807n, f: 0.5, d: 1.7976931348623157e308, b: true, s: 'unicode ✓ 𝄞 "q" \\ \t tab',
    by: Buffer.from([0, 1, 2, 255]), fx: Buffer.from('abcd'), e: 'GREEN', u: '123e4567-e89b-12d3-a456-426614174000',
    ts_ms: Date.UTC(2026, 10, 22, 1, 2, 3, 456), ts_us: Date.UTC(2026, 10, 22, 1, 2, 3) * 1000 + 456789, dt: 20414,
    tm_ms: (13 * 3600 + 14 * 60 + 15) * 1000 + 123, tm_us: (23 * 3600 + 59 * 60 + 59) * 1e6 + 999999,
    dec: unscaled(123456789n, 8), opt: 'present', multi: 'text branch', arr: [1, -2, 2 ** 53 + 2], tags: ['a', 'b c'],
    m: { k: 'v', 'ключ': 'значение' }, nested: { a: 7, inner: { b: 'deep' } },
  },
  {
    id: 1, i: -2147483648, l: -9223372036854775808n, f: -0, d: -1e-300, b: false, s: '', by: Buffer.alloc(0), fx: Buffer.from([0, 0, 0, 0]),
    e: 'RED', u: '00000000-0000-0000-0000-000000000000', ts_ms: 0, ts_us: -1, dt: -1, tm_ms: 0, tm_us: 0,
    dec: unscaled(-1n, 8), opt: null, multi: 42, arr: [], tags: [], m: {}, nested: { a: -1, inner: { b: '' } },
  },
];

test('Avro: every field type, logical types, unions, arrays, maps and nested records land exactly', async () => {
  const { table, run } = await runPipeline({
    format: 'avro',
    schema: { text: JSON.stringify(SCHEMA), ext: 'avsc' },
    tableColumns: TABLE,
    extra: '    columns: { inner_b: nested.inner.b }',
    values: RECORDS.map((r) => writer.toBuffer(r)),
  });
  assert.equal(run.code, 0, run.stderr);
  const rows = await sql(
    `SELECT id::text, i, l::text, f, d, b, s, encode(by, 'hex') AS by, encode(fx, 'escape') AS fx, e, u::text,
            to_char(ts_ms AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS ts_ms, to_char(ts_us, 'YYYY-MM-DD HH24:MI:SS.US') AS ts_us,
            dt::text, tm_ms::text, tm_us::text, dec::text, opt, multi, arr::text, tags, m, nested, inner_b
       FROM ${table} ORDER BY id`,
  );
  assert.deepEqual(rows[0], {
    id: '0', i: 2147483647, l: '9223372036854775807', f: 0.5, d: 1.7976931348623157e308, b: true, s: 'unicode ✓ 𝄞 "q" \\ \t tab',
    by: '000102ff', fx: 'abcd', e: 'GREEN', u: '123e4567-e89b-12d3-a456-426614174000', ts_ms: '2026-11-22 01:02:03.456',
    ts_us: '2026-11-22 01:02:03.456789', dt: '2025-11-22', tm_ms: '13:14:15.123', tm_us: '23:59:59.999999', dec: '12345.6789',
    opt: 'present', multi: 'text branch', arr: '{1,-2,9007199254740994}', tags: ['a', 'b c'], m: { k: 'v', 'ключ': 'значение' },
    nested: { a: 7, inner: { b: 'deep' } }, inner_b: 'deep',
  });
  assert.deepEqual(rows[1], {
    id: '1', i: -2147483648, l: '-9223372036854775808', f: -0, d: -1e-300, b: false, s: '', by: '', fx: '\\000\\000\\000\\000', e: 'RED',
    u: '00000000-0000-0000-0000-000000000000', ts_ms: '1970-01-01 00:00:00.000', ts_us: '1969-12-31 23:59:59.999999', dt: '1969-12-31',
    tm_ms: '00:00:00', tm_us: '00:00:00', dec: '-0.0001', opt: null, multi: '42', arr: '{}', tags: [], m: {}, nested: { a: -1, inner: { b: '' } },
    inner_b: '',
  });
});
