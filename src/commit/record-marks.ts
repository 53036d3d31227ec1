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
 * batch's ranges added, each with the lowest and the highest mark that falls in it.
 */
export function mergeMarks(done: string, stored: RecordMark[] | null, added: ReadonlyArray<{ from: number; to: number; marks?: RecordMark[] }>): RecordMark[] {
  const ranges = unionRanges([...parseRanges(done), ...added.map((r): [number, number] => [r.from, r.to])]);
  const all = [...(stored ?? []), ...added.flatMap((r) => r.marks ?? [])];
  const out: RecordMark[] = [];
  for (const [lo, hi] of ranges) {
    let first: RecordMark | null = null;
    let last: RecordMark | null = null;
    for (const m of all) {
      if (m[0] < lo || m[0] >= hi) continue;
      if (first === null || m[0] < first[0]) first = m;
      if (last === null || m[0] > last[0]) last = m;
    }
    if (first !== null) out.push(first);
    if (last !== null && last !== first && last[0] !== first![0]) out.push(last);
  }
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
