import { isUtf8 } from 'node:buffer';
import avro from 'avsc';
import type { RowWriter } from '../copy/copy-binary';
import { GuardedArrayType, GuardedBytesType, GuardedMapType, GuardedStringType, lengthPrefixed } from './avro-guards';
import { readWideLong, WideLongType } from './avro';
import { readable, type AvroTap } from './avsc-internals';

/**
 * [Transcode] Avro records, maps and arrays written as JSON text straight from their bytes, byte for byte
 * what the object path writes (`JSON.stringify` of avsc's value, column-encoders.ts). An emitter returns
 * false when the value is one JSON.stringify would treat specially (a map key that is an array index or
 * repeated; invalid UTF-8, which avsc decodes to U+FFFD); the caller then writes that
 * value through the object path. The record was read whole once before (phase 1), so nothing here throws
 * for malformed bytes that phase 1 did not refuse first.
 *
 * `replacer`: the column's encoder stringifies with column-encoders' jsonReplacer (bigints and bytes as
 * strings, objects with numeric `low`/`high` as a Long, `{type: 'Buffer'}` as bytes): records with such
 * fields are not emitted here at all, maps with such keys go back to the object path.
 */
export type JsonEmit = (tap: AvroTap, w: RowWriter) => boolean;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SHORT_ESCAPES: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 };
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
export const MAX_MAP_KEYS = 64;
/** Per byte: written as it is (PLAIN), a byte of a multi-byte UTF-8 sequence (HIGH), or escaped (2). */
const PLAIN = 0;
const HIGH = 1;
const BYTE_KIND = new Uint8Array(256).map((_, c) => (c >= 0x80 ? HIGH : c < 0x20 || c === QUOTE || c === BACKSLASH ? 2 : PLAIN));

function ascii(w: RowWriter, s: string): void {
  w.ensure(s.length);
  w.pos += w.buf.write(s, w.pos, 'latin1');
}

