import { TEXT_TYPES, type ColumnEncoder, type ValueHint } from '../copy/column-encoders';
import { RowWriter } from '../copy/copy-binary';
import type { WorkerColumn } from './column-plan';
import { absentText, copyText, header, int8, jsonKey, jsonString, metaColumn, numberColumn, room, roomText, Uncovered, type Source } from './fast-row';
import type { ScalarKind } from './proto-fast-row-wire';
import { EPOCH_2000_MS } from './transcode-writes';

/**
 * [Transcode] Phase 2 of the Protobuf generated row function (proto-fast-row.ts): each column from the
 * locals phase 1 left, in table order, as the closures' phase 2 writes it (proto-columns.ts) and so as
 * the object path does. A value that needs the encoder's check (out of range, NUL, invalid UTF-8, a map
 * the object would order differently) answers false and the closures take the record.
 */

/** A field read in phase 1: locals p<id> present, v<id> its number, a<id>/l<id> its bytes, n<id> its list's length. */
export interface ProtoSlot {
  id: number;
  kind: ScalarKind | 'message' | 'strings' | 'map';
  /** The slot of the message the field is in (-1: the record): absent, the column is NULL. */
  parent: number;
  /** proto3's utf8_validation VERIFY: the strings were checked as UTF-8 when read. */
  verify: boolean;
  /** Repeated strings (at, length) and map entries (key at, key length, value at, value length): the constant's name. */
  list: string;
}

/** What a field column is written from. */
export type Binding =
  | { kind: 'none' }
  /**
   * fallback: what an absent value writes (the prototype's default through the encoder): null NULL, 'fail'
   * the encoder refuses it; zero: the locals hold the default when absent, the value's write is the fallback.
   */
  | { kind: 'scalar'; slot: ProtoSlot; fallback: Buffer | null | 'fail'; zero: boolean }
  | { kind: 'strings' | 'map'; slot: ProtoSlot }
  | { kind: 'timestamp'; slot: ProtoSlot; seconds: number; nanos: number };

/** The bytes the encoder writes for the prototype's default, as scalarWrite's `missing` does. */
export function fallbackOf(presence: boolean, fallback: unknown, enc: ColumnEncoder): Buffer | null | 'fail' {
  if (presence || fallback === null || fallback === undefined) return null;
  try {
    const w = new RowWriter(64);
    enc(w, fallback);
    return Buffer.from(w.buf.subarray(0, w.pos));
  } catch {
    return 'fail';
  }
}

function constantBytes(src: Source, bytes: Buffer): void {
  room(src, `${bytes.length}`);
  src.emit(Array.from(bytes, (x, i) => `out[o + ${i}] = ${x};`).join(' ') + ` o += ${bytes.length};`);
}

export function writeProtoColumn(src: Source, col: WorkerColumn, binding: Binding | null, hint: ValueHint | null): void {
  if (hint !== null) throw new Uncovered();
  if (col.source !== 'field') return metaColumn(src, col);
  if (binding === null) throw new Uncovered();
  const nullText = col.required ? 'return false;' : `${roomText('4')} ${absentText(col)}`;
  if (binding.kind === 'none') return src.emit(nullText);
  const parent = binding.slot.parent;
  if (parent >= 0) src.emit(`if (p${parent} === 0) { ${nullText} } else {`);
  switch (binding.kind) {
    case 'scalar': {
      const k = binding.slot.id;
      const fallback = binding.fallback;
      if (binding.zero) {
        scalarValue(src, col, binding.slot);
        break;
      }
      src.emit(`if (p${k} === 0) {`);
      if (fallback === null) src.emit(nullText);
      else if (fallback === 'fail') src.emit('return false;');
      else constantBytes(src, fallback);
      src.emit('} else {');
      scalarValue(src, col, binding.slot);
      src.emit('}');
      break;
    }
    case 'timestamp':
      timestamp(src, col, binding, nullText);
      break;
    case 'strings':
      textArray(src, col, binding.slot);
      break;
    case 'map':
      jsonMap(src, col, binding.slot);
      break;
  }
  if (parent >= 0) src.emit('}');
}

