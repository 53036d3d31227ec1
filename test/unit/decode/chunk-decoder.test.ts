import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeOrder, ORDER_TABLE_COLUMNS, orderPipeline } from '../../../bench/lib/orders';
import { ChunkDecoder } from '../../../src/decode/chunk-decoder';
import { planColumns } from '../../../src/decode/column-plan';
import { encodeHeaders } from '../../../src/ring/headers';
import { RingWriter } from '../../../src/ring/ring-writer';

test('a chunk\'s tuple buffer is sized from the last chunk of its pipeline: no grown buffer left behind as garbage', () => {
  const problems: string[] = [];
  const plan = planColumns(orderPipeline('avro'), 't', ORDER_TABLE_COLUMNS, problems);
  assert.deepEqual(problems, []);
  const ring = new RingWriter(8 << 20);
  const decoder = new ChunkDecoder(ring.sab, [plan]);
  const sizes: Array<{ capacity: number; used: number; ring: number }> = [];
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < 2000; i++) assert.ok(ring.write(0, 0, 0, c * 2000 + i, 0, null, encodeOrder(c * 2000 + i)));
    const chunk = ring.close()!;
    const { result } = decoder.decode({ start: chunk.start, end: chunk.end, frames: chunk.frames });
    assert.equal(result.outputs[0].rows, 2000);
    sizes.push({ capacity: result.outputs[0].buffer.byteLength, used: result.outputs[0].byteLength, ring: chunk.end - chunk.start });
    ring.release(chunk);
  }
  // The premise: Avro orders make tuples larger than their frames, so the first (unknown) chunk grows once.
  assert.ok(sizes[0].used > sizes[0].ring, `tuples ${sizes[0].used} B for ${sizes[0].ring} ring bytes`);
  for (const s of sizes.slice(1)) {
    assert.ok(s.capacity >= s.used && s.capacity <= s.used * 1.15 + 8192, `capacity ${s.capacity} B for ${s.used} B of tuples`);
  }
});

test('a frame whose headers could not be framed is a record failure; the records around it are written', () => {
  const plan = planColumns(orderPipeline('avro'), 't', ORDER_TABLE_COLUMNS, []);
  const ring = new RingWriter(1 << 20);
  const decoder = new ChunkDecoder(ring.sab, [plan]);
  assert.ok(ring.write(0, 0, 0, 0, 0, null, encodeOrder(0)));
  assert.ok(ring.write(0, 0, 0, 1, 0, null, encodeOrder(1), encodeHeaders([{ ['h'.repeat(70_000)]: 'v' }])));
  assert.ok(ring.write(0, 0, 0, 2, 0, null, encodeOrder(2)));
  const chunk = ring.close()!;
  const { result } = decoder.decode({ start: chunk.start, end: chunk.end, frames: chunk.frames });
  assert.equal(result.outputs[0].rows, 2);
  assert.equal(result.failures.length, 1);
  assert.equal(result.failures[0].error.code, 'ENG_RECORD_DECODE');
  assert.equal(result.failures[0].offset, 1);
  assert.match(result.failures[0].error.message, /a header name is longer than 65535 bytes/);
});
