import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Batch } from '../../../src/batcher/batcher';
import { CommitTracker } from '../../../src/commit/commit-tracker';
import { doneRanges } from '../../../src/engine/batch-writer';
import type { ChunkWork } from '../../../src/ring/chunk-work';

function chunk(pieces: ChunkWork['pieces']): ChunkWork {
  return { region: { seq: 0, start: 0, end: 0, frames: 0, released: false }, pieces, pending: 0, settled: false, deadLetters: null, firstTimestamp: -1 };
}

test("a batch's finished offsets: its chunks' pieces of its pipeline, merged where they touch", () => {
  const tracker = new CommitTracker();
  const a = tracker.assign('t', 0);
  a.start(100);
  a.ownerEpoch = 7;
  const b = tracker.assign('t', 1);
  b.start(0);
  b.ownerEpoch = 3;
  const other = tracker.assign('u', 0);
  other.pipeline = 1;
  other.start(0);
  const c1 = chunk([a.open(149), b.open(9), other.open(5)]);
  const skipped = a.open(199); // in a batch still in flight
  const c2 = chunk([a.open(299), b.open(19)]);
  const none = new Uint8Array(0);
  const batch: Batch = { pipeline: 0, rows: 0, bytes: 0, parts: [c2, c1].map((c) => ({ chunk: c, rows: 0, bytes: none, frames: new Int32Array(0) })) };
  assert.equal(skipped.first, 150);
  assert.deepEqual(doneRanges(batch), [
    { topic: 't', partition: 0, from: 100, to: 150, epoch: 7 },
    { topic: 't', partition: 0, from: 200, to: 300, epoch: 7 },
    { topic: 't', partition: 1, from: 0, to: 20, epoch: 3 },
  ]);
  b.fenced = true;
  assert.deepEqual(doneRanges(batch).map((r) => r.partition), [0, 0], 'a fenced partition has nothing to write');
});