function raw(w: RowWriter, bytes: Buffer): void {
  w.append(bytes, 0, bytes.length);
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** A JSON string of the UTF-8 bytes [start, start + length) of `src`; false for invalid UTF-8. */
export function jsonString(w: RowWriter, src: Buffer, start: number, length: number): boolean {
  w.ensure(length * 6 + 2);
  const out = w.buf;
  let o = w.pos;
  let nonAscii = false;
  out[o++] = QUOTE;
  for (let i = start, end = start + length; i < end; i++) {
    const c = src[i];
    const kind = BYTE_KIND[c];
    if (kind === PLAIN) out[o++] = c;
    else if (kind === HIGH) {
      nonAscii = true;
      out[o++] = c;
    } else if (c === QUOTE || c === BACKSLASH) {
      out[o++] = BACKSLASH;
      out[o++] = c;
    } else if (SHORT_ESCAPES[c] !== undefined) {
      out[o++] = BACKSLASH;
      out[o++] = SHORT_ESCAPES[c];
    } else {
      out[o++] = BACKSLASH;
      out[o++] = 0x75;
      out[o++] = 0x30;
      out[o++] = 0x30;
      out[o++] = HEX_DIGITS[c >> 4];
      out[o++] = HEX_DIGITS[c & 15];
    }
  }
  if (nonAscii && !isUtf8(src.subarray(start, start + length))) return false;
  out[o++] = QUOTE;
  w.pos = o;
  return true;
}

/** A JS value as JSON.stringify with the replacer writes it: numbers, strings, bigints and bytes. */
function jsValue(w: RowWriter, v: unknown, replacer: boolean): void {
  if (typeof v === 'number') ascii(w, Number.isFinite(v) ? String(v) : 'null');
  else if (typeof v === 'bigint' && replacer) ascii(w, `"${v}"`);
  else if (Buffer.isBuffer(v) && replacer) ascii(w, `"${v.toString('base64')}"`);
  else text(w, JSON.stringify(v) ?? 'null');
}

function text(w: RowWriter, s: string): void {
  w.ensure(s.length * 3);
  w.pos += w.buf.write(s, w.pos);
}

/** The emitter for values of type `t`, or null when a value of it is never emitted here. */
export function jsonEmitterOf(t: avro.Type, replacer: boolean, depth = 0): JsonEmit | null {
  if (depth > 32) return null;
  if (t instanceof avro.types.NullType) return (_tap, w) => (ascii(w, 'null'), true);
  if (t instanceof avro.types.BooleanType) return (tap, w) => (ascii(w, tap.buf[tap.pos++] ? 'true' : 'false'), true);
  if (t instanceof avro.types.IntType || t instanceof avro.types.FloatType || t instanceof avro.types.DoubleType) {
    const read = readable(t);
    return (tap, w) => (jsValue(w, read._read(tap), replacer), true);
  }
  if (t instanceof WideLongType) {
    if (!replacer) return null;
    return (tap, w) => (jsValue(w, readWideLong(tap), true), true);
  }
  if (t instanceof GuardedStringType) {
    return (tap, w) => {
      const start = lengthPrefixed(tap, 'a string length');
      return jsonString(w, tap.buf, start, tap.pos - start);
    };
  }
  if (t instanceof GuardedBytesType || t instanceof avro.types.FixedType || t instanceof avro.types.LogicalType) {
    if (!replacer) return null;
    const read = readable(t);
    return (tap, w) => (jsValue(w, read._read(tap), true), true);
  }
  if (t instanceof avro.types.EnumType) {
    const symbols = t.symbols.map((s) => Buffer.from(JSON.stringify(s)));
    return (tap, w) => (raw(w, symbols[tap.readLong()]), true);
  }
  if (t instanceof avro.types.UnwrappedUnionType) {
    const branches = t.types.map((b) => jsonEmitterOf(b, replacer, depth + 1));
    if (branches.some((b) => b === null)) return null;
    return (tap, w) => branches[tap.readLong()]!(tap, w);
  }
  if (t instanceof avro.types.RecordType) return recordEmitter(t, replacer, depth);
  if (t instanceof GuardedArrayType) {
    const item = jsonEmitterOf(t.itemsType, replacer, depth + 1);
    if (item === null) return null;
    return (tap, w) => {
      w.appendByte(OPEN_BRACKET);
      let first = true;
      let n: number;
      while ((n = tap.readLong())) {
        if (n < 0) {
          n = -n;
          tap.skipLong();
        }
        while (n--) {
          if (!first) w.appendByte(COMMA);
          first = false;
          if (!item(tap, w)) return false;
        }
      }
      w.appendByte(CLOSE_BRACKET);
      return true;
    };
  }
  if (t instanceof GuardedMapType) return mapEmitter(t, replacer, depth);
  return null;
}

function recordEmitter(t: avro.types.RecordType, replacer: boolean, depth: number): JsonEmit | null {
  // jsonReplacer reads an object with numeric low and high as a Long, and {type: 'Buffer'} as bytes.
  if (replacer && t.fields.some((f) => f.name === 'low' || f.name === 'high' || f.name === 'type')) return null;
  const values = t.fields.map((f) => jsonEmitterOf(f.type, replacer, depth + 1));
  if (values.some((v) => v === null)) return null;
  const names = t.fields.map((f, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(f.name)}:`));
  return (tap, w) => {
    if (names.length === 0) w.appendByte(OPEN_BRACE);
    for (let i = 0; i < names.length; i++) {
      raw(w, names[i]);
      if (!values[i]!(tap, w)) return false;
    }
    w.appendByte(CLOSE_BRACE);
    return true;
  };
}

function mapEmitter(t: avro.types.MapType, replacer: boolean, depth: number): JsonEmit | null {
  const value = jsonEmitterOf(t.valuesType, replacer, depth + 1);
  if (value === null) return null;
  const keyAt = new Int32Array(MAX_MAP_KEYS);
  const keyLength = new Int32Array(MAX_MAP_KEYS);
  return (tap, w) => {
    const buf = tap.buf;
    w.appendByte(OPEN_BRACE);
    let keys = 0;
    let n: number;
    while ((n = tap.readLong())) {
      if (n < 0) {
        n = -n;
        tap.skipLong();
      }
      while (n--) {
        const start = lengthPrefixed(tap, 'a string length');
        const length = tap.pos - start;
        if (keys === MAX_MAP_KEYS || plainObjectKeyIsSpecial(buf, start, length, replacer)) return false;
        for (let k = 0; k < keys; k++) if (keyLength[k] === length && sameBytes(buf, start, keyAt[k], length)) return false;
        keyAt[keys] = start;
        keyLength[keys++] = length;
        if (keys > 1) w.appendByte(COMMA);
        if (!jsonString(w, buf, start, length)) return false;
        w.appendByte(COLON);
        if (!value(tap, w)) return false;
      }
    }
    w.appendByte(CLOSE_BRACE);
    return true;
  };
}

export function sameBytes(buf: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/**
 * Keys a JS object does not keep in insertion order: array indexes (all digits: listed first, in numeric
 * order); with the replacer, the keys that make it rewrite an object (`low`, `high`, `type`).
 */
export function plainObjectKeyIsSpecial(buf: Buffer, start: number, length: number, replacer: boolean): boolean {
  if (length === 0) return false;
  const end = start + length;
  let i = start;
  while (i < end && buf[i] >= 0x30 && buf[i] <= 0x39) i++;
  if (i === end) return true;
  if (!replacer) return false;
  const c = buf[start];
  if (length === 3) return c === 0x6c && buf[start + 1] === 0x6f && buf[start + 2] === 0x77; // low
  if (length !== 4) return false;
  if (c === 0x68) return buf[start + 1] === 0x69 && buf[start + 2] === 0x67 && buf[start + 3] === 0x68; // high
  return c === 0x74 && buf[start + 1] === 0x79 && buf[start + 2] === 0x70 && buf[start + 3] === 0x65; // type
}
