import { isUtf8 } from 'node:buffer';
import { writeInt64 } from '../copy/copy-binary';
import { MAX_MAP_KEYS, plainObjectKeyIsSpecial, sameBytes } from './avro-json';
import type { WorkerColumn } from './column-plan';
import { EPOCH_2000_MS, fillArrayHeader } from './transcode-writes';

/**
 * [Transcode] What the generated row functions of both formats share (avro-fast-row.ts,
 * proto-fast-row.ts): the function's signature, the text being built (Source), the column writes that do
 * not depend on the format and the one place the text becomes a function.
 *
 *   fastRow(buf, start, end, w, partition, offset, timestamp) → true: the row's fields are written
 *                                                               false: nothing is (w.pos is unchanged)
 *
 * The generated code writes at `o` into `out` (RowWriter's buffer; `w.ensure` grows it and `out`
 * follows) and reads `buf` at `pos`; `b`, `n`, `s` and `c` are scratch numbers every part may use.
 */
export type FastRow = (buf: Buffer, start: number, end: number, w: FastRowWriter, partition: number, offset: number, timestamp: number) => boolean;

/** What the generated code uses of RowWriter. */
export interface FastRowWriter {
  buf: Buffer;
  pos: number;
  ensure(n: number): void;
}

/** Thrown inside compile for a shape the generator does not cover; compile then answers null. */
export class Uncovered extends Error {}

export class Source {
  readonly lines: string[] = [];
  private temps = 0;

  /** `consts`: shared with another Source whose text goes into the same function. */
  constructor(readonly consts: unknown[] = []) {}

  constant(v: unknown): string {
    this.consts.push(v);
    return `K[${this.consts.length - 1}]`;
  }

  temp(): string {
    return `t${this.temps++}`;
  }

  get tempCount(): number {
    return this.temps;
  }

  emit(line: string): void {
    this.lines.push(line);
  }
}

function validUtf8(buf: Buffer, at: number, length: number): boolean {
  return isUtf8(buf.subarray(at, at + length));
}

const F64 = new Float64Array(1);
const F64B = new Uint8Array(F64.buffer);
const F32 = new Float32Array(1);
const F32B = new Uint8Array(F32.buffer);
const KEY_AT = new Int32Array(MAX_MAP_KEYS);
const KEY_LENGTH = new Int32Array(MAX_MAP_KEYS);

/** The names the generated code may call besides its constants K. */
const HELPERS = { writeInt64, fillArrayHeader, validUtf8, isSpecialKey: plainObjectKeyIsSpecial, sameBytes, F64, F64B, F32, F32B, KEY_AT, KEY_LENGTH };

/**
 * The function of `src`'s lines, with `locals` declared (name = 0 each); `functions` (whole function
 * declarations, beside it so that they share none of its locals) may be called from it. Safety of the text: it holds only variable names, numbers and operators
 * made by the generators; every schema- or data-derived value is passed in as a constant, never spliced in.
 */
export function instantiate(src: Source, locals: readonly string[], functions: readonly string[] = []): FastRow {
  const temps = Array.from({ length: src.tempCount }, (_, i) => `t${i}`);
  const body = [
    ...functions,
    'return function fastRow(buf, start, end, w, partition, offset, timestamp) {',
    `let pos = start, b = 0, n = 0, s = 0, c = 0${[...locals, ...temps].map((x) => `, ${x} = 0`).join('')};`,
    ...src.lines,
    '};',
  ].join('\n');
  // The point of the generators: straight-line text made from names and numbers only. (avsc generates
  // code too: an engine run with code generation disallowed fails at avsc first.)
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('K', ...Object.keys(HELPERS), body)(src.consts, ...Object.values(HELPERS)) as FastRow;
}

/** Room for `bytes` more output bytes: RowWriter grows its buffer, the local `out` follows. */
export function room(src: Source, bytes: string): void {
  src.emit(roomText(bytes));
}

export function roomText(bytes: string): string {
  return `if (o + ${bytes} > out.length) { w.pos = o; w.ensure(${bytes}); out = w.buf; }`;
}

/** A field's 4-byte length. */
export function header(src: Source, length: string): void {
  src.emit(`out[o] = ${length} >>> 24; out[o + 1] = ${length} >>> 16; out[o + 2] = ${length} >>> 8; out[o + 3] = ${length}; o += 4;`);
}

/** What a column with no value writes: NULL, or (a required column) nothing, as the function answers false. */
export function absentText(col: WorkerColumn): string {
  return col.required ? 'return false;' : 'out[o] = 255; out[o + 1] = 255; out[o + 2] = 255; out[o + 3] = 255; o += 4;';
}

/**
 * Bytes [at, at + length) of buf as a text field: false for a NUL or invalid UTF-8 (the encoder's cases);
 * `verified`: the bytes were checked as UTF-8 when read.
 */
