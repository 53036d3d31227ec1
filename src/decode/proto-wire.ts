import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs';

/**
 * [Transcode] Protobuf wire reading for proto-transcoder.ts, mirroring protobufjs 8.8's Reader (what its
 * generated decoders call, see node_modules/protobufjs/src/reader.js and decoder.js) without allocating:
 * the same bytes are accepted, the same positions reached and the same errors thrown, with the same
 * messages, so a record fails the same way on both paths. Reader methods that allocate nothing
 * (uint32, int32, sint32, bool, fixed32, float, double, tag, size, skipType) are called as they are.
 *
 * Wire format: a message is a sequence of (tag varint = field number << 3 | wire type, value); wire type
 * 0 varint, 1 eight bytes, 2 length-delimited (size varint, then that many bytes: strings, bytes,
 * messages, packed repeated scalars, map entries), 3/4 group start/end, 5 four bytes.
 */

/** protobufjs's Reader with the methods its generated decoders use that its typings leave out. */
export interface WireReader extends protobuf.Reader {
  tag(): number;
  size(): number;
  stringVerify(): string;
  skipType(wireType: number, depth?: number, fieldNumber?: number): this;
}

export const RECURSION_LIMIT = (protobuf.Reader as unknown as { recursionLimit: number }).recursionLimit;

/** Low and high 32 bits of the last 64-bit read (module state: no object per read). */
export const bits = { lo: 0, hi: 0 };

function indexOutOfRange(r: WireReader, writeLength?: number): RangeError {
  return new RangeError(`index out of range: ${r.pos} + ${writeLength || 1} > ${r.len}`);
}

/** protobufjs's readLongVarint: a varint of up to 10 bytes into `bits`. */
export function readVarint64(r: WireReader): void {
  const buf = r.buf;
  let lo = 0;
  let hi = 0;
  let i = 0;
  if (r.len - r.pos > 4) {
    for (; i < 4; ++i) {
      lo = (lo | ((buf[r.pos] & 127) << (i * 7))) >>> 0;
      if (buf[r.pos++] < 128) return set(lo, hi);
    }
    lo = (lo | ((buf[r.pos] & 127) << 28)) >>> 0;
    hi = (hi | ((buf[r.pos] & 127) >> 4)) >>> 0;
    if (buf[r.pos++] < 128) return set(lo, hi);
    i = 0;
  } else {
    for (; i < 4; ++i) {
      if (r.pos >= r.len) throw indexOutOfRange(r);
      lo = (lo | ((buf[r.pos] & 127) << (i * 7))) >>> 0;
      if (buf[r.pos++] < 128) return set(lo, hi);
    }
    throw indexOutOfRange(r);
  }
  if (r.len - r.pos > 4) {
    for (; i < 5; ++i) {
      hi = (hi | ((buf[r.pos] & 127) << (i * 7 + 3))) >>> 0;
      if (buf[r.pos++] < 128) return set(lo, hi);
    }
  } else {
    for (; i < 5; ++i) {
      if (r.pos >= r.len) throw indexOutOfRange(r);
      hi = (hi | ((buf[r.pos] & 127) << (i * 7 + 3))) >>> 0;
      if (buf[r.pos++] < 128) return set(lo, hi);
    }
  }
  throw new Error('invalid varint encoding');
}

function set(lo: number, hi: number): void {
  bits.lo = lo;
  bits.hi = hi;
}

/** protobufjs's readFixed64 into `bits`. */
export function readFixed64(r: WireReader): void {
  if (r.pos + 8 > r.len) throw indexOutOfRange(r, 8);
  const buf = r.buf;
  const at = r.pos;
  bits.lo = (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
  bits.hi = (buf[at + 4] | (buf[at + 5] << 8) | (buf[at + 6] << 16) | (buf[at + 7] << 24)) >>> 0;
  r.pos = at + 8;
}

/** LongBits.zzDecode: sint64's zigzag. */
export function zigzagDecode64(): void {
  const mask = -(bits.lo & 1);
  const lo = bits.lo;
  const hi = bits.hi;
  bits.lo = (((lo >>> 1) | (hi << 31)) ^ mask) >>> 0;
  bits.hi = ((hi >>> 1) ^ mask) >>> 0;
}

/**
 * A length-delimited string or bytes value: its start (r.pos is then its end), with protobufjs's bounds
 * check. `verify` (proto3's utf8_validation VERIFY, Reader.stringVerify): invalid UTF-8 throws
 * protobufjs's own error, produced by calling it.
 */
export function delimited(r: WireReader, verify: boolean): number {
  const lengthAt = r.pos;
  const length = r.size();
  const start = r.pos;
  const end = start + length;
  if (end > r.len) throw indexOutOfRange(r, length);
  r.pos = end;
  if (verify && !isAsciiOrUtf8(r.buf, start, end)) {
    r.pos = lengthAt;
    r.stringVerify();
  }
  return start;
}

function isAsciiOrUtf8(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return isUtf8(buf.subarray(start, end));
  return true;
}

/** The value of a 64-bit read as protobufjs gives it: a Long (protobufjs is configured with long.js here). */
export function longOf(lo: number, hi: number, unsigned: boolean): unknown {
  return new protobuf.util.Long(lo | 0, hi | 0, unsigned);
}

/** The 64-bit value as a number when exact (what column-encoders' fromLong gives), else NaN. */
export function safeNumberOf(lo: number, hi: number, unsigned: boolean): number {
  const n = (unsigned ? hi >>> 0 : hi | 0) * 4294967296 + (lo >>> 0);
  return Number.isSafeInteger(n) ? n : NaN;
}

// Schema facts both Protobuf transcoders use (proto-transcoder.ts, proto-fast-row.ts).

interface FieldFeatures {
  _features?: { utf8_validation?: string; enum_type?: string };
}

/** What phase 1 does not mirror: required fields (the decoder's checks), groups, closed enums. */
export function mirrorable(type: protobuf.Type, seen: Set<protobuf.Type>): boolean {
  if (seen.has(type)) return true;
  seen.add(type);
  for (const f of type.fieldsArray) {
    f.resolve();
    if (f.required || f.delimited) return false;
    const t = f.resolvedType;
    if (t instanceof protobuf.Enum && (t as unknown as FieldFeatures)._features?.enum_type === 'CLOSED') return false;
    if (t instanceof protobuf.Type && !mirrorable(t, seen)) return false;
  }
  return true;
}

export function verifies(f: protobuf.Field): boolean {
  return (f as unknown as FieldFeatures)._features?.utf8_validation === 'VERIFY';
}

/** The scalar type protobufjs reads a field as (enums as int32). */
export function wireType(f: protobuf.Field): string {
  return f.resolvedType instanceof protobuf.Enum ? 'int32' : f.type;
}
