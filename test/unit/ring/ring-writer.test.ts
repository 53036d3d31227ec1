import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DATA_START, frameBytes, PIPELINE_SKIP } from '../../../src/ring/layout';
import { FrameReader } from '../../../src/ring/frame-reader';
import { decodeHeaders, encodeHeaders, UNFRAMEABLE_HEADERS } from '../../../src/ring/headers';
import { RingWriter, type RingChunk } from '../../../src/ring/ring-writer';

function readAll(reader: FrameReader, chunk: RingChunk) {
  const out: Array<{ pipeline: number; topicId: number; partition: number; offset: number; timestamp: number; key: string | null; value: string | null }> = [];
  reader.acquire();
  for (let pos = chunk.start, n = 0; n < chunk.frames; n++) {
    reader.at(pos);
    const k = reader.keyLength;
    const v = reader.valueLength;
    out.push({
      pipeline: reader.pipeline,
      topicId: reader.topicId,
      partition: reader.partition,
      offset: reader.offset,
      timestamp: reader.timestamp,
      key: k < 0 ? null : reader.buffer.toString('utf8', reader.keyStart, reader.keyStart + k),
      value: v < 0 ? null : reader.buffer.toString('utf8', reader.valueStart, reader.valueStart + v),
    });
    pos += reader.frameBytes;
  }
  return out;
}

test('frames round-trip through the shared buffer, including large offsets, null keys and tombstones', () => {
  const ring = new RingWriter(1 << 20);
  const reader = new FrameReader(ring.sab);
  assert.ok(ring.write(1, 7, 3, 2 ** 40 + 5, 1_790_000_000_123, Buffer.from('k1'), Buffer.from('hello')));
  assert.ok(ring.write(0, 2, 0, 0, -1, null, Buffer.from('')));
  assert.ok(ring.write(0, 2, 65535, 9, 5, Buffer.from('k'), null));
  const chunk = ring.close()!;
  assert.equal(chunk.frames, 3);
  assert.deepEqual(readAll(reader, chunk), [
    { pipeline: 1, topicId: 7, partition: 3, offset: 2 ** 40 + 5, timestamp: 1_790_000_000_123, key: 'k1', value: 'hello' },
    { pipeline: 0, topicId: 2, partition: 0, offset: 0, timestamp: -1, key: null, value: '' },
    { pipeline: 0, topicId: 2, partition: 65535, offset: 9, timestamp: 5, key: 'k', value: null },
  ]);
  assert.equal(chunk.end - chunk.start, frameBytes(2, 5) + frameBytes(-1, 0) + frameBytes(1, -1));
});

test('a full ring refuses writes until chunks are released; chunks never wrap; space returns in order', () => {
  const size = DATA_START + 10 * frameBytes(0, 100);
  const ring = new RingWriter(size);
  const value = Buffer.alloc(100, 1);
  const chunks: RingChunk[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 3; i++) assert.ok(ring.write(0, 0, 0, c * 3 + i, 0, null, value));
    chunks.push(ring.close()!);
  }
  assert.ok(ring.write(0, 0, 0, 9, 0, null, value));
  assert.equal(ring.write(0, 0, 0, 10, 0, null, value), false, 'no room left before the end');
  chunks.push(ring.close()!);
  assert.equal(ring.write(0, 0, 0, 10, 0, null, value), false, 'the oldest chunk still holds the start');

  ring.release(chunks[1]);
  assert.equal(ring.write(0, 0, 0, 10, 0, null, value), false, 'releasing a younger chunk does not move the tail');
  ring.release(chunks[0]);
  assert.ok(ring.write(0, 0, 0, 10, 0, null, value), 'the tail moved over both released chunks; the writer wrapped');
  const wrapped = ring.close()!;
  assert.equal(wrapped.start, DATA_START);
  assert.ok(wrapped.end <= chunks[2].start);
  for (const c of [chunks[2], chunks[3], wrapped]) ring.release(c);
  assert.equal(ring.usedBytes, 0);
});

test('a frame that has to wrap while the open chunk has frames asks for the chunk to be closed', () => {
  const ring = new RingWriter(DATA_START + 4 * frameBytes(0, 100));
  const value = Buffer.alloc(100);
  assert.ok(ring.write(0, 0, 0, 0, 0, null, value));
  const first = ring.close()!;
  for (let i = 1; i < 4; i++) assert.ok(ring.write(0, 0, 0, i, 0, null, value));
  ring.release(first);
  assert.equal(ring.write(0, 0, 0, 4, 0, null, value), false, 'would wrap inside the open chunk');
  const second = ring.close()!;
  assert.equal(second.frames, 3);
  assert.ok(ring.write(0, 0, 0, 4, 0, null, Buffer.alloc(10)), 'after closing, the next chunk starts at the beginning');
  assert.equal(ring.close()!.start, DATA_START);
});

