import type { Batch } from '../batcher/batcher';
import type { DoneRange } from '../commit/offsets-table';
import { recordHash, type RecordMark } from '../commit/record-marks';
import { FrameReader } from '../ring/frame-reader';

/**
 * [DR] Gives each finished range of a batch the marks (commit/record-marks.ts) of its first and last
 * record that made a row, read from the ring frames the rows came from (they stay in the ring until their
 * chunk settles). Per batch, not per record: in each part the scan stops at the partition's first frame
 * from either end, and only two records per range are hashed.
 */
export class RangeMarker {
  private readonly reader: FrameReader;

  constructor(ring: SharedArrayBuffer, private readonly topicIdOf: (topic: string) => number) {
    this.reader = new FrameReader(ring);
  }

  mark(ranges: DoneRange[], batch: Batch): DoneRange[] {
    for (const range of ranges) {
      const topicId = this.topicIdOf(range.topic);
      // Parts arrive in the order their chunks were decoded, not polled: every part is looked at. Within
      // a part (one chunk) a partition's frames are in offset order, so each end of it stops at a match.
      let first: RecordMark | null = null;
      let last: RecordMark | null = null;
      for (const part of batch.parts) {
        const lo = this.find(part.frames, topicId, range, 1);
        if (lo !== null && (first === null || lo[0] < first[0])) first = lo;
        const hi = this.find(part.frames, topicId, range, -1);
        if (hi !== null && (last === null || hi[0] > last[0])) last = hi;
      }
      range.marks = first === null ? [] : last === null || last[0] === first[0] ? [first] : [first, last];
    }
    return ranges;
  }

  private find(frames: Int32Array, topicId: number, range: DoneRange, step: 1 | -1): RecordMark | null {
    const r = this.reader;
    for (let j = step === 1 ? 0 : frames.length - 1; j >= 0 && j < frames.length; j += step) {
      r.at(frames[j]);
      if (r.topicId !== topicId || r.partition !== range.partition) continue;
      const offset = r.offset;
      if (offset < range.from || offset >= range.to) continue;
      const key = r.keyLength < 0 ? null : r.buffer.subarray(r.keyStart, r.keyStart + r.keyLength);
      const value = r.valueLength < 0 ? null : r.buffer.subarray(r.valueStart, r.valueStart + r.valueLength);
      return [offset, r.timestamp, recordHash(key, value)];
    }
    return null;
  }
}
