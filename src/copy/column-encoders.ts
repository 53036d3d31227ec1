import { RowWriter, writeInt64 } from './copy-binary';

/**
 * One encoder per target column, chosen from the column's PostgreSQL type at start. An encoder writes
 * a decoded value as one binary COPY field (see copy-binary.ts) or throws ValueError when the value
 * does not fit the column; the worker then drops that row and reports the record.
 */
export type ColumnEncoder = (w: RowWriter, value: unknown) => void;

export class ValueError extends Error {}

/**
 * How a decoded value is represented when its JS type alone does not say, taken from the schema at
 * plan time: Avro logical types carried by plain numbers or bytes, Protobuf enums carried by numbers.
 */
export type ValueHint =
  | { kind: 'timestamp-micros' }
  | { kind: 'time-millis' }
  | { kind: 'time-micros' }
  | { kind: 'decimal'; scale: number }
  | { kind: 'enum'; names: Record<number, string> }
  /** The schema allows only strings, 32-bit numbers, booleans, nulls, arrays and objects: JSON as it is. */
  | { kind: 'plain-json' };

/** What a worker needs to know about one target column. */
export interface ColumnType {
  /** pg_type.typname, e.g. int8, timestamptz, _text for text[]. */
  typname: string;
  /** For arrays: the element's typname and oid. */
  elemTypname: string | null;
  elemOid: number;
}

/** A column of the target table as the catalog describes it (sink/table-columns.ts reads it). */
export interface TableColumn extends ColumnType {
  name: string;
  notNull: boolean;
  hasDefault: boolean;
  /** Generated columns cannot be written by COPY. */
  generated: boolean;
}

const EPOCH_2000_MS = 946_684_800_000;
const DAYS_1970_TO_2000 = 10_957;

export const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'name', 'citext', 'xml']);

/** The encoder for a column type, or null when the binary path does not support that type. */
export function encoderFor(type: ColumnType, hint: ValueHint | null = null): ColumnEncoder | null {
  if (type.elemTypname !== null) {
    const elem = hinted(type.elemTypname, hint);
    return elem ? arrayEncoder(elem, type.elemOid) : null;
  }
  return hinted(type.typname, hint);
}

function hinted(typname: string, hint: ValueHint | null): ColumnEncoder | null {
  const plain = scalarEncoder(typname);
  if (plain === null || hint === null) return plain;
  switch (hint.kind) {
    case 'timestamp-micros':
      return typname === 'timestamp' || typname === 'timestamptz' ? encodeTimestampMicros : plain;
    case 'time-millis':
      return typname === 'time' ? (w, v) => encodeTimeMicros(w, integer(v, 0, 86_400_000) * 1000) : plain;
    case 'time-micros':
      return typname === 'time' ? (w, v) => encodeTimeMicros(w, integer(v, 0, 86_400_000_000)) : plain;
    case 'decimal': {
      const scale = hint.scale;
      return (w, v) => plain(w, v instanceof Uint8Array ? decimalString(v, scale) : v);
    }
    case 'enum': {
      if (!TEXT_TYPES.has(typname) && typname !== 'json' && typname !== 'jsonb') return plain;
      const names = hint.names;
      return (w, v) => plain(w, typeof v === 'number' ? names[v] ?? v : v);
    }
    case 'plain-json':
      // No bigint, Long or bytes can occur, so JSON.stringify needs no replacer (half the cost).
      if (typname === 'json') return (w, v) => w.utf8(typeof v === 'string' ? jsonText(v) : JSON.stringify(v));
      if (typname === 'jsonb') return (w, v) => w.utf8(typeof v === 'string' ? jsonText(v) : JSON.stringify(v), 1);
      return plain;
    default:
      return plain;
  }
}

