import { TEXT_TYPES, type ValueHint } from '../copy/column-encoders';
import type avro from 'avsc';
import { lengthPrefixed, stringItems, varint, type Slot } from './avro-fast-row-source';
import type { WorkerColumn } from './column-plan';
import { absentText, copyText, header, jsonKey, jsonString, metaColumn, numberColumn, room, roomText, Uncovered, type Source } from './fast-row';

/**
 * [Transcode] Phase 2 of a generated row function (avro-fast-row.ts): each column's field written from
 * its slot, in table order, as the bytes column-encoders.ts writes for the object path's value. Every
 * case that needs a check with a message makes the function answer false (the closures then decide).
 * The emitters both formats use are in fast-row.ts.
 */
/** Phase 2 for one column: its field from its slot (or its metadata), in table order. */
export function writeColumn(src: Source, col: WorkerColumn, slot: Slot | null, hint: ValueHint | null): void {
  const typname = col.type.typname;
  const scalar = col.type.elemTypname === null && hint === null;
  const absent = absentText(col);
  if (col.source !== 'field') {
    if (!scalar) throw new Uncovered();
    return metaColumn(src, col);
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
      numberColumn(src, typname, `v${k}`, slot.kind === 'number');
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
  jsonKey(src, keys, ka, kl, replacer);
  lengthPrefixed(src, va, vl);
  jsonString(src, va, vl);
  src.emit(`}`);
  varint(src, count);
  src.emit(`}`);
  src.emit(`out[o++] = 125; ${q} = o - ${la} - 4; out[${la}] = ${q} >>> 24; out[${la} + 1] = ${q} >>> 16; out[${la} + 2] = ${q} >>> 8; out[${la} + 3] = ${q};`);
}

