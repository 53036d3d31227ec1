import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encoderFor, ValueError } from '../../../src/copy/column-encoders';
import { RowWriter } from '../../../src/copy/copy-binary';

function encode(typname: string, value: unknown, elem: string | null = null, elemOid = 0): string {
  const w = new RowWriter(16);
  encoderFor({ typname, elemTypname: elem, elemOid })!(w, value);
  return w.buf.subarray(0, w.pos).toString('hex');
}

test('scalars in PostgreSQL binary form, with a 4-byte length', () => {
  assert.equal(encode('int4', 258), '00000004' + '00000102');
  assert.equal(encode('int8', -2), '00000008' + 'fffffffffffffffe');
  assert.equal(encode('int8', 2n ** 62n), '00000008' + '4000000000000000');
  assert.equal(encode('bool', true), '00000001' + '01');
  assert.equal(encode('text', 'hé'), '00000003' + '68c3a9');
  assert.equal(encode('jsonb', { a: 1 }), '00000008' + '01' + Buffer.from('{"a":1}').toString('hex'));
  assert.equal(encode('uuid', '123e4567-e89b-12d3-a456-426614174000'), '00000010' + '123e4567e89b12d3a456426614174000');
  // 2000-01-01T00:00:01Z is 1,000,000 µs after the PostgreSQL epoch.
  assert.equal(encode('timestamptz', Date.UTC(2000, 0, 1, 0, 0, 1)), '00000008' + '00000000000f4240');
  assert.equal(encode('date', '2000-01-03'), '00000004' + '00000002');
});

test('numeric: base-10000 digits, weight, sign and scale', () => {
  // 12345.678 = [1][2345].[6780] → ndigits 3, weight 1, positive, dscale 3
  assert.equal(encode('numeric', '12345.678'), '0000000e' + '0003' + '0001' + '0000' + '0003' + '0001' + '0929' + '1a7c');
  assert.equal(encode('numeric', '-0.5'), '0000000a' + '0001' + 'ffff' + '4000' + '0001' + '1388');
  assert.equal(encode('numeric', 0), '00000008' + '0000' + '0000' + '0000' + '0000');
});

test('arrays: one dimension, element oid, NULL elements flagged', () => {
  const hex = encode('_int4', [1, null], 'int4', 23);
  assert.equal(hex, '00000020' + '00000001' + '00000001' + '00000017' + '00000002' + '00000001' + '00000004' + '00000001' + 'ffffffff');
  assert.equal(encode('_text', [], 'text', 25), '0000000c' + '00000000' + '00000000' + '00000019');
});

test('values that do not fit throw ValueError naming the problem', () => {
  assert.throws(() => encode('int2', 40000), (e: unknown) => e instanceof ValueError && /out of range/.test(e.message));
  assert.throws(() => encode('int4', 1.5), ValueError);
  assert.throws(() => encode('uuid', 'not-a-uuid'), /expected a uuid/);
  assert.throws(() => encode('bool', 'yes'), /expected a boolean/);
  assert.throws(() => encode('timestamptz', 'yesterday'), /expected a timestamp/);
  assert.throws(() => encode('text', { a: 1 }), /expected text/);
  assert.throws(() => encode('numeric', '1e5x'), /expected a decimal number/);
  // PostgreSQL refuses NUL in text (the whole COPY would fail); the record fails instead, naming the column.
  assert.throws(() => encode('text', 'a\u0000b'), (e: unknown) => e instanceof ValueError && /NUL/.test(e.message));
  assert.throws(() => encode('_text', ['ok', 'a\u0000b'], 'text', 25), /NUL/);
  // Out of int64 (a timestamp centuries away): Buffer's own RangeError, as before the hand-written writes.
  assert.throws(() => encode('timestamptz', 1e20), RangeError);
});

test("hand-written integer and double writes match Buffer's", () => {
  const w = new RowWriter(64);
  for (const v of [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53) + 1, 1.5e12]) {
    w.pos = 0;
    w.int64(v);
    const expected = Buffer.alloc(8);
    expected.writeBigInt64BE(BigInt(v));
    assert.equal(w.buf.subarray(4, 12).toString('hex'), expected.toString('hex'), `int64 ${v}`);
  }
  for (const v of [0, -0, 1.5, -2.25, NaN, Infinity, -Infinity, Number.MIN_VALUE, 1e308]) {
    w.pos = 0;
    w.float64(v);
    const expected = Buffer.alloc(8);
    expected.writeDoubleBE(v);
    assert.equal(w.buf.subarray(4, 12).toString('hex'), expected.toString('hex'), `float64 ${v}`);
  }
  w.pos = 0;
  assert.throws(() => w.int32(2 ** 31), RangeError);
});

test('the writer grows without losing what was written, and rollback drops a half-written row', () => {
  const w = new RowWriter(16);
  w.beginRow(1);
  w.int64(1);
  w.beginRow(2);
  w.utf8('x'.repeat(5000));
  w.rollback();
  assert.equal(w.pos, 2 + 12);
  assert.equal(w.buf.readInt16BE(0), 1);
  assert.equal(w.buf.readInt32BE(2), 8);
  assert.ok(encoderFor({ typname: 'inet', elemTypname: null, elemOid: 0 }) === null, 'unsupported types are refused at start');
});