export function copyText(src: Source, at: string, length: string, verified = false): void {
  const h = src.temp();
  header(src, length);
  src.emit(`${h} = 0; for (let i = ${at}, e = ${at} + ${length}; i < e; i++) { c = buf[i]; if (c === 0) return false; ${h} |= c; out[o++] = c; }`);
  if (!verified) src.emit(`if (${h} > 127 && !validUtf8(buf, ${at}, ${length})) return false;`);
}

/** A JSON string of bytes [at, at + length): false when JSON needs an escape there or the bytes are not UTF-8. */
export function jsonString(src: Source, at: string, length: string): void {
  const h = src.temp();
  src.emit(`out[o++] = 34; ${h} = 0; for (let i = ${at}, e = ${at} + ${length}; i < e; i++) { c = buf[i]; if (c < 32 || c === 34 || c === 92) return false; ${h} |= c; out[o++] = c; } out[o++] = 34;`);
  src.emit(`if (${h} > 127 && !validUtf8(buf, ${at}, ${length})) return false;`);
}

export function int8(src: Source, v: string): void {
  src.emit(`if (!Number.isSafeInteger(${v})) return false; out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 8; writeInt64(out, o + 4, ${v}); o += 12;`);
}

export function int4(src: Source, v: string): void {
  src.emit(`if (${v} !== (${v} | 0)) return false; out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 4;`);
  src.emit(`out[o + 4] = ${v} >>> 24; out[o + 5] = ${v} >>> 16; out[o + 6] = ${v} >>> 8; out[o + 7] = ${v}; o += 8;`);
}

export function float8(src: Source, v: string): void {
  // NaN's payload is whatever a double round trip leaves: the closures' path is taken for it.
  src.emit(`if (${v} !== ${v}) return false; F64[0] = ${v}; out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 8;`);
  src.emit(`for (let i = 0; i < 8; i++) out[o + 4 + i] = F64B[7 - i]; o += 12;`);
}

/** Epoch milliseconds as timestamp(tz): microseconds since 2000 (what numberWriter and the encoder write). */
export function timestampMs(src: Source, v: string): void {
  const us = src.temp();
  src.emit(`${us} = Math.round((${v} - ${EPOCH_2000_MS}) * 1000); if (!(${us} > -9e18 && ${us} < 9e18)) return false;`);
  src.emit(`out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 8; writeInt64(out, o + 4, ${us}); o += 12;`);
}

/** A number into an int8, int4, float8 or timestamp(tz) column (`ms`: a timestamp reads it as epoch ms). */
export function numberColumn(src: Source, typname: string, v: string, ms: boolean): void {
  room(src, '12');
  if (typname === 'int8') int8(src, v);
  else if (typname === 'int4') int4(src, v);
  else if (typname === 'float8') float8(src, v);
  else if ((typname === 'timestamptz' || typname === 'timestamp') && ms) timestampMs(src, v);
  else throw new Uncovered();
}

/** $partition, $offset, $timestamp: the record's metadata in the column's type. */
export function metaColumn(src: Source, col: WorkerColumn): void {
  const typname = col.type.typname;
  if (col.type.elemTypname !== null) throw new Uncovered();
  room(src, '12');
  if (col.source === 'offset' && typname === 'int8') return int8(src, 'offset');
  if (col.source === 'partition' && typname === 'int8') return int8(src, 'partition');
  if (col.source === 'partition' && typname === 'int4') return int4(src, 'partition');
  if (col.source === 'timestamp' && (typname === 'timestamptz' || typname === 'timestamp')) {
    src.emit(`if (timestamp < 0) { ${absentText(col)} } else {`);
    timestampMs(src, 'timestamp');
    return src.emit('}');
  }
  throw new Uncovered();
}

/**
 * A JSON object's key [at, at + length) as the n-th key (n a local): false for a key JS would not keep in
 * insertion order, a key met before (KEY_AT/KEY_LENGTH hold the earlier ones) or more keys than the
 * object path writes this way; then the key's JSON string and a colon.
 */
export function jsonKey(src: Source, keys: string, at: string, length: string, replacer: boolean): void {
  const q = src.temp();
  src.emit(`if (${keys} === ${MAX_MAP_KEYS} || isSpecialKey(buf, ${at}, ${length}, ${replacer})) return false;`);
  src.emit(`for (let ${q} = 0; ${q} < ${keys}; ${q}++) if (KEY_LENGTH[${q}] === ${length} && sameBytes(buf, ${at}, KEY_AT[${q}], ${length})) return false;`);
  src.emit(`KEY_AT[${keys}] = ${at}; KEY_LENGTH[${keys}] = ${length}; if (${keys}++ > 0) out[o++] = 44;`);
  jsonString(src, at, length);
  src.emit(`out[o++] = 58;`);
}
