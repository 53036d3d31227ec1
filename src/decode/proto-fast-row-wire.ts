import protobuf from 'protobufjs';
import type { Source } from './fast-row';

/**
 * [Transcode] Protobuf wire reads as generated code (proto-fast-row.ts): what protobufjs 8.8's Reader
 * accepts (see proto-wire.ts, which mirrors it for the closures), narrowed to what is plainly fine. Every
 * read is bounded by the enclosing message's end `E` (a local of the generated code), and anything
 * protobufjs would refuse, or read in a way not mirrored here, answers false: the closures then read
 * the record and fail it with protobufjs's own error, or write it.
 *
 *   - tags: at most 5 bytes, the 5th at most 15 (Reader.tag); field number 0 answers false
 *   - lengths: at most 4 bytes (Reader.size takes 5, but no record here is 256 MiB)
 *   - 32-bit varints: Reader.uint32: 5 bytes of value (the 5th's low 4 bits), then up to 5 more bytes
 *   - 64-bit varints read as numbers: at most 7 bytes in line, longer ones (a negative int64 is 10 bytes)
 *     through long64; a value beyond 2^53 answers false; skipped or checked ones: at most 10 bytes, as
 *     Reader.skip and readLongVarint allow
 *   - strings with proto3's utf8_validation VERIFY: invalid UTF-8 answers false (protobufjs throws)
 *   - wire types 3 and 4 (groups), 6 and 7 answer false
 *
 * Scratch locals: `b` the byte, `s` the scale, `c` a count or a length, `n` the value read, `h` the
 * high bits of a string's bytes.
 */

/** A tag into `into`; the caller's loop (`while (pos < E)`) has checked its first byte is there. */
export function tagRead(src: Source, into: string, E: string): void {
  src.emit(`b = buf[pos++]; if (b < 128) ${into} = b; else { ${into} = b & 127; s = 128; for (;;) { if (pos >= ${E}) return false; b = buf[pos++];`);
  src.emit(`  if (s === 268435456) { if (b > 15) return false; ${into} += b * s; break; } ${into} += (b & 127) * s; s *= 128; if (b < 128) break; } }`);
}

/** A length prefix into n, with the bytes it announces inside the message. */
export function sizeRead(src: Source, E: string): void {
  src.emit(`if (pos >= ${E}) return false; b = buf[pos++]; if (b < 128) n = b; else { n = b & 127; s = 128;`);
  src.emit(`  do { if (pos >= ${E} || s > 2097152) return false; b = buf[pos++]; n += (b & 127) * s; s *= 128; } while (b > 127); }`);
  src.emit(`if (n > ${E} - pos) return false;`);
}

/** Reader.uint32's value into n (as a non-negative number). */
function uint32Read(src: Source, E: string): void {
  src.emit(`if (pos >= ${E}) return false; b = buf[pos++]; if (b < 128) n = b; else { n = b & 127; s = 128; for (;;) { if (pos >= ${E}) return false; b = buf[pos++];`);
  src.emit(`  if (s === 268435456) { n += (b & 15) * s; if (b > 127) { c = 0; do { if (pos >= ${E} || ++c > 5) return false; } while (buf[pos++] > 127); } break; }`);
  src.emit(`  n += (b & 127) * s; s *= 128; if (b < 128) break; } }`);
}

/** How long64 reads the 64 bits: uint64, int64 (two's complement), sint64 (zigzag). */
const UINT64 = 0;
const INT64 = 1;
const SINT64 = 2;

/**
 * A 64-bit varint into n: up to 7 bytes in line (for sint64 the caller then undoes the zigzag); a longer
 * one (a negative int64 is 10 bytes) through long64, which gives the value itself and jumps past the
 * caller's zigzag (`done`, a label around the read and the expression it returns).
 */
function varint64Read(src: Source, E: string, mode: number, into: string): void {
  const longer = `{ ${into} = ${src.constant(long64)}(buf, pos - 7, ${E}, ${mode}); if (${into} !== ${into}) return false; pos = ${src.constant(LONG_END)}[0]; break wide; }`;
  src.emit(`if (pos >= ${E}) return false; b = buf[pos++]; if (b < 128) n = b; else { n = b & 127; s = 128;`);
  src.emit(`  do { if (pos >= ${E}) return false; if (s > 4398046511104) ${longer} b = buf[pos++]; n += (b & 127) * s; s *= 128; } while (b > 127); }`);
}

const LONG_END = new Int32Array(1);

/**
 * A varint of up to 10 bytes at `at` as readVarint64 reads it (proto-wire.ts): the uint64, int64 or
 * sint64 value (`mode`) when it is a safe integer, else NaN (then the column's encoder decides, on the
 * closures' path); where it ends goes to LONG_END[0].
 */
export function long64(buf: Buffer, at: number, E: number, mode: number): number {
  let lo = 0;
  let hi = 0;
  let pos = at;
  for (let i = 0; i < 10; i++) {
    if (pos >= E) return NaN;
    const b = buf[pos++];
    if (i < 4) lo |= (b & 127) << (7 * i);
    else if (i === 4) {
      lo |= (b & 127) << 28;
      hi |= (b & 127) >> 4;
    } else hi |= (b & 127) << (7 * i - 32);
    if (b < 128) {
      LONG_END[0] = pos;
      if (mode === SINT64) {
        // LongBits.zzDecode: the value's bits shifted right by one, flipped when the lowest was set.
        const mask = -(lo & 1);
        lo = ((lo >>> 1) | (hi << 31)) ^ mask;
        hi = (hi >>> 1) ^ mask;
      }
      const n = (mode === UINT64 ? hi >>> 0 : hi | 0) * 4294967296 + (lo >>> 0);
      return Number.isSafeInteger(n) ? n : NaN;
    }
  }
  return NaN;
}

