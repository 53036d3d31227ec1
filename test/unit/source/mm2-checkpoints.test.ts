import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/source/mm2-checkpoints';

test("MM2 checkpoint records decode as connect-mirror-client's Checkpoint.java writes them", () => {
  // Written out by hand from Checkpoint.java's KEY_SCHEMA, HEADER_SCHEMA and VALUE_SCHEMA_V0.
  const key = Buffer.from([0, 1, 0x67, 0, 3, 0x70, 0x2e, 0x74, 0, 0, 0, 7]); // "g", "p.t", 7
  const value = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0]); // v0, 100, 42, ""
  assert.deepEqual(decodeCheckpoint(key, value), { group: 'g', topic: 'p.t', partition: 7, upstreamOffset: 100, downstreamOffset: 42, metadata: '' });
  const c = { group: 'orders-sink', topic: 'primary.orders', partition: 3, upstreamOffset: 2 ** 40, downstreamOffset: 123_456, metadata: 'é' };
  const r = encodeCheckpoint(c);
  assert.deepEqual(decodeCheckpoint(r.key, r.value), c);
});

test('a record that is not a checkpoint says why', () => {
  const r = encodeCheckpoint({ group: 'g', topic: 't', partition: 0, upstreamOffset: 1, downstreamOffset: 1, metadata: '' });
  assert.match(decodeCheckpoint(r.key.subarray(0, 5), r.value) as string, /cut short/);
  assert.match(decodeCheckpoint(Buffer.concat([r.key, Buffer.from([1])]), r.value) as string, /1 bytes after its fields/);
  const v1 = Buffer.from(r.value);
  v1.writeInt16BE(1, 0);
  assert.match(decodeCheckpoint(r.key, v1) as string, /version 1 is not known/);
  assert.match(decodeCheckpoint(null, r.value) as string, /needs a key and a value/);
});
