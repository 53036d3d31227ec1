import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prng } from '../../helpers/random-avro';
import { encodeOrder, encodeOrderProto, ORDER_TABLE_COLUMNS, orderPipeline } from '../../../bench/lib/orders';
import { ChunkDecoder } from '../../../src/decode/chunk-decoder';
import { planColumns } from '../../../src/decode/column-plan';
import { RingWriter } from '../../../src/ring/ring-writer';


/** Poison of the kinds a decoder meets: random bytes, truncated records, flipped bytes, huge varint lengths. */
function poison(valid: (i: number) => Buffer, i: number, rnd: () => number): Buffer {
  const v = valid(i);
  switch (i % 5) {
    case 0:
      return Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
    case 1:
      return v.subarray(0, Math.floor(rnd() * v.length));
    case 2: {
      const c = Buffer.from(v);
      for (let k = 0; k < 3; k++) c[Math.floor(rnd() * c.length)] = Math.floor(rnd() * 256);
      return c;
    }
    case 3: {
      // A varint that claims a length or count of about 2^34 where the schema expects one.
      const at = Math.floor(rnd() * v.length);
      return Buffer.concat([v.subarray(0, at), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x7f]), v.subarray(at)]);
    }
    default:
      return Buffer.concat([v, Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 256)))]);
  }
}

const FORMATS = {
  avro: encodeOrder,
  protobuf: encodeOrderProto,
  json: (i: number) => Buffer.from(JSON.stringify({ id: i, user_id: i % 7, country: 'DE', sku: `S${i}`, amount: i / 100, created_at: '2026-01-01T00:00:00Z', tags: ['a'], attrs: { k: 'v' } })),
} as const;

for (const [format, valid] of Object.entries(FORMATS)) {
  test(`fuzz (${format}): poison never throws out of a worker, never fails the chunk, and good records around it still become rows`, { timeout: 120_000 }, () => {
    const problems: string[] = [];
    const plan = planColumns(orderPipeline(format as 'avro' | 'protobuf' | 'json'), 't', ORDER_TABLE_COLUMNS, problems);
    assert.deepEqual(problems, []);
    const rnd = prng(42);
    for (let round = 0; round < 20; round++) {
      const ring = new RingWriter(4 << 20);
      const decoder = new ChunkDecoder(ring.sab, [plan]);
      let good = 0;
      let frames = 0;
      for (let i = 0; i < 500; i++) {
        const isGood = i % 2 === 0;
        const value = isGood ? valid(i) : poison(valid, i + round * 500, rnd);
        assert.ok(ring.write(0, 0, 0, i, 1, null, value));
        frames++;
        if (isGood) good++;
      }
      const chunk = ring.close()!;
      const { result } = decoder.decode({ start: chunk.start, end: chunk.end, frames: chunk.frames });
      assert.equal(result.fatal, null, `round ${round}: ${result.fatal?.message}`);
      const rows = result.outputs.reduce((n, o) => n + o.rows, 0);
      assert.equal(rows + result.failures.length, frames, 'every record is a row or a failure');
      assert.ok(rows >= good, `round ${round}: ${rows} rows for ${good} good records`);
      for (const f of result.failures) assert.match(f.error.code, /^ENG_RECORD_(DECODE|VALUE|NULL)$/);
    }
  });
}
