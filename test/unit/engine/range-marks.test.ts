import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Batch } from '../../../src/batcher/batcher';
import { recordHash } from '../../../src/commit/record-marks';
import { RangeMarker } from '../../../src/engine/range-marks';
import { FrameReader } from '../../../src/ring/frame-reader';
import { RingWriter, type RingChunk } from '../../../src/ring/ring-writer';
import type { ChunkWork } from '../../../src/ring/chunk-work';

/** Frame positions of a closed chunk, in ring order. */
function positions(ring: RingWriter, chunk: RingChunk): number[] {
  const reader = new FrameReader(ring.sab);
  const out: number[] = [];
  for (let pos = chunk.start, n = 0; n < chunk.frames; n++) {
    reader.at(pos);
    out.push(pos);
    pos += reader.frameBytes;
  }
  return out;
}

test('[DR] each range gets its first and last record that made a row, whatever order the batch\'s parts arrived in', () => {
  const ring = new RingWriter(1 << 20);
  // Two chunks, partitions 0 and 1 interleaved; topic id 3. Partition 1's offset 11 made no row.
  const write = (partition: number, offset: number) => ring.write(0, 3, partition, offset, 1_000 + offset, Buffer.from(`k${offset}`), Buffer.from(`v${partition}-${offset}`));
  for (const [p, o] of [[0, 100], [1, 10], [0, 101], [1, 11]]) write(p, o);
  const first = positions(ring, ring.close()!);
  for (const [p, o] of [[0, 102], [1, 12], [0, 103]]) write(p, o);
  const second = positions(ring, ring.close()!);
  const part = (frames: number[]) => ({ chunk: {} as ChunkWork, rows: frames.length, bytes: new Uint8Array(0), frames: Int32Array.from(frames) });
  // The second chunk decoded first: its part comes first in the batch.
  const batch: Batch = { pipeline: 0, parts: [part(second), part([first[0], first[1], first[2]])], rows: 6, bytes: 0 };
  const marker = new RangeMarker(ring.sab, (topic) => (topic === 't' ? 3 : -1));
  const ranges = marker.mark(
    [
      { topic: 't', partition: 0, from: 100, to: 104, epoch: 1 },
      { topic: 't', partition: 1, from: 10, to: 13, epoch: 1 },
      { topic: 't', partition: 1, from: 13, to: 20, epoch: 1 },
    ],
    batch,
  );
  const mark = (p: number, o: number) => [o, 1_000 + o, recordHash(Buffer.from(`k${o}`), Buffer.from(`v${p}-${o}`))];
  assert.deepEqual(ranges[0].marks, [mark(0, 100), mark(0, 103)]);
  assert.deepEqual(ranges[1].marks, [mark(1, 10), mark(1, 12)]);
  assert.deepEqual(ranges[2].marks, [], 'no row in the range: no mark');
});
