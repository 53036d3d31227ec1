import { TEXT_TYPES, type ValueHint } from '../copy/column-encoders';
import type avro from 'avsc';
import { MAX_MAP_KEYS } from './avro-json';
import { lengthPrefixed, stringItems, Uncovered, varint, type Slot, type Source } from './avro-fast-row-source';
import type { WorkerColumn } from './column-plan';
import { EPOCH_2000_MS } from './transcode-writes';

/**
 * [Transcode] Phase 2 of a generated row function (avro-fast-row.ts): each column's field written from
 * its slot, in table order, as the bytes column-encoders.ts writes for the object path's value. Every
 * case that needs a check with a message makes the function answer false (the closures then decide).
 * The generated code writes at `o` into `out` (RowWriter's buffer) and names helpers passed in by
 * compileFastRow: writeInt64, fillArrayHeader, validUtf8, isSpecialKey, sameBytes and the scratch arrays.
 */
/** Room for `bytes` more output bytes: RowWriter grows its buffer, the local `out` follows. */
function room(src: Source, bytes: string): void {
  src.emit(`if (o + ${bytes} > out.length) { w.pos = o; w.ensure(${bytes}); out = w.buf; }`);
}

function header(src: Source, length: string): void {
  src.emit(`out[o] = ${length} >>> 24; out[o + 1] = ${length} >>> 16; out[o + 2] = ${length} >>> 8; out[o + 3] = ${length}; o += 4;`);
}

/** Bytes [at, at + length) of buf as a text field: false for a NUL or invalid UTF-8 (the encoder's cases). */
function copyText(src: Source, at: string, length: string): void {
  const h = src.temp();
  header(src, length);
  src.emit(`${h} = 0; for (let i = ${at}, e = ${at} + ${length}; i < e; i++) { c = buf[i]; if (c === 0) return false; ${h} |= c; out[o++] = c; }`);
  src.emit(`if (${h} > 127 && !validUtf8(buf, ${at}, ${length})) return false;`);
}

/** A JSON string of bytes [at, at + length): false when JSON needs an escape there or the bytes are not UTF-8. */
function jsonString(src: Source, at: string, length: string): void {
  const h = src.temp();
  src.emit(`out[o++] = 34; ${h} = 0; for (let i = ${at}, e = ${at} + ${length}; i < e; i++) { c = buf[i]; if (c < 32 || c === 34 || c === 92) return false; ${h} |= c; out[o++] = c; } out[o++] = 34;`);
  src.emit(`if (${h} > 127 && !validUtf8(buf, ${at}, ${length})) return false;`);
}

