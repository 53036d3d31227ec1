import { createHash } from 'node:crypto';
import { parseRanges } from './offsets-table';

/**
 * [DR] A record named so that it can be found on another cluster, where MirrorMaker 2 copied it under
 * another offset: its offset here, its timestamp and a hash of its key and value (MM2 keeps both
 * byte for byte, and the timestamp). Stored in the offsets table's `marks` as a JSON array:
 *
 *   [offset, timestamp ms, hash]      hash: the first 16 hex digits of
 *                                     SHA-1(int32 key length | key | int32 value length | value),
 *                                     lengths big-endian, -1 for a null key or value
 *
 * Each finished range of a partition keeps the marks of its first and last record that made a row; a
 * failover searches the other cluster for them. Two records with the same timestamp, key and value (a
 * producer's retry without idempotence) look alike: the search takes the first from where it starts.
 */
export type RecordMark = [offset: number, timestamp: number, hash: string];

const LENGTH = Buffer.alloc(4);

export function recordHash(key: Uint8Array | null, value: Uint8Array | null): string {
  const h = createHash('sha1');
  for (const part of [key, value]) {
    LENGTH.writeInt32BE(part === null ? -1 : part.length, 0);
    h.update(LENGTH);
    if (part !== null) h.update(part);
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * The marks a partition keeps after a batch: the finished ranges (`done`, int8multirange text) with the
 * batch's ranges added, each with its lowest and highest mark; the first range (everything up to the resume
 * point) also keeps a few older marks, spaced by powers of two back from its last one, the newest in each
 * span. When the other cluster never received the last record (MM2 lagged), the newest older one it has
 * tells exactly how offsets there line up with offsets here, hence how many records it lacks.
 */
export function mergeMarks(done: string, stored: RecordMark[] | null, added: ReadonlyArray<{ from: number; to: number; marks?: RecordMark[] }>): RecordMark[] {
  const ranges = unionRanges([...parseRanges(done), ...added.map((r): [number, number] => [r.from, r.to])]);
  const all = [...(stored ?? []), ...added.flatMap((r) => r.marks ?? [])].sort((a, b) => a[0] - b[0]);
  const out: RecordMark[] = [];
  ranges.forEach(([lo, hi], i) => {
    const inRange = all.filter((m) => m[0] >= lo && m[0] < hi);
    if (inRange.length === 0) return;
    const last = inRange[inRange.length - 1];
    const keep = new Map<number, RecordMark>([[-1, inRange[0]]]);
    if (i === 0) {
      // Newest first: the first mark seen in a span is the one kept.
      for (let j = inRange.length - 2; j > 0; j--) {
        const span = Math.floor(Math.log2(last[0] - inRange[j][0]));
        if (!keep.has(span)) keep.set(span, inRange[j]);
      }
    }
    keep.set(Infinity, last);
    const kept = [...new Set(keep.values())].sort((a, b) => a[0] - b[0]);
    for (const m of kept) if (out.length === 0 || out[out.length - 1][0] !== m[0]) out.push(m);
  });
  return out;
}

/** Sorted, merged [from, to) ranges. */
export function unionRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}
