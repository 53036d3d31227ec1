import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { AvroReader, parseAvro } from '../../../src/decode/avro';
import { readable, Tap } from '../../../src/decode/avsc-internals';

test('avsc still has the Tap the engine reads the ring with: a cursor with buf, pos, readLong, skipLong, utf8Slice', () => {
  const buf = Buffer.from([0x04, 0x68, 0x69, 0x96, 0x01]); // string "hi", then long 75
  const tap = new Tap(buf, 0);
  assert.equal(tap.buf, buf);
  assert.equal(tap.pos, 0);
  assert.equal(tap.readLong(), 2);
  assert.equal(tap.buf.utf8Slice(tap.pos, tap.pos + 2), 'hi');
  tap.pos += 2;
  tap.skipLong();
  assert.equal(tap.pos, 5);
});

test("avsc types and resolvers still read through _read(tap), at the tap's position", () => {
  const writer = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] });
  const reader = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'long' }, { name: 'b', type: 'string', default: 'x' }] });
  const bytes = Buffer.concat([Buffer.from([0xff]), writer.toBuffer({ a: 21 })]);
  for (const [type, expected] of [[writer, { a: 21 }], [reader.createResolver(writer), { a: 21, b: 'x' }]] as const) {
    const tap = new Tap(bytes, 1);
    assert.equal(typeof readable(type)._read, 'function');
    assert.deepEqual({ ...(readable(type)._read(tap) as object) }, expected);
    assert.equal(tap.pos, bytes.length);
  }
});

test("the engine's _read overrides are what avsc's record readers call: guards and wide longs work inside records", () => {
  const type = parseAvro(JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'big', type: 'long' }, { name: 's', type: 'string' }] }), 'test');
  // long 2^60 (zigzag varint), then a string claiming 2^20 bytes in a 3-byte record tail.
  const longBytes = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
  const ok = Buffer.concat([longBytes, Buffer.from([0x02, 0x41])]);
  const read = new AvroReader(ok, type);
  assert.deepEqual({ ...(read.decode(0, ok.length) as object) }, { big: 2n ** 60n, s: 'A' });
  const poisoned = Buffer.concat([longBytes, Buffer.from([0x80, 0x80, 0x80, 0x01, 0x41])]);
  assert.throws(() => new AvroReader(poisoned, type).decode(0, poisoned.length), /malformed Avro: a string length of 1048576/);
});

test("avsc's resolver skips a writer field the reader lacks with the field type's _skip: the guarded _skip refuses a poisoned count", () => {
  const writer = parseAvro(JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'gone', type: { type: 'array', items: 'string' } }, { name: 'a', type: 'int' }] }), 'writer');
  const reader = parseAvro(JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] }), 'reader');
  assert.equal(typeof readable(writer)._skip, 'function');
  const ok = Buffer.from([0x02, 0x02, 0x41, 0x00, 0x2a]); // gone: ["A"], a: 21
  assert.deepEqual({ ...(new AvroReader(ok, writer, reader).decode(0, ok.length) as object) }, { a: 21 });
  // An array block count of about 2^34: avsc's own _skip would loop that many times.
  const poisoned = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x7f, 0x2a]);
  assert.throws(() => new AvroReader(poisoned, writer, reader).decode(0, poisoned.length), /malformed Avro: an array block count of/);
});