/** Phase 2 for one column: its field from its slot (or its metadata), in table order. */
export function writeColumn(src: Source, col: WorkerColumn, slot: Slot | null, hint: ValueHint | null): void {
  const typname = col.type.typname;
  const scalar = col.type.elemTypname === null && hint === null;
  const absent = col.required ? 'return false;' : 'out[o] = 255; out[o + 1] = 255; out[o + 2] = 255; out[o + 3] = 255; o += 4;';
  if (col.source !== 'field') {
    if (!scalar) throw new Uncovered();
    room(src, '12');
    if (col.source === 'offset' && typname === 'int8') return int8(src, 'offset');
    if (col.source === 'partition' && typname === 'int8') return int8(src, 'partition');
    if (col.source === 'partition' && typname === 'int4') return int4(src, 'partition');
    if (col.source === 'timestamp' && (typname === 'timestamptz' || typname === 'timestamp')) {
      src.emit(`if (timestamp < 0) { ${absent} } else {`);
      timestampMs(src, 'timestamp');
      return src.emit('}');
    }
    throw new Uncovered();
  }
  if (slot === null) {
    // A path the writer schema does not have: always NULL.
    room(src, '4');
    return src.emit(absent);
  }
  const k = slot.id;
  src.emit(`if (p${k} === 0) { ${col.required ? 'return false;' : `${roomText('4')} ${absent}`} } else {`);
  switch (slot.kind) {
    case 'number':
    case 'float':
    case 'double':
      if (!scalar) throw new Uncovered();
      room(src, '12');
      if (typname === 'int8') int8(src, `v${k}`);
      else if (typname === 'int4') int4(src, `v${k}`);
      else if (typname === 'float8') float8(src, `v${k}`);
      else if ((typname === 'timestamptz' || typname === 'timestamp') && slot.kind === 'number') timestampMs(src, `v${k}`);
      else throw new Uncovered();
      break;
    case 'boolean':
      if (!scalar || typname !== 'bool') throw new Uncovered();
      room(src, '5');
      src.emit(`out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 1; out[o + 4] = v${k}; o += 5;`);
      break;
    case 'enum': {
      if (!scalar || !TEXT_TYPES.has(typname)) throw new Uncovered();
      const symbols = src.constant((slot.type as avro.types.EnumType).symbols.map((x) => Buffer.from(x)));
      const e = src.temp();
      src.emit(`${e} = ${symbols}[v${k}];`);
      room(src, `(4 + ${e}.length)`);
      header(src, `${e}.length`);
      src.emit(`for (let i = 0; i < ${e}.length; i++) out[o++] = ${e}[i];`);
      break;
    }
    case 'string':
      if (!scalar || !TEXT_TYPES.has(typname)) throw new Uncovered();
      room(src, `(4 + l${k})`);
      copyText(src, `a${k}`, `l${k}`);
      break;
    case 'bytes':
      if (!scalar || typname !== 'bytea') throw new Uncovered();
      room(src, `(4 + l${k})`);
      header(src, `l${k}`);
      src.emit(`for (let i = a${k}, e = a${k} + l${k}; i < e; i++) out[o++] = buf[i];`);
      break;
    case 'array':
      writeTextArray(src, col, slot, hint);
      break;
    case 'map':
      writeJsonMap(src, col, slot, hint);
      break;
  }
  src.emit('}');
}

function roomText(bytes: string): string {
  return `if (o + ${bytes} > out.length) { w.pos = o; w.ensure(${bytes}); out = w.buf; }`;
}

function int8(src: Source, v: string): void {
  src.emit(`if (!Number.isSafeInteger(${v})) return false; out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 8; writeInt64(out, o + 4, ${v}); o += 12;`);
}

function int4(src: Source, v: string): void {
  src.emit(`if (${v} !== (${v} | 0)) return false; out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 4;`);
  src.emit(`out[o + 4] = ${v} >>> 24; out[o + 5] = ${v} >>> 16; out[o + 6] = ${v} >>> 8; out[o + 7] = ${v}; o += 8;`);
}

function float8(src: Source, v: string): void {
  // NaN's payload is whatever a double round trip leaves: the closures' path is taken for it.
  src.emit(`if (${v} !== ${v}) return false; F64[0] = ${v}; out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 8;`);
  src.emit(`for (let i = 0; i < 8; i++) out[o + 4 + i] = F64B[7 - i]; o += 12;`);
}

/** Epoch milliseconds as timestamp(tz): microseconds since 2000 (what numberWriter and the encoder write). */
function timestampMs(src: Source, v: string): void {
  const us = src.temp();
  src.emit(`${us} = Math.round((${v} - ${EPOCH_2000_MS}) * 1000); if (!(${us} > -9e18 && ${us} < 9e18)) return false;`);
  src.emit(`out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 8; writeInt64(out, o + 4, ${us}); o += 12;`);
}

