import { isUtf8 } from 'node:buffer';
import type { ColumnEncoder, ValueHint } from '../copy/column-encoders';
import { writeInt32, writeInt64, type RowWriter } from '../copy/copy-binary';
import type { WorkerColumn } from './column-plan';

/**
 * [Transcode] Column writes the Avro and Protobuf transcoders share: the bytes column-encoders.ts would
 * write for the same value, without making the value.
 */

export const EPOCH_2000_MS = 946_684_800_000;

/**
 * The column encoder for a number, with the common cases written directly: the same bytes (RowWriter's
 * int64/int32/float64 are what the encoders call), and whatever is not plainly in range goes to the
 * encoder for its check and message.
 */
export function numberWriter(col: WorkerColumn, hint: ValueHint | null, enc: ColumnEncoder): (w: RowWriter, v: number) => void {
  if (hint !== null || col.type.elemTypname !== null) return enc;
  switch (col.type.typname) {
    case 'int8':
      return (w, v) => (Number.isSafeInteger(v) ? w.int64(v) : enc(w, v));
    case 'int4':
      return (w, v) => (v === (v | 0) ? w.int32(v) : enc(w, v));
    case 'float8':
      return (w, v) => w.float64(v);
    case 'timestamp':
    case 'timestamptz':
      // Epoch milliseconds (the encoder's reading of a number) as microseconds since 2000.
      return (w, v) => {
        if (!Number.isFinite(v)) return enc(w, v);
        const at = w.field(8);
        writeInt64(w.buf, at, Math.round((v - EPOCH_2000_MS) * 1000));
      };
    default:
      return enc;
  }
}

/**
 * A text field of the bytes [at, at + length) of `src` when they are what text can take as they are:
 * UTF-8 that decodes and encodes back to the same bytes, without NUL. Otherwise writes nothing and
 * returns false (the caller goes through the column's encoder, which replaces or refuses them).
 */
export function copyText(w: RowWriter, src: Buffer, at: number, length: number): boolean {
  const to = w.field(length);
  const out = w.buf;
  let high = false;
  for (let i = 0; i < length; i++) {
    const c = src[at + i];
    if (c === 0) {
      w.pos = to - 4;
      return false;
    }
    if (c >= 0x80) high = true;
    out[to + i] = c;
  }
  if (high && !isUtf8(src.subarray(at, at + length))) {
    w.pos = to - 4;
    return false;
  }
  return true;
}

/**
 * A one-dimensional array field as column-encoders' arrayEncoder writes it: openArray leaves room for
 * the header (shorter when the array is empty), the caller writes the items, closeArray fills it in.
 */
export function openArray(w: RowWriter, empty: boolean): number {
  w.ensure(24);
  const lengthAt = w.pos;
  w.pos = lengthAt + 4 + (empty ? 12 : 20);
  return lengthAt;
}

export function closeArray(w: RowWriter, lengthAt: number, count: number, hasNull: number, elemOid: number): void {
  fillArrayHeader(w.buf, lengthAt, w.pos, count, hasNull, elemOid);
}

/** The array field's length and header at `lengthAt`, its items written up to `end` (see openArray). */
export function fillArrayHeader(buf: Uint8Array, lengthAt: number, end: number, count: number, hasNull: number, elemOid: number): void {
  const at = lengthAt + 4;
  writeInt32(buf, lengthAt, end - at);
  writeInt32(buf, at, count === 0 ? 0 : 1);
  writeInt32(buf, at + 4, hasNull);
  writeInt32(buf, at + 8, elemOid);
  if (count !== 0) {
    writeInt32(buf, at + 12, count);
    writeInt32(buf, at + 16, 1);
  }
}
