import avro from 'avsc';
import type { ValueHint } from '../copy/column-encoders';
import { GuardedArrayType, GuardedBytesType, GuardedMapType, GuardedStringType } from './avro-guards';
import { nullableBranch } from './avro-skip';
import { WideLongType } from './avro';
import type { WorkerColumn } from './column-plan';
import { AvroSource, lengthPrefixed, stringItems, varint, type Kind, type Slot, type Target } from './avro-fast-row-source';
import { writeColumn } from './avro-fast-row-writes';
import { instantiate, Uncovered, type FastRow, type Source } from './fast-row';

export type { FastRow, FastRowWriter } from './fast-row';

/**
 * [Transcode] One generated function per (writer schema, column plan): a record's Avro bytes to its row's
 * fields in straight-line code, as avsc compiles its own readers. Reading and writing keep their cursors
 * in local variables and every field and column is a few lines of its own, so nothing is called per
 * field but the byte loops: on the reference order 2.4 times the rate of the closures (docs/transcode.md).
 *
 *   fastRow(buf, start, end, w, partition, offset, timestamp) → true: the row's fields are written
 *                                                               false: nothing is (w.pos is unchanged)
 *
 * It covers the common shapes only, and only the records that are plainly fine: a value that needs a
 * check with a message (out of range, a NUL in text, invalid UTF-8, a string JSON must escape, a
 * varint longer than 7 bytes, a bad union or enum index, a truncated record, a required column with no
 * value) makes it answer false, and the caller runs the same record through AvroTranscoder, which writes
 * the same bytes or fails it with the object path's error. So this code never decides an error; it only
 * has to be right when it says true (test/unit/decode/avro-fast-row.test.ts compares it with the object
 * path on random schemas and corruptions).
 *
 * Covered (else compile answers null and the closures do all records): field types null, boolean, int,
 * long, float, double, string, bytes, enum, fixed (skipped only), a union of null and one of these,
 * records (nested, by path), arrays of strings and maps of strings; logical types over int/long with no
 * hint (timestamp-millis, date as a number); columns int4, int8, float8, timestamp(tz), bool, text types,
 * bytea, text[] (from an array of strings), json/jsonb (from a map of strings); $partition, $offset and
 * $timestamp. No reader schema (a registry record resolved to another schema takes the closures).
 *
 * Safety of the generated text: it holds only variable names, numbers and operators made here; every
 * schema- or data-derived value (enum symbols, names) is passed in as a constant, never spliced in.
 */
function isNumber(t: avro.Type): boolean {
  if (t instanceof avro.types.IntType || t instanceof WideLongType || t instanceof avro.types.LongType) return true;
  if (t instanceof avro.types.LogicalType) {
    const u = t.underlyingType;
    return u instanceof avro.types.IntType || u instanceof avro.types.LongType;
  }
  return false;
}

function kindOf(t: avro.Type): Kind | null {
  if (isNumber(t)) return 'number';
  if (t instanceof avro.types.FloatType) return 'float';
  if (t instanceof avro.types.DoubleType) return 'double';
  if (t instanceof avro.types.BooleanType) return 'boolean';
  if (t instanceof avro.types.EnumType) return 'enum';
  if (t instanceof GuardedStringType) return 'string';
  if (t instanceof GuardedBytesType) return 'bytes';
  if (t instanceof GuardedArrayType && stringItems(t.itemsType) !== null) return 'array';
  if (t instanceof GuardedMapType && t.valuesType instanceof GuardedStringType) return 'map';
  return null;
}

/** Steps over a value of `t` as its reader would; every shape it cannot check exactly is uncovered. */
function skip(src: Source, t: avro.Type, depth = 0): void {
  if (depth > 32) throw new Uncovered();
  const x = src.temp();
  if (t instanceof avro.types.NullType) return;
  if (t instanceof avro.types.BooleanType) return src.emit(`if (pos >= end) return false; pos++;`);
  if (isNumber(t)) return varint(src, x);
  if (t instanceof avro.types.FloatType) return src.emit(`if (pos + 4 > end) return false; pos += 4;`);
  if (t instanceof avro.types.DoubleType) return src.emit(`if (pos + 8 > end) return false; pos += 8;`);
  // Plain string and bytes too: a logical type's underlying type (uuid, decimal) is not a guarded one.
  if (t instanceof avro.types.StringType || t instanceof avro.types.BytesType) return lengthPrefixed(src, x, src.temp());
  if (t instanceof avro.types.FixedType) return src.emit(`if (pos + ${t.size} > end) return false; pos += ${t.size};`);
  if (t instanceof avro.types.EnumType) {
    varint(src, x);
    return src.emit(`if (${x} < 0 || ${x} >= ${t.symbols.length}) return false;`);
  }
  if (t instanceof avro.types.LogicalType) return skip(src, t.underlyingType, depth + 1);
  if (t instanceof avro.types.UnwrappedUnionType) {
    varint(src, x);
    src.emit(`switch (${x}) {`);
    t.types.forEach((branch, i) => {
      src.emit(`case ${i}: {`);
      skip(src, branch, depth + 1);
      src.emit(`break; }`);
    });
    return src.emit(`default: return false; }`);
  }
  if (t instanceof avro.types.RecordType) {
    for (const f of t.fields) skip(src, f.type, depth + 1);
    return;
  }
  if (t instanceof GuardedArrayType || t instanceof GuardedMapType) {
    const item = t instanceof GuardedArrayType ? t.itemsType : t.valuesType;
    blocks(src, x, () => {
      if (t instanceof GuardedMapType) lengthPrefixed(src, src.temp(), src.temp());
      skip(src, item, depth + 1);
    });
    return;
  }
  throw new Uncovered();
}