function scalarEncoder(typname: string): ColumnEncoder | null {
  if (TEXT_TYPES.has(typname)) return encodeText;
  switch (typname) {
    case 'int2':
      return (w, v) => w.int16(integer(v, -32768, 32767));
    case 'int4':
      return (w, v) => w.int32(integer(v, -2147483648, 2147483647));
    case 'int8':
      return encodeInt8;
    case 'float4':
      return (w, v) => w.float32(float(v));
    case 'float8':
      return (w, v) => w.float64(float(v));
    case 'bool':
      return encodeBool;
    case 'bytea':
      return encodeBytea;
    case 'json':
      return (w, v) => w.utf8(jsonText(v));
    case 'jsonb':
      return (w, v) => w.utf8(jsonText(v), 1);
    case 'uuid':
      return encodeUuid;
    case 'timestamp':
    case 'timestamptz':
      return encodeTimestamp;
    case 'date':
      return encodeDate;
    case 'numeric':
      return encodeNumeric;
    case 'time':
      return encodeTime;
    default:
      return null;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return Array.isArray(v) ? 'an array' : Buffer.isBuffer(v) ? 'bytes' : `a value of type ${typeof v}`;
}

/** protobufjs decodes 64-bit integers to Long objects. */
interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

function isLong(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

/** A Long as a number when that is exact, else as a bigint. */
function fromLong(v: LongLike): number | bigint {
  const low = v.low >>> 0;
  const high = v.unsigned ? v.high >>> 0 : v.high | 0;
  const n = high * 4294967296 + low;
  if (Number.isSafeInteger(n)) return n;
  return (BigInt(high) << 32n) + BigInt(low);
}

function integer(v: unknown, min: number, max: number): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = Number(v);
  else if (isLong(v)) n = Number(fromLong(v));
  else throw new ValueError(`expected an integer, got ${describe(v)}`);
  if (!Number.isInteger(n) || n < min || n > max) throw new ValueError(`${describe(v)} is out of range ${min}..${max}`);
  return n;
}

function encodeInt8(w: RowWriter, v: unknown): void {
  if (isLong(v)) v = fromLong(v);
  else if (typeof v === 'string' && /^-?\d{16,}$/.test(v)) v = BigInt(v);
  if (typeof v === 'bigint') {
    if (v < -9223372036854775808n || v > 9223372036854775807n) throw new ValueError(`${v} is out of range for int8`);
    const at = w.field(8);
    w.buf.writeBigInt64BE(v, at);
    return;
  }
  w.int64(integer(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
}

function float(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (isLong(v)) return Number(fromLong(v));
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  throw new ValueError(`expected a number, got ${describe(v)}`);
}

function encodeText(w: RowWriter, v: unknown): void {
  if (typeof v === 'string') {
    // PostgreSQL refuses it in the COPY, failing the whole batch; here it fails the record, naming the column.
    if (v.includes('\0')) throw new ValueError('text cannot hold the NUL character (U+0000)');
    w.utf8(v);
  }
  else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') w.utf8(String(v));
  else if (isLong(v)) w.utf8(String(fromLong(v)));
  else throw new ValueError(`expected text, got ${describe(v)}`);
}

function encodeBool(w: RowWriter, v: unknown): void {
  if (typeof v !== 'boolean') throw new ValueError(`expected a boolean, got ${describe(v)}`);
  w.bool(v);
}

function encodeBytea(w: RowWriter, v: unknown): void {
  if (v instanceof Uint8Array) w.bytes(v);
  // protobufjs's default for an unset proto3 bytes field is an empty array.
  else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) w.bytes(Uint8Array.from(v));
  else if (typeof v === 'string') w.utf8(v);
  else throw new ValueError(`expected bytes, got ${describe(v)}`);
}

function jsonText(v: unknown): string {
  if (typeof v === 'string') {
    try {
      JSON.parse(v);
      return v;
    } catch {
      return JSON.stringify(v);
    }
  }
  try {
    return JSON.stringify(v, jsonReplacer);
  } catch (err) {
    throw new ValueError(`cannot be written as JSON: ${(err as Error).message}`);
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (isLong(value)) return String(fromLong(value));
  if (value !== null && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  return value;
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

function encodeUuid(w: RowWriter, v: unknown): void {
  if (v instanceof Uint8Array && v.length === 16) return w.bytes(v);
  if (typeof v !== 'string' || (v.length !== 36 && v.length !== 32)) throw new ValueError(`expected a uuid, got ${describe(v)}`);
  const at = w.field(16);
  let j = 0;
  for (let i = 0; i < v.length && j < 32; i++) {
    const c = v.charCodeAt(i);
    if (c === 45 && v.length === 36 && (i === 8 || i === 13 || i === 18 || i === 23)) continue;
    const h = c < 128 ? HEX[c] : -1;
    if (h < 0) {
      w.pos = at - 4;
      throw new ValueError(`expected a uuid, got ${describe(v)}`);
    }
    if ((j & 1) === 0) w.buf[at + (j >> 1)] = h << 4;
    else w.buf[at + (j >> 1)] |= h;
    j++;
  }
  if (j !== 32) {
    w.pos = at - 4;
    throw new ValueError(`expected a uuid, got ${describe(v)}`);
  }
}

/**
 * Numbers are epoch milliseconds (Avro timestamp-millis); strings are ISO-8601; Dates as they are;
 * objects with seconds and nanos are google.protobuf.Timestamp (microsecond precision is kept).
 */
function encodeTimestamp(w: RowWriter, v: unknown): void {
  let ms: number;
  if (typeof v === 'number') ms = v;
  else if (v instanceof Date) ms = v.getTime();
  else if (typeof v === 'object' && v !== null && 'seconds' in v) {
    const t = v as { seconds: unknown; nanos?: unknown };
    const seconds = isLong(t.seconds) ? Number(fromLong(t.seconds)) : Number(t.seconds);
    const nanos = Number(t.nanos ?? 0);
    if (!Number.isFinite(seconds) || !Number.isFinite(nanos)) throw new ValueError(`expected a timestamp, got ${describe(v)}`);
    return encodeTimestampMicros(w, seconds * 1_000_000 + Math.floor(nanos / 1000));
  }
  else if (typeof v === 'string') ms = Date.parse(v);
  else if (typeof v === 'bigint') ms = Number(v);
  else throw new ValueError(`expected a timestamp, got ${describe(v)}`);
  if (!Number.isFinite(ms)) throw new ValueError(`expected a timestamp, got ${describe(v)}`);
  const at = w.field(8);
  writeInt64(w.buf, at, Math.round((ms - EPOCH_2000_MS) * 1000));
}

/** Microseconds since 1970 (Avro timestamp-micros). */
function encodeTimestampMicros(w: RowWriter, v: unknown): void {
  const us = typeof v === 'bigint' ? Number(v) : isLong(v) ? Number(fromLong(v)) : v;
  if (typeof us !== 'number' || !Number.isFinite(us)) throw new ValueError(`expected microseconds since 1970, got ${describe(v)}`);
  const at = w.field(8);
  writeInt64(w.buf, at, us - EPOCH_2000_MS * 1000);
}

/** time: numbers are milliseconds after midnight (Avro time-millis); strings are HH:MM[:SS[.ffffff]]. */
function encodeTime(w: RowWriter, v: unknown): void {
  if (typeof v === 'number') return encodeTimeMicros(w, integer(v, 0, 86_400_000) * 1000);
  const m = typeof v === 'string' ? /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/.exec(v) : null;
  if (!m) throw new ValueError(`expected a time of day, got ${describe(v)}`);
  const us = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3] ?? 0)) * 1_000_000 + Number((m[4] ?? '').padEnd(6, '0'));
  if (Number(m[1]) > 24 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59 || us > 86_400_000_000) throw new ValueError(`expected a time of day, got ${describe(v)}`);
  encodeTimeMicros(w, us);
}

function encodeTimeMicros(w: RowWriter, us: number): void {
  const at = w.field(8);
  writeInt64(w.buf, at, us);
}

/** An Avro decimal's unscaled big-endian two's complement bytes as a decimal string. */
export function decimalString(bytes: Uint8Array, scale: number): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  if (bytes.length > 0 && bytes[0] & 0x80) n -= 1n << BigInt(bytes.length * 8);
  const negative = n < 0n;
  let digits = (negative ? -n : n).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** Numbers are days since 1970-01-01 (Avro date); strings are YYYY-MM-DD. */
function encodeDate(w: RowWriter, v: unknown): void {
  let days: number;
  if (typeof v === 'number' && Number.isInteger(v)) days = v;
  else if (typeof v === 'string' && isCalendarDate(v)) days = Date.parse(v) / 86_400_000;
  else if (v instanceof Date) days = Math.floor(v.getTime() / 86_400_000);
  else throw new ValueError(`expected a date, got ${describe(v)}`);
  w.int32(days - DAYS_1970_TO_2000);
}

/** YYYY-MM-DD naming a day that exists (2026-02-30 does not). */
function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** numeric from a decimal string or a number: base-10000 digits, weight, sign, display scale. */
function encodeNumeric(w: RowWriter, v: unknown): void {
  let s: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return writeNumericSpecial(w, Number.isNaN(v) ? 0xc000 : v > 0 ? 0xd000 : 0xf000);
    s = Math.abs(v) < 1e21 && Math.abs(v) >= 1e-6 || v === 0 ? String(v) : v.toFixed(20);
  } else if (typeof v === 'bigint') s = v.toString();
  else if (isLong(v)) s = String(fromLong(v));
  else if (typeof v === 'string') s = v.trim();
  else throw new ValueError(`expected a decimal number, got ${describe(v)}`);
  if (s === 'NaN') return writeNumericSpecial(w, 0xc000);
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new ValueError(`expected a decimal number, got ${describe(v)}`);
  const negative = m[1] === '-';
  const intPart = m[2].replace(/^0+/, '');
  const frac = m[3] ?? '';
  const intPadded = '0'.repeat((4 - (intPart.length % 4)) % 4) + intPart;
  const fracPadded = frac + '0'.repeat((4 - (frac.length % 4)) % 4);
  const digits: number[] = [];
  for (let i = 0; i < intPadded.length; i += 4) digits.push(Number(intPadded.slice(i, i + 4)));
  for (let i = 0; i < fracPadded.length; i += 4) digits.push(Number(fracPadded.slice(i, i + 4)));
  let weight = intPadded.length / 4 - 1;
  let first = 0;
  while (first < digits.length && digits[first] === 0) {
    first++;
    weight--;
  }
  let last = digits.length;
  while (last > first && digits[last - 1] === 0) last--;
  const n = last - first;
  if (n === 0) weight = 0;
  const at = w.field(8 + 2 * n);
  w.buf.writeInt16BE(n, at);
  w.buf.writeInt16BE(weight, at + 2);
  w.buf.writeUInt16BE(negative && n > 0 ? 0x4000 : 0, at + 4);
  w.buf.writeInt16BE(frac.length, at + 6);
  for (let i = 0; i < n; i++) w.buf.writeInt16BE(digits[first + i], at + 8 + 2 * i);
}

function writeNumericSpecial(w: RowWriter, sign: number): void {
  const at = w.field(8);
  w.buf.writeInt16BE(0, at);
  w.buf.writeInt16BE(0, at + 2);
  w.buf.writeUInt16BE(sign, at + 4);
  w.buf.writeInt16BE(0, at + 6);
}

/** One-dimensional arrays: i32 ndim | i32 has-nulls | u32 element oid | (i32 size | i32 lbound) | elements. */
function arrayEncoder(elem: ColumnEncoder, elemOid: number): ColumnEncoder {
  return (w, v) => {
    if (!Array.isArray(v)) throw new ValueError(`expected an array, got ${describe(v)}`);
    w.ensure(24);
    const lengthAt = w.pos;
    const at = lengthAt + 4;
    const empty = v.length === 0;
    let hasNull = 0;
    w.pos = at + (empty ? 12 : 20);
    for (const item of v) {
      if (item === null || item === undefined) {
        hasNull = 1;
        w.null();
      } else elem(w, item);
    }
    w.buf.writeInt32BE(w.pos - at, lengthAt);
    w.buf.writeInt32BE(empty ? 0 : 1, at);
    w.buf.writeInt32BE(hasNull, at + 4);
    w.buf.writeUInt32BE(elemOid, at + 8);
    if (!empty) {
      w.buf.writeInt32BE(v.length, at + 12);
      w.buf.writeInt32BE(1, at + 16);
    }
  };
}
