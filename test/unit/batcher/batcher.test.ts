import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher, type Batch, type BatchPart } from '../../../src/batcher/batcher';
import type { ChunkWork } from '../../../src/ring/chunk-work';

const chunk = {} as ChunkWork;
const part = (rows: number, bytes: number): BatchPart => ({ chunk, rows, bytes: new Uint8Array(bytes), frames: new Int32Array(rows) });

test('a batch is emitted at maxRows or maxBytes, per pipeline', () => {
  const out: Batch[] = [];
  const b = new Batcher([{ maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 60_000, whenIdle: false }, { maxRows: 1e6, maxBytes: 1000, maxWaitMs: 60_000, whenIdle: false }], (x) => out.push(x));
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
  const b = new Batcher([{ maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 30, whenIdle: false }], (x) => out.push(x));
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

test('whenIdle: a chunk goes at once while none of its pipeline is being written; meanwhile chunks gather into the next batch', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out: Batch[] = [];
  const b = new Batcher([{ maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 30, whenIdle: true }], (x) => out.push(x), 2);
  b.add(0, part(5, 10));
  assert.deepEqual(out.map((x) => x.rows), [5], 'at once: nothing was being written');
  b.add(0, part(6, 10));
  b.add(0, part(7, 10));
  assert.equal(out.length, 1, 'the first batch is being written: the chunks wait');
  b.written(0);
  assert.deepEqual(out.map((x) => x.rows), [5, 13], 'it was written: what gathered goes as one batch');
  b.add(0, part(1, 10));
  t.mock.timers.tick(30);
  assert.deepEqual(out.map((x) => x.rows), [5, 13, 1], 'maxWaitMs still cuts a batch while one is being written (onto the other connection)');
  b.add(0, part(100, 10));
  assert.equal(out.at(-1)!.rows, 100, 'and maxRows');
  b.written(0);
  b.written(0);
  b.written(0);
  b.add(0, part(2, 10));
  assert.equal(out.at(-1)!.rows, 2, 'all written: at once again');
});

test('whenIdle: a free connection goes to a pipeline with nothing being written; whenIdle: false waits for maxWaitMs', () => {
  const out: Batch[] = [];
  const cfg = { maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 60_000 };
  const b = new Batcher([{ ...cfg, whenIdle: false }, { ...cfg, whenIdle: true }, { ...cfg, whenIdle: true }], (x) => out.push(x), 1);
  b.add(0, part(5, 10));
  assert.equal(out.length, 0, 'pipeline 0 waits for its maxWaitMs');
  b.add(1, part(1, 10));
  b.add(2, part(2, 10));
  b.add(1, part(3, 10));
  assert.deepEqual(out.map((x) => x.pipeline), [1], 'one connection: pipeline 2 waits for it');
  b.written(1);
  assert.deepEqual(out.map((x) => [x.pipeline, x.rows]), [[1, 1], [2, 2]], 'the pipeline that waited for the connection goes first');
  b.written(2);
  assert.deepEqual(out.map((x) => [x.pipeline, x.rows]), [[1, 1], [2, 2], [1, 3]], 'then the one whose batch finished');
  b.written(1);
  assert.equal(out.length, 3);
  b.flushAll();
  assert.equal(out.at(-1)!.pipeline, 0);
});