function scalarValue(src: Source, col: WorkerColumn, slot: ProtoSlot): void {
  const typname = col.type.typname;
  const k = slot.id;
  if (col.type.elemTypname !== null) throw new Uncovered();
  switch (slot.kind) {
    case 'number':
      return numberColumn(src, typname, `v${k}`, true);
    case 'long':
      if (typname !== 'int8') throw new Uncovered();
      room(src, '12');
      return int8(src, `v${k}`);
    case 'bool':
      if (typname !== 'bool') throw new Uncovered();
      room(src, '5');
      return src.emit(`out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 1; out[o + 4] = v${k}; o += 5;`);
    case 'string':
      if (!TEXT_TYPES.has(typname)) throw new Uncovered();
      room(src, `(4 + l${k})`);
      return copyText(src, `a${k}`, `l${k}`, slot.verify);
    case 'bytes':
      if (typname !== 'bytea') throw new Uncovered();
      room(src, `(4 + l${k})`);
      header(src, `l${k}`);
      return src.emit(`for (let i = a${k}, e = a${k} + l${k}; i < e; i++) out[o++] = buf[i];`);
    default:
      throw new Uncovered();
  }
}

/** A google.protobuf.Timestamp: timestampTargets' arithmetic (absent seconds or nanos read as 0). */
function timestamp(src: Source, col: WorkerColumn, b: { slot: ProtoSlot; seconds: number; nanos: number }, nullText: string): void {
  const typname = col.type.typname;
  if ((typname !== 'timestamptz' && typname !== 'timestamp') || col.type.elemTypname !== null) throw new Uncovered();
  const us = src.temp();
  src.emit(`if (p${b.slot.id} === 0) { ${nullText} } else {`);
  src.emit(`${us} = (p${b.seconds} === 0 ? 0 : v${b.seconds}) * 1000000 + Math.floor((p${b.nanos} === 0 ? 0 : v${b.nanos}) / 1000);`);
  src.emit(`if (!(${us} > -9e15 && ${us} < 9e15)) return false;`);
  room(src, '12');
  src.emit(`out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 8; writeInt64(out, o + 4, ${us} - ${EPOCH_2000_MS * 1000}); o += 12; }`);
}

/** text[] from a repeated string (an absent one is an empty array, as textArrayWrite writes it). */
function textArray(src: Source, col: WorkerColumn, slot: ProtoSlot): void {
  const elem = col.type.elemTypname;
  if (elem === null || !TEXT_TYPES.has(elem)) throw new Uncovered();
  const k = slot.id;
  const [la, q, at, length] = [src.temp(), src.temp(), src.temp(), src.temp()];
  // Items take 4 + length bytes: the list's length counts 2 per item, their bytes are the record's.
  room(src, `(24 + 2 * n${k} + (end - start))`);
  src.emit(`${la} = o; o += n${k} === 0 ? 16 : 24;`);
  src.emit(`for (${q} = 0; ${q} < n${k}; ${q} += 2) { ${at} = ${slot.list}[${q}]; ${length} = ${slot.list}[${q} + 1];`);
  copyText(src, at, length, slot.verify);
  src.emit(`}`);
  src.emit(`fillArrayHeader(out, ${la}, o, n${k} / 2, 0, ${col.type.elemOid >>> 0});`);
}

/** json/jsonb from a map<string, string>: mapWrite's text (keys in entry order, none repeated or special). */
function jsonMap(src: Source, col: WorkerColumn, slot: ProtoSlot): void {
  const typname = col.type.typname;
  if ((typname !== 'json' && typname !== 'jsonb') || col.type.elemTypname !== null) throw new Uncovered();
  const k = slot.id;
  const [la, q, keys, ka, kl, va, vl] = [src.temp(), src.temp(), src.temp(), src.temp(), src.temp(), src.temp(), src.temp()];
  // Per entry its bytes plus 2 quotes each, a colon and a comma; the list counts 4 per entry.
  room(src, `(8 + 2 * n${k} + (end - start))`);
  src.emit(`${la} = o; o += 4; ${typname === 'jsonb' ? 'out[o++] = 1; ' : ''}out[o++] = 123; ${keys} = 0;`);
  src.emit(`for (${q} = 0; ${q} < n${k}; ${q} += 4) { ${ka} = ${slot.list}[${q}]; ${kl} = ${slot.list}[${q} + 1]; ${va} = ${slot.list}[${q} + 2]; ${vl} = ${slot.list}[${q} + 3];`);
  jsonKey(src, keys, ka, kl, true);
  jsonString(src, va, vl);
  src.emit(`}`);
  src.emit(`out[o++] = 125; ${q} = o - ${la} - 4; out[${la}] = ${q} >>> 24; out[${la} + 1] = ${q} >>> 16; out[${la} + 2] = ${q} >>> 8; out[${la} + 3] = ${q};`);
}