test('a span written in place (native source): bounded by the tail, and not moved when the ring empties meanwhile', () => {
  const ring = new RingWriter(1 << 16);
  assert.ok(ring.write(0, 0, 0, 1, 1, null, Buffer.alloc(100)));
  const first = ring.close()!;
  const pos = ring.reserveSpan(48);
  assert.equal(pos, first.end, 'the span starts at the head');
  assert.equal(ring.spanEnd, 1 << 16, 'with no chunk ahead of it, it runs to the end');
  // The only live chunk is released while the span is being written: the head must stay where it is.
  ring.release(first);
  ring.advance(pos + 48, 1);
  const second = ring.close()!;
  assert.deepEqual([second.start, second.end, second.frames], [pos, pos + 48, 1]);

  // A span behind the tail ends before it, so a full ring never looks empty.
  const big = new RingWriter(1 << 12);
  assert.ok(big.write(0, 0, 0, 1, 1, null, Buffer.alloc(2000)));
  const a = big.close()!;
  assert.ok(big.write(0, 0, 0, 2, 1, null, Buffer.alloc(1500)));
  const b = big.close()!;
  big.release(a);
  const wrapped = big.reserveSpan(1000);
  assert.equal(wrapped, DATA_START, 'a frame that does not fit before the end wraps to the front');
  assert.equal(big.spanEnd, b.start - 8);
  assert.throws(() => big.advance(b.start + 8, 1), /outside the reserved span/);
});

test('headers ride after the value and decode back in order; a frame without headers has none', () => {
  const ring = new RingWriter(1 << 16);
  const reader = new FrameReader(ring.sab);
  const headers = encodeHeaders([{ a: Buffer.from('1') }, { 'ü': 'two' }, { none: null }]);
  assert.ok(ring.write(0, 0, 0, 5, 1, Buffer.from('k'), Buffer.from('value'), headers));
  assert.ok(ring.write(0, 0, 0, 6, 1, null, null));
  const chunk = ring.close()!;
  reader.at(chunk.start);
  assert.equal(reader.frameBytes, frameBytes(1, 5, headers!.length));
  assert.deepEqual(decodeHeaders(reader.buffer, reader.headersStart, reader.headersLength), [
    { name: 'a', value: Buffer.from('1') },
    { name: 'ü', value: Buffer.from('two') },
    { name: 'none', value: null },
  ]);
  assert.equal(reader.buffer.toString('utf8', reader.valueStart, reader.valueStart + reader.valueLength), 'value');
  reader.at(chunk.start + reader.frameBytes);
  assert.equal(reader.headersLength, 0);
  assert.equal(reader.offset, 6);
});

test('frames an earlier owner already made durable are marked PIPELINE_SKIP before the chunk is published', () => {
  const ring = new RingWriter(1 << 20);
  for (let offset = 100; offset < 110; offset++) ring.write(0, 3, offset % 2, offset, -1, null, Buffer.from(`v${offset}`), null);
  const marked = ring.skipOpenFrames((topicId, partition, offset) => topicId === 3 && partition === 0 && offset >= 104 && offset < 108);
  assert.equal(marked, 2, 'offsets 104 and 106 of partition 0');
  const frames = readAll(new FrameReader(ring.sab), ring.close()!);
  assert.deepEqual(frames.filter((f) => f.pipeline === PIPELINE_SKIP).map((f) => f.offset), [104, 106]);
  assert.equal(frames.filter((f) => f.pipeline === 0).length, 8);
  assert.equal(ring.timestampAt(DATA_START), -1);
});

test('a header name over 65,535 bytes cannot be framed: headersLength -1, no header bytes, never a cut name', () => {
  const long = 'n'.repeat(65_536);
  assert.equal(encodeHeaders([{ [long]: 'v' }]), UNFRAMEABLE_HEADERS);
  assert.notEqual(encodeHeaders([{ ['n'.repeat(65_535)]: 'v' }]), UNFRAMEABLE_HEADERS, 'the longest name that fits is kept');
  const ring = new RingWriter(1 << 20);
  const reader = new FrameReader(ring.sab);
  assert.ok(ring.write(0, 0, 0, 1, -1, null, Buffer.from('v1'), encodeHeaders([{ [long]: 'v' }])));
  const chunk = ring.close()!;
  reader.acquire();
  reader.at(chunk.start);
  assert.equal(reader.headersLength, -1);
  assert.equal(reader.frameBytes, frameBytes(-1, 2, 0));
});

test('decodeHeaders refuses a block whose lengths run past it, naming the header and byte', () => {
  const good = Buffer.from(encodeHeaders([{ a: 'xyz' }, { bb: null }])!);
  assert.deepEqual(decodeHeaders(good, 0, good.length), [{ name: 'a', value: Buffer.from('xyz') }, { name: 'bb', value: null }]);
  for (let cut = 1; cut < good.length; cut++) {
    if (cut === 10) continue; // the end of the first header: a valid, shorter block
    assert.throws(() => decodeHeaders(good, 0, cut), /^RangeError: header \d at byte \d+: /, `cut at ${cut}`);
  }
  const lying = Buffer.from(good);
  lying.writeInt32LE(1000, 3);
  assert.throws(() => decodeHeaders(lying, 0, lying.length), /header 0 at byte 0: a value of 1000 bytes runs past the block/);
});
