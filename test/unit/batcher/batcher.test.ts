import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher, type Batch, type BatchPart } from '../../../src/batcher/batcher';
import type { ChunkWork } from '../../../src/ring/chunk-work';

const chunk = {} as ChunkWork;
const part = (rows: number, bytes: number): BatchPart => ({ chunk, rows, bytes: new Uint8Array(bytes), frames: new Int32Array(rows) });

test('a batch is emitted at maxRows or maxBytes, per pipeline', () => {
  const out: Batch[] = [];
  const b = new Batcher([{ maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 60_000 }, { maxRows: 1e6, maxBytes: 1000, maxWaitMs: 60_000 }], (x) => out.push(x));
  b.add(0, part(60, 10));
  b.add(1, part(1, 600));
  assert.equal(out.length, 0);
  b.add(0, part(60, 10));
  b.add(1, part(1, 600));
  assert.deepEqual(out.map((x) => [x.pipeline, x.rows, x.bytes, x.parts.length]), [[0, 120, 20, 2], [1, 2, 1200, 2]]);
  b.flushAll();
  assert.equal(out.length, 2, 'nothing left to flush');
});

test('a partial batch is emitted maxWaitMs after its first chunk', (t) => {
  // The clock is the test's: the batch is due at exactly 30 ms, however busy the machine is.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out: Batch[] = [];
  const b = new Batcher([{ maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 30 }], (x) => out.push(x));
  b.add(0, part(5, 10));
  assert.equal(b.bufferedRows, 5);
  t.mock.timers.tick(29);
  assert.equal(out.length, 0, 'not before maxWaitMs');
  b.add(0, part(1, 10));
  t.mock.timers.tick(1);
  assert.equal(out.length, 1);
  assert.equal(out[0].rows, 6, 'measured from the first chunk, not the last');
  assert.equal(b.bufferedRows, 0);
});