/** Array or map blocks: a count (negative: a byte size follows), the items, a count of 0 at the end. */
function blocks(src: Source, count: string, item: () => void): void {
  varint(src, count);
  src.emit(`while (${count} !== 0) {`);
  src.emit(`if (${count} < 0) { ${count} = -${count}; do { if (pos >= end) return false; } while (buf[pos++] > 127); }`);
  // Each item must take a byte at least: a count of zero-width items (null, an empty record) is left to
  // the guarded closures, which refuse counts the record cannot hold.
  const before = src.temp();
  src.emit(`while (${count}-- > 0) { if (pos >= end) return false; ${before} = pos;`);
  item();
  src.emit(`if (pos === ${before}) return false; }`);
  varint(src, count);
  src.emit(`}`);
}

/** Phase 1 for a record: per writer field, a skip or a read into slots; targets' columns get their slots. */
function readRecord(src: AvroSource, t: avro.types.RecordType, targets: Target[], bindings: Array<Slot | null>, depth: number): void {
  if (depth > 32) throw new Uncovered();
  for (const f of t.fields) {
    const mine = targets.filter((x) => x.rest[0] === f.name);
    if (mine.length === 0) {
      skip(src, f.type);
      continue;
    }
    const nullable = nullableBranch(f.type);
    const inner = nullable?.branch ?? f.type;
    const deeper = mine.filter((x) => x.rest.length > 1);
    // A union of null and the type: its index, then the branch; null leaves the branch's slots absent.
    const open = (): string | null => {
      if (nullable === null) return null;
      const u = src.temp();
      varint(src, u);
      src.emit(`if (${u} === ${1 - nullable.nullIndex}) {`);
      return u;
    };
    const close = (u: string | null): void => {
      if (nullable !== null) src.emit(`} else if (${u} !== ${nullable.nullIndex}) return false;`);
    };
    if (deeper.length > 0) {
      if (deeper.length !== mine.length || !(inner instanceof avro.types.RecordType)) throw new Uncovered();
      const u = open();
      readRecord(src, inner, deeper.map((x) => ({ column: x.column, rest: x.rest.slice(1) })), bindings, depth + 1);
      close(u);
      continue;
    }
    const kind = kindOf(inner);
    if (kind === null) throw new Uncovered();
    const slot: Slot = { id: src.slots.length, kind, type: inner };
    src.slots.push(slot);
    for (const x of mine) bindings[x.column] = slot;
    const u = open();
    readLeaf(src, slot);
    close(u);
  }
}

function readLeaf(src: Source, slot: Slot): void {
  const k = slot.id;
  switch (slot.kind) {
    case 'number':
      varint(src, `v${k}`);
      break;
    case 'float':
      src.emit(`if (pos + 4 > end) return false; F32B[0] = buf[pos]; F32B[1] = buf[pos + 1]; F32B[2] = buf[pos + 2]; F32B[3] = buf[pos + 3]; v${k} = F32[0]; pos += 4;`);
      break;
    case 'double':
      src.emit(`if (pos + 8 > end) return false; for (let i = 0; i < 8; i++) F64B[i] = buf[pos + i]; v${k} = F64[0]; pos += 8;`);
      break;
    case 'boolean':
      src.emit(`if (pos >= end) return false; v${k} = buf[pos++] === 0 ? 0 : 1;`);
      break;
    case 'enum':
      varint(src, `v${k}`);
      src.emit(`if (v${k} < 0 || v${k} >= ${(slot.type as avro.types.EnumType).symbols.length}) return false;`);
      break;
    case 'string':
    case 'bytes':
      lengthPrefixed(src, `a${k}`, `l${k}`);
      break;
    case 'array':
    case 'map':
      src.emit(`a${k} = pos;`);
      skip(src, slot.type);
      break;
  }
  src.emit(`p${k} = 1;`);
}

/**
 * The generated row function for records of `writer` into `columns` (field paths `paths`, in the
 * writer's names, and hints `hints`); null when a field or column is of a shape this file does not cover.
 */
export function compileFastRow(writer: avro.Type, columns: readonly WorkerColumn[], paths: readonly string[][], hints: ReadonlyArray<ValueHint | null>): FastRow | null {
  if (!(writer instanceof avro.types.RecordType)) return null;
  const src = new AvroSource();
  const bindings: Array<Slot | null> = columns.map(() => null);
  try {
    const targets = columns.flatMap((c, i) => (c.source === 'field' ? [{ column: i, rest: paths[i] }] : []));
    readRecord(src, writer, targets, bindings, 0);
    src.emit('if (pos !== end) return false;');
    src.emit('let out = w.buf; let o = w.pos;');
    columns.forEach((c, i) => writeColumn(src, c, bindings[i], hints[i]));
    src.emit('w.pos = o; return true;');
  } catch (err) {
    if (err instanceof Uncovered) return null;
    throw err;
  }
  return instantiate(src, src.slots.flatMap((x) => [`p${x.id}`, `v${x.id}`, `a${x.id}`, `l${x.id}`]));
}