/** text[] from an array of strings (items nullable or not): column-encoders' array bytes. */
function writeTextArray(src: Source, col: WorkerColumn, slot: Slot, hint: ValueHint | null): void {
  const elem = col.type.elemTypname;
  if (elem === null || !TEXT_TYPES.has(elem) || (hint !== null && hint.kind !== 'plain-json')) throw new Uncovered();
  const nullIndex = stringItems((slot.type as avro.types.ArrayType).itemsType)!;
  const [la, count, total, hasNull, at, length, u] = [src.temp(), src.temp(), src.temp(), src.temp(), src.temp(), src.temp(), src.temp()];
  const k = slot.id;
  // Items take 4 + length bytes against at least 1 + length read: 5 times the bytes left covers them all.
  room(src, `(24 + 5 * (end - a${k}))`);
  src.emit(`pos = a${k}; ${la} = o; ${total} = 0; ${hasNull} = 0;`);
  varint(src, count);
  src.emit(`o += ${count} === 0 ? 16 : 24;`);
  src.emit(`while (${count} !== 0) {`);
  src.emit(`if (${count} < 0) { ${count} = -${count}; do { if (pos >= end) return false; } while (buf[pos++] > 127); }`);
  src.emit(`${total} += ${count};`);
  src.emit(`while (${count}-- > 0) {`);
  if (nullIndex >= 0) {
    varint(src, u);
    src.emit(`if (${u} === ${nullIndex}) { ${hasNull} = 1; out[o] = 255; out[o + 1] = 255; out[o + 2] = 255; out[o + 3] = 255; o += 4; continue; }`);
    src.emit(`if (${u} !== ${1 - nullIndex}) return false;`);
  }
  lengthPrefixed(src, at, length);
  copyText(src, at, length);
  src.emit(`}`);
  varint(src, count);
  src.emit(`}`);
  src.emit(`fillArrayHeader(out, ${la}, o, ${total}, ${hasNull}, ${col.type.elemOid >>> 0});`);
}

/** json/jsonb from a map of strings: JSON.stringify's text of avsc's object (keys in order, none repeated). */
function writeJsonMap(src: Source, col: WorkerColumn, slot: Slot, hint: ValueHint | null): void {
  const typname = col.type.typname;
  if ((typname !== 'json' && typname !== 'jsonb') || col.type.elemTypname !== null) throw new Uncovered();
  const replacer = hint?.kind !== 'plain-json';
  const [la, count, keys, ka, kl, va, vl, q] = [src.temp(), src.temp(), src.temp(), src.temp(), src.temp(), src.temp(), src.temp(), src.temp()];
  const k = slot.id;
  // A key or value of n bytes (n + 1 read at least) is written as n + 2 (quotes) plus a comma or colon.
  room(src, `(8 + 3 * (end - a${k}))`);
  src.emit(`pos = a${k}; ${la} = o; o += 4; ${typname === 'jsonb' ? 'out[o++] = 1; ' : ''}out[o++] = 123; ${keys} = 0;`);
  varint(src, count);
  src.emit(`while (${count} !== 0) {`);
  src.emit(`if (${count} < 0) { ${count} = -${count}; do { if (pos >= end) return false; } while (buf[pos++] > 127); }`);
  src.emit(`while (${count}-- > 0) {`);
  lengthPrefixed(src, ka, kl);
  src.emit(`if (${keys} === ${MAX_MAP_KEYS} || isSpecialKey(buf, ${ka}, ${kl}, ${replacer})) return false;`);
  src.emit(`for (let ${q} = 0; ${q} < ${keys}; ${q}++) if (KEY_LENGTH[${q}] === ${kl} && sameBytes(buf, ${ka}, KEY_AT[${q}], ${kl})) return false;`);
  src.emit(`KEY_AT[${keys}] = ${ka}; KEY_LENGTH[${keys}] = ${kl}; if (${keys}++ > 0) out[o++] = 44;`);
  jsonString(src, ka, kl);
  src.emit(`out[o++] = 58;`);
  lengthPrefixed(src, va, vl);
  jsonString(src, va, vl);
  src.emit(`}`);
  varint(src, count);
  src.emit(`}`);
  src.emit(`out[o++] = 125; ${q} = o - ${la} - 4; out[${la}] = ${q} >>> 24; out[${la} + 1] = ${q} >>> 16; out[${la} + 2] = ${q} >>> 8; out[${la} + 3] = ${q};`);
}