export function varintSkip(src: Source, E: string): void {
  src.emit(`c = 0; do { if (pos >= ${E} || ++c > 10) return false; } while (buf[pos++] > 127);`);
}

function fixed(src: Source, bytes: number, E: string): void {
  src.emit(`if (${E} - pos < ${bytes}) return false;`);
}

/** A value of a skipped field or an unknown one, by its wire type `u`. */
export function skipWire(src: Source, u: string, E: string): void {
  src.emit(`switch (${u}) { case 0:`);
  varintSkip(src, E);
  src.emit(`break; case 1: if (${E} - pos < 8) return false; pos += 8; break; case 2:`);
  sizeRead(src, E);
  src.emit(`pos += n; break; case 5: if (${E} - pos < 4) return false; pos += 4; break; default: return false; }`);
}

/** proto3's utf8_validation VERIFY on bytes [at, at + length): invalid UTF-8 answers false. */
export function verifyUtf8(src: Source, at: string, length: string): void {
  src.emit(`h = 0; for (let i = ${at}, e = ${at} + ${length}; i < e; i++) h |= buf[i]; if (h > 127 && !validUtf8(buf, ${at}, ${length})) return false;`);
}

/** How a scalar of `type` is kept: a number, a 64-bit number (int8 columns only), or bytes (at, length). */
export type ScalarKind = 'number' | 'long' | 'bool' | 'string' | 'bytes';

export function scalarKind(type: string): ScalarKind {
  switch (type) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return 'long';
    case 'bool':
    case 'string':
    case 'bytes':
      return type;
    default:
      return 'number';
  }
}

/**
 * A scalar of `type` read as protobufjs reads it: a number's value into n (the expression returned),
 * a string's or bytes' start into n and its length into c (`at`/`length` returned as 'n'/'c'); `keep`
 * false: read only to be checked (64-bit varints then take up to 10 bytes).
 */
export function scalarRead(src: Source, type: string, verify: boolean, E: string, keep: boolean): string {
  switch (type) {
    case 'int32':
      uint32Read(src, E);
      return '(n | 0)';
    case 'uint32':
      uint32Read(src, E);
      return 'n';
    case 'sint32':
      uint32Read(src, E);
      return '(((n >>> 1) ^ -(n & 1)) | 0)';
    case 'bool':
      src.emit(`n = 0; c = 0; do { if (pos >= ${E} || ++c > 10) return false; b = buf[pos++]; if ((b & 127) !== 0) n = 1; } while (b > 127);`);
      return 'n';
    case 'fixed32':
    case 'sfixed32':
      fixed(src, 4, E);
      src.emit(`n = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24))${type === 'fixed32' ? ' >>> 0' : ''}; pos += 4;`);
      return 'n';
    case 'float':
      fixed(src, 4, E);
      src.emit(`F32B[0] = buf[pos]; F32B[1] = buf[pos + 1]; F32B[2] = buf[pos + 2]; F32B[3] = buf[pos + 3]; n = F32[0]; pos += 4;`);
      return 'n';
    case 'double':
      fixed(src, 8, E);
      src.emit(`for (let i = 0; i < 8; i++) F64B[i] = buf[pos + i]; n = F64[0]; pos += 8;`);
      return 'n';
    case 'int64':
    case 'uint64':
    case 'sint64':
      if (!keep) {
        varintSkip(src, E);
        return 'n';
      }
      // The label lets long64's value skip the in-line zigzag below it.
      src.emit('wide: {');
      varint64Read(src, E, type === 'sint64' ? SINT64 : type === 'int64' ? INT64 : UINT64, 'c');
      src.emit(`c = ${type === 'sint64' ? '(n % 2 === 1 ? -(n + 1) / 2 : n / 2)' : 'n'}; }`);
      return 'c';
    case 'fixed64':
    case 'sfixed64': {
      fixed(src, 8, E);
      const hi = `((buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24))${type === 'fixed64' ? ' >>> 0' : ''})`;
      src.emit(`n = ${hi} * 4294967296 + ((buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0); pos += 8;`);
      return 'n';
    }
    case 'string':
    case 'bytes':
      sizeRead(src, E);
      src.emit(`c = n; n = pos; pos += c;`);
      if (type === 'string' && verify) verifyUtf8(src, 'n', 'c');
      return 'n';
    default:
      throw new Error(`unknown protobuf type ${type}`);
  }
}

/** A packed repeated field's bytes (wire type 2) checked as Reader's packed reads check them. */
export function packedCheck(src: Source, type: string, E: string): void {
  sizeRead(src, E);
  const width = type === 'fixed32' || type === 'sfixed32' || type === 'float' ? 4 : type === 'fixed64' || type === 'sfixed64' || type === 'double' ? 8 : 0;
  if (width > 0) return src.emit(`if (n % ${width} !== 0) return false; pos += n;`);
  src.emit(`s = pos + n; while (pos < s) { c = 0; do { if (pos >= s || ++c > 10) return false; } while (buf[pos++] > 127); }`);
}

/** Whether protobufjs reads a repeated field of `type` packed too. */
export function packable(type: string): boolean {
  return protobuf.types.packed[type as keyof typeof protobuf.types.packed] !== undefined;
}

/** The wire type protobufjs expects for a scalar of `type` (2 for strings, bytes and messages). */
export function wireOf(type: string): number {
  return (protobuf.types.basic as Record<string, number | undefined>)[type] ?? 2;
}
