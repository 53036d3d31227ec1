import protobuf from 'protobufjs';
import { encoderFor, TEXT_TYPES, type ColumnEncoder, type ValueHint } from '../copy/column-encoders';
import { writeInt32, writeInt64, type RowWriter } from '../copy/copy-binary';
import { jsonString, MAX_MAP_KEYS, plainObjectKeyIsSpecial, sameBytes } from './avro-json';
import type { WorkerColumn } from './column-plan';
import { pick } from './pick';
import { longOf, safeNumberOf } from './proto-wire';
import { closeArray, copyText, EPOCH_2000_MS, numberWriter, openArray } from './transcode-writes';

/**
 * [Transcode] Phase 2 of the Protobuf transcoder (proto-transcoder.ts): each field column written from
 * the slots phase 1 filled, as column-encoders.ts would write the value protobufjs decodes. A column
 * with no fast path here keeps `slow`: the value picked from the message object (decoded by the object
 * path for that record alone).
 */

/** What a column write reads besides the slots: the ring, and the record's message object on demand. */
export interface DecodedRecord {
  readonly buf: Buffer;
  messageObject(): unknown;
}

export type ColumnWrite = (w: RowWriter, s: ProtoSlots, t: DecodedRecord) => boolean;

/** Phase 1's results; slot 0 is scratch (values read only to be checked). */
export class ProtoSlots {
  readonly present: Uint8Array;
  readonly numbers: Float64Array;
  /** Strings and bytes: where they start; 64-bit values: the low bits. */
  readonly at: Int32Array;
  /** Strings and bytes: their length; 64-bit values: the high bits. */
  readonly lengths: Int32Array;
  /** Repeated strings (at, length) and maps of strings (key at, key length, value at, value length). */
  readonly lists: Int32Array[];
  readonly counts: Int32Array;
  constructor(n: number) {
    this.present = new Uint8Array(n);
    this.numbers = new Float64Array(n);
    this.at = new Int32Array(n);
    this.lengths = new Int32Array(n);
    this.lists = Array.from({ length: n }, () => new Int32Array(0));
    this.counts = new Int32Array(n);
  }
}

/** Slot k's list with room for 4 more: (at, length) pairs of repeated strings, 4-tuples of map entries. */
export function listOf(s: ProtoSlots, k: number): Int32Array {
  const list = s.lists[k];
  if (s.counts[k] + 4 <= list.length) return list;
  const grown = new Int32Array(Math.max(16, list.length * 2));
  grown.set(list);
  return (s.lists[k] = grown);
}

export interface Target {
  rest: readonly string[];
  col: WorkerColumn;
  enc: ColumnEncoder;
  hint: ValueHint | null;
  presence: boolean;
  /** The column's write from the message object (what it keeps when nothing binds a faster one). */
  slow: ColumnWrite;
  bind(write: ColumnWrite): void;
  /** For the transcoder's own targets (a Timestamp's fields): told the slot of the scalar. */
  slot?(k: number): void;
}

export function slowWrite(path: readonly string[], presence: boolean, enc: ColumnEncoder): ColumnWrite {
  return (w, _s, t) => {
    const v = pick(t.messageObject(), path, presence);
    if (v === null || v === undefined) return false;
    enc(w, v);
    return true;
  };
}

/** Whether the column's path on the way here was all present: the nearest message on it was. */
function absent(s: ProtoSlots, parent: number): boolean {
  return parent >= 0 && s.present[parent] === 0;
}

function plainText(t: Target): boolean {
  return TEXT_TYPES.has(t.col.type.typname) && t.col.type.elemTypname === null && t.hint === null;
}

export function scalarWrite(k: number, parent: number, type: string, fallback: unknown, t: Target): ColumnWrite {
  const enc = t.enc;
  const presence = t.presence;
  const missing: ColumnWrite = presence || fallback === null || fallback === undefined ? () => false : (w) => (enc(w, fallback), true);
  let present: ColumnWrite;
  switch (type) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64': {
      const unsigned = type === 'uint64' || type === 'fixed64';
      const int8 = t.col.type.typname === 'int8' && t.col.type.elemTypname === null && t.hint === null;
      present = (w, s) => {
        const n = int8 ? safeNumberOf(s.at[k], s.lengths[k], unsigned) : NaN;
        if (n === n) w.int64(n);
        else enc(w, longOf(s.at[k], s.lengths[k], unsigned));
        return true;
      };
      break;
    }
    case 'bool':
      present = (w, s) => (enc(w, s.numbers[k] !== 0), true);
      break;
    case 'string': {
      const text = plainText(t);
      present = (w, s, tr) => {
        const buf = tr.buf;
        const at = s.at[k];
        const length = s.lengths[k];
        if (!text || !copyText(w, buf, at, length)) enc(w, buf.toString('utf8', at, at + length));
        return true;
      };
      break;
    }
    case 'bytes': {
      const raw = t.col.type.typname === 'bytea' && t.col.type.elemTypname === null && t.hint === null;
      present = (w, s, tr) => {
        const ring = tr.buf;
        const at = s.at[k];
        if (raw) w.copyField(ring, at, at + s.lengths[k]);
        else enc(w, ring.subarray(at, at + s.lengths[k]));
        return true;
      };
      break;
    }
    default: {
      const write = numberWriter(t.col, t.hint, enc);
      present = (w, s) => (write(w, s.numbers[k]), true);
    }
  }
  return (w, s, tr) => {
    if (absent(s, parent)) return false;
    return s.present[k] === 0 ? missing(w, s, tr) : present(w, s, tr);
  };
}

