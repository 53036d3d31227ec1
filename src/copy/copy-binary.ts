/**
 * PostgreSQL's binary COPY format (COPY ... FROM STDIN (FORMAT binary)), as written by the decode
 * workers and framed by the sink.
 *
 *   stream  = header tuple* trailer
 *   header  = "PGCOPY\n\xff\r\n\0" (11 bytes) | i32 flags = 0 | i32 header-extension length = 0
 *   tuple   = i16 field count | field*          (every integer big-endian)
 *   field   = i32 length (-1 = NULL) | length bytes of the type's binary send/recv representation
 *   trailer = i16 -1
 *
 * Workers write only tuples (RowWriter); the sink writes the header, the tuples of every chunk in the
 * batch, then the trailer, in one COPY. The per-type representations are in column-encoders.ts.
 */
export const COPY_BINARY_HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

const TWO_POW_32 = 4294967296;
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('copy-binary.ts assumes a little-endian machine');

/**
 * An append-only output buffer for tuples. Grows by doubling (once per chunk at most, in practice);
 * `rowStart`/`rollback` let a worker drop a half-written row when one of its values does not fit.
 */
export class RowWriter {
  buf: Buffer;
  pos = 0;
  rowStart = 0;

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1024, initialBytes));
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  beginRow(fields: number): void {
    this.rowStart = this.pos;
    this.ensure(2);
    this.buf[this.pos] = fields >>> 8;
    this.buf[this.pos + 1] = fields;
    this.pos += 2;
  }

  rollback(): void {
    this.pos = this.rowStart;
  }

  null(): void {
    this.ensure(4);
    writeInt32(this.buf, this.pos, -1);
    this.pos += 4;
  }

  /** A field's length prefix followed by `length` bytes the caller writes at the returned position. */
  field(length: number): number {
    this.ensure(4 + length);
    writeInt32(this.buf, this.pos, length);
    const at = this.pos + 4;
    this.pos = at + length;
    return at;
  }

  /** A field of the bytes [start, end) of `src`. */
  copyField(src: Uint8Array, start: number, end: number): void {
    copyBytes(this.buf, this.field(end - start), src, start, end);
  }

  /** Bytes appended without a length prefix (JSON text being built inside a field). */
  append(src: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    copyBytes(this.buf, this.pos, src, start, end);
    this.pos += end - start;
  }

  appendByte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  // field() may replace this.buf when it grows, so it is always called before this.buf is read.

  int16(v: number): void {
    const at = this.field(2);
    this.buf.writeInt16BE(v, at);
  }

  int32(v: number): void {
    const at = this.field(4);
    // Buffer's own error (and message) for a value out of range.
    if (v > 2147483647 || v < -2147483648) this.buf.writeInt32BE(v, at);
    writeInt32(this.buf, at, v);
  }

  /** A safe integer as int8. */
  int64(v: number): void {
    const at = this.field(8);
    writeInt64(this.buf, at, v);
  }

  float32(v: number): void {
    const at = this.field(4);
    this.buf.writeFloatBE(v, at);
  }

  float64(v: number): void {
    const at = this.field(8);
    const buf = this.buf;
    F64[0] = v;
    // Big-endian from the little-endian scratch (what Buffer#writeDoubleBE does, without its checks).
    for (let i = 0; i < 8; i++) buf[at + i] = F64_BYTES[7 - i];
  }

  bool(v: boolean): void {
    const at = this.field(1);
    this.buf[at] = v ? 1 : 0;
  }

  /** UTF-8 text, optionally preceded by one prefix byte (jsonb's version byte). */
  utf8(s: string, prefixByte = -1): void {
    const extra = prefixByte >= 0 ? 1 : 0;
    this.ensure(4 + extra + s.length * 3);
    const lengthAt = this.pos;
    let at = lengthAt + 4;
    if (extra) this.buf[at++] = prefixByte;
    const written = this.buf.write(s, at);
    writeInt32(this.buf, lengthAt, written + extra);
    this.pos = at + written;
  }

  bytes(b: Uint8Array): void {
    const at = this.field(b.length);
    this.buf.set(b, at);
  }
}

export function writeInt64(buf: Buffer, at: number, v: number): void {
  const low = v >>> 0;
  const high = (v - low) / TWO_POW_32;
  // Buffer's own error (and message) for a value beyond int64.
  if (high < -2147483648 || high > 2147483647) buf.writeInt32BE(high, at);
  writeInt32(buf, at, high);
  writeInt32(buf, at + 4, low);
}

/** A big-endian 32-bit integer (signed or not: the low 32 bits), by hand: Buffer's methods check and cost more. */
export function writeInt32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = v >>> 16;
  buf[at + 2] = v >>> 8;
  buf[at + 3] = v;
}

/** A copy of src[start, end) to dst at `at`: a loop for the short strings most fields are, Buffer#copy beyond. */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): void {
  if (end - start > 48) {
    dst.set(src.subarray(start, end), at);
    return;
  }
  for (let i = start; i < end; i++) dst[at++] = src[i];
}