/** A google.protobuf.Timestamp into timestamp/timestamptz: encodeTimestamp's arithmetic on the slots. */
export function timestampColumn(type: protobuf.Type, t: Target): boolean {
  const typname = t.col.type.typname;
  return type.fullName === '.google.protobuf.Timestamp' && (typname === 'timestamptz' || typname === 'timestamp') && t.col.type.elemTypname === null && t.hint === null;
}

export function timestampTargets(k: number, parent: number, t: Target): Target[] {
  let seconds = -1;
  let nanos = -1;
  t.bind((w, s, tr) => {
    if (absent(s, parent) || s.present[k] === 0) return false;
    const sec = s.present[seconds] === 0 ? 0 : safeNumberOf(s.at[seconds], s.lengths[seconds], false);
    if (sec !== sec) return t.slow(w, s, tr);
    const us = sec * 1_000_000 + Math.floor((s.present[nanos] === 0 ? 0 : s.numbers[nanos]) / 1000);
    const at = w.field(8);
    writeInt64(w.buf, at, us - EPOCH_2000_MS * 1000);
    return true;
  });
  const own = { col: t.col, enc: t.enc, hint: null, presence: false, slow: t.slow, bind: () => undefined };
  return [
    { ...own, rest: ['seconds'], slot: (n: number) => void (seconds = n) },
    { ...own, rest: ['nanos'], slot: (n: number) => void (nanos = n) },
  ];
}

/** A repeated string into an array of a text type. */
export function textArrayColumn(t: Target): boolean {
  return t.col.type.elemTypname !== null && TEXT_TYPES.has(t.col.type.elemTypname) && t.hint === null;
}

export function textArrayWrite(k: number, parent: number, t: Target): ColumnWrite {
  const elem = encoderFor({ typname: t.col.type.elemTypname!, elemTypname: null, elemOid: 0 }, null)!;
  const elemOid = t.col.type.elemOid;
  return (w, s, tr) => {
    if (absent(s, parent)) return false;
    const buf = tr.buf;
    const list = s.lists[k];
    const n = s.counts[k];
    const lengthAt = openArray(w, n === 0);
    for (let i = 0; i < n; i += 2) {
      const at = list[i];
      const length = list[i + 1];
      if (!copyText(w, buf, at, length)) elem(w, buf.toString('utf8', at, at + length));
    }
    closeArray(w, lengthAt, n / 2, 0, elemOid);
    return true;
  };
}

/** A map<string, string> into json/jsonb. */
export function mapColumn(f: protobuf.Field, t: Target): boolean {
  const typname = t.col.type.typname;
  return (f as unknown as protobuf.MapField).keyType === 'string' && f.type === 'string' && f.resolvedType === null && (typname === 'json' || typname === 'jsonb') && t.col.type.elemTypname === null && t.hint === null;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * The map's JSON text from its entries' bytes (JSON.stringify of the object protobufjs builds); a map
 * the object would not keep in entry order (a repeated key, an array-index key, a key the encoder's
 * replacer looks at, invalid UTF-8) is written from the message object instead.
 */
export function mapWrite(k: number, parent: number, t: Target): ColumnWrite {
  const prefix = t.col.type.typname === 'jsonb' ? 1 : -1;
  return (w, s, tr) => {
    if (absent(s, parent)) return false;
    const buf = tr.buf;
    const list = s.lists[k];
    const n = s.counts[k];
    const lengthAt = w.pos;
    w.ensure(6);
    w.pos += 4;
    if (prefix >= 0) w.buf[w.pos++] = prefix;
    w.appendByte(OPEN_BRACE);
    let ok = n <= MAX_MAP_KEYS * 4;
    for (let e = 0; e < n && ok; e += 4) {
      const keyAt = list[e];
      const keyLength = list[e + 1];
      ok = !plainObjectKeyIsSpecial(buf, keyAt, keyLength, true);
      for (let p = 0; p < e && ok; p += 4) ok = list[p + 1] !== keyLength || !sameBytes(buf, keyAt, list[p], keyLength);
      if (!ok) break;
      if (e > 0) w.appendByte(COMMA);
      ok = jsonString(w, buf, keyAt, keyLength);
      if (!ok) break;
      w.appendByte(COLON);
      ok = jsonString(w, buf, list[e + 2], list[e + 3]);
    }
    if (!ok) {
      w.pos = lengthAt;
      return t.slow(w, s, tr);
    }
    w.appendByte(CLOSE_BRACE);
    writeInt32(w.buf, lengthAt, w.pos - lengthAt - 4);
    return true;
  };
}
