import avro from 'avsc';
import { encoderFor, TEXT_TYPES, type ColumnEncoder, type ValueHint } from '../copy/column-encoders';
import { writeInt32, type RowWriter } from '../copy/copy-binary';
import { bounds, GuardedArrayType, GuardedBytesType, GuardedMapType, GuardedStringType, lengthPrefixed } from './avro-guards';
import { compileFastRow, type FastRow } from './avro-fast-row';
import { jsonEmitterOf } from './avro-json';
import { invalidEnum, invalidUnion, nullableBranch, skipperOf, type Skip } from './avro-skip';
import { readWideLong, WideLongType } from './avro';
import { readable, Tap, type AvroTap } from './avsc-internals';
import type { WorkerColumn } from './column-plan';
import { pick } from './pick';
import { closeArray, copyText, numberWriter, openArray } from './transcode-writes';

/**
 * [Transcode] Avro binary → binary COPY fields with no JS object per record: the object path (avsc's
 * value, then column-encoders.ts) compiled away for one (writer schema, reader schema, column plan).
 *
 *   read(start, end)   phase 1: walks the writer's record once, as avsc would (same positions, same
 *                      errors), keeping in numbered slots what the columns need: a number, where a
 *                      string's bytes are, where an array or map starts; fields no column reads are
 *                      skipped. Throws for malformed bytes (the record then gets RECORD_DECODE).
 *   write(column, w)   phase 2: writes one field column, in table order, from its slot; false when the
 *                      record has no value for it (NULL or RECORD_NULL, the caller's rule). Throws the
 *                      column encoder's ValueError for a value that does not fit.
 *
 * The bytes written are the object path's, byte for byte (test/unit/decode/avro-transcoder.test.ts
 * checks it on random schemas and records): strings are copied as UTF-8 when they are valid and hold no
 * NUL, numbers go through the column's own encoder, enums are pre-encoded, records/maps/arrays become
 * JSON text (avro-json.ts) or PostgreSQL arrays straight from their bytes. What has no fast path here is
 * read with avsc for that field alone (a fixed, a decimal, a union of several types, a field whose type
 * changed between writer and reader) and written by the column's encoder: the same bytes, slower.
 *
 * For the common shapes, `row` (avro-fast-row.ts) writes the whole row in one generated function first;
 * the steps and writes here are what it falls back to, and what uncovered schemas use for every record.
 */

type SlotKind = 'number' | 'boolean' | 'enum' | 'string' | 'bytes' | 'tree' | 'object';
type Step = (tap: AvroTap, s: Slots) => void;
type ColumnWrite = (w: RowWriter, s: Slots, tap: AvroTap) => boolean;

/** What phase 1 leaves for phase 2, one entry per slot; nothing here is allocated per record. */
class Slots {
  /** 0: absent (a null branch on the way), 1: present, 2: present as `objects[k]` (a long beyond 2^53). */
  readonly present: Uint8Array;
  readonly numbers: Float64Array;
  readonly at: Int32Array;
  readonly lengths: Int32Array;
  readonly objects: unknown[];
  constructor(n: number) {
    this.present = new Uint8Array(n);
    this.numbers = new Float64Array(n);
    this.at = new Int32Array(n);
    this.lengths = new Int32Array(n);
    this.objects = new Array<unknown>(n).fill(null);
  }
}

interface Target {
  column: number;
  rest: string[];
}

interface Binding {
  slot: number;
  kind: SlotKind;
  /** The slot's type, its nullable union unwrapped (null: a resolver's value). */
  type: avro.Type | null;
  /** For 'object' slots reached through a parent: the path below the slot's value. */
  rest: string[];
}

export class AvroTranscoder {
  private readonly tap: AvroTap;
  private readonly slots: Slots;

  private constructor(ring: Buffer, private readonly steps: Step[], slotCount: number, private readonly writes: Array<ColumnWrite | null>, readonly row: FastRow | null) {
    this.tap = new Tap(ring, 0);
    this.slots = new Slots(slotCount);
  }

  /**
   * The transcoder for records of `writer` read as `reader` (null: as written) into `columns`, whose
   * paths are `paths` (in the reader's names) and encoders `encoders`; null when the writer is not a
   * record (the object path then does it all).
   */
  static compile(ring: Buffer, writer: avro.Type, reader: avro.Type | null, columns: readonly WorkerColumn[], paths: readonly string[][], encoders: readonly ColumnEncoder[], hints: ReadonlyArray<ValueHint | null>): AvroTranscoder | null {
    if (!(writer instanceof avro.types.RecordType)) return null;
    const resolving = reader !== null && reader !== writer && !sameType(reader, writer) ? reader : null;
    if (resolving !== null && !(resolving instanceof avro.types.RecordType)) return null;
    const targets: Target[] = columns.flatMap((c, i) => (c.source === 'field' ? [{ column: i, rest: paths[i] }] : []));
    const bindings: Array<Binding | { constant: unknown } | null> = columns.map(() => null);
    const builder = { slots: 0, bindings };
    const steps = recordSteps(writer, resolving, targets, builder);
    for (const t of targets) if (bindings[t.column] === null) bindings[t.column] = { constant: undefined };
    const writes = columns.map((c, i) => {
      const b = bindings[i];
      if (c.source !== 'field' || b === null) return null;
      return 'constant' in b ? constantWrite(b.constant, encoders[i]) : columnWrite(b, c, encoders[i], hints[i]);
    });
    // The generated row function covers the common shapes with no reader schema; records it leaves (and
    // schemas it does not cover) go through the steps and writes above.
    const row = resolving === null ? compileFastRow(writer, columns, paths, hints) : null;
    return new AvroTranscoder(ring, steps, builder.slots, writes, row);
  }

  /** Phase 1 over the value bytes [start, end) of the ring. */
  read(start: number, end: number): void {
    const tap = this.tap;
    const s = this.slots;
    s.present.fill(0);
    tap.pos = start;
    bounds.recordEnd = end;
    const steps = this.steps;
    for (let i = 0; i < steps.length; i++) steps[i](tap, s);
    if (tap.pos !== end) {
      throw new Error(tap.pos > end ? `truncated Avro data: the schema needs more than the ${end - start} bytes of the value` : `${end - tap.pos} trailing bytes after the Avro record`);
    }
  }

  /** Phase 2 for field column `column`; false: the record has no value for it. */
  write(column: number, w: RowWriter): boolean {
    return this.writes[column]!(w, this.slots, this.tap);
  }
}

interface Builder {
  slots: number;
  bindings: Array<Binding | { constant: unknown } | null>;
}

/**
 * Phase 1 steps for a record: per writer field, in order, a skip or a read into slots. `reader` (a
 * record whose fields differ from the writer's) maps names as avsc's resolver does: a writer field the
 * reader lacks is skipped with avsc's own skip, a reader field the writer lacks is its default.
 */
function recordSteps(writer: avro.types.RecordType, reader: avro.types.RecordType | null, targets: Target[], b: Builder): Step[] {
  const steps: Step[] = [];
  for (const wf of writer.fields) {
    const rf = reader === null ? wf : reader.fields.find((f) => f.name === wf.name || (f.aliases ?? []).includes(wf.name));
    if (rf === undefined) {
      const type = readable(wf.type);
      steps.push((tap) => type._skip(tap));
      continue;
    }
    const mine = targets.filter((t) => t.rest[0] === rf.name);
    if (mine.length === 0) {
      const skip: Skip = reader === null ? skipperOf(wf.type) : (tap) => readable(wf.type)._skip(tap);
      steps.push((tap) => skip(tap));
      continue;
    }
    const same = reader === null || sameType(rf.type, wf.type);
    steps.push(same ? fieldStep(wf.type, mine, b) : resolvedStep(rf.type.createResolver(wf.type), mine, b));
  }
  if (reader !== null) {
    for (const rf of reader.fields) {
      if (writer.fields.some((wf) => wf.name === rf.name || (rf.aliases ?? []).includes(wf.name))) continue;
      const value = rf.defaultValue();
      for (const t of targets) if (t.rest[0] === rf.name) b.bindings[t.column] = { constant: pick(value, t.rest.slice(1), false) };
    }
  }
  return steps;
}

/** A field whose type changed: avsc's resolver for that field alone, the columns pick from its value. */
function resolvedStep(resolver: unknown, mine: Target[], b: Builder): Step {
  const k = b.slots++;
  const read = readable(resolver);
  for (const t of mine) b.bindings[t.column] = { slot: k, kind: 'object', type: null, rest: t.rest.slice(1) };
  return (tap, s) => {
    const v = read._read(tap);
    s.objects[k] = v;
    s.present[k] = v === null || v === undefined ? 0 : 2;
  };
}

function fieldStep(type: avro.Type, mine: Target[], b: Builder): Step {
  const nullable = nullableBranch(type);
  const inner = nullable?.branch ?? type;
  const leaves = mine.filter((t) => t.rest.length === 1);
  const deeper = mine.filter((t) => t.rest.length > 1).map((t) => ({ column: t.column, rest: t.rest.slice(1) }));
  if (deeper.length > 0 && (leaves.length > 0 || !(inner instanceof avro.types.RecordType))) return objectStep(type, mine, b);
  if (deeper.length > 0) {
    const steps = recordSteps(inner as avro.types.RecordType, null, deeper, b);
    const run: Step = (tap, s) => {
      for (let i = 0; i < steps.length; i++) steps[i](tap, s);
    };
    return nullable === null ? run : nullableStep(nullable.nullIndex, run);
  }
  const kind = kindOf(inner);
  if (kind === 'object') return objectStep(type, mine, b);
  const k = b.slots++;
  for (const t of leaves) b.bindings[t.column] = { slot: k, kind, type: inner, rest: [] };
  const read = leafStep(kind, inner, k);
  return nullable === null ? read : nullableStep(nullable.nullIndex, read);
}

/** A union of null and one type: its index, then the branch; null leaves the branch's slots absent. */
function nullableStep(nullIndex: number, branch: Step): Step {
  const other = 1 - nullIndex;
  return (tap, s) => {
    const index = tap.readLong();
    if (index === other) branch(tap, s);
    else if (index !== nullIndex) throw invalidUnion(index);
  };
}

/** The field read whole by avsc; each column picks its path from the value. */
function objectStep(type: avro.Type, mine: Target[], b: Builder): Step {
  const k = b.slots++;
  for (const t of mine) b.bindings[t.column] = { slot: k, kind: 'object', type, rest: t.rest.slice(1) };
  const read = readable(type);
  return (tap, s) => {
    const v = read._read(tap);
    s.objects[k] = v;
    s.present[k] = v === null || v === undefined ? 0 : 2;
  };
}

/** Types that read the same bytes to the same value under the same names (aliases and defaults included). */
function sameType(a: avro.Type, b: avro.Type): boolean {
  return JSON.stringify(a.schema({ exportAttrs: true })) === JSON.stringify(b.schema({ exportAttrs: true }));
}

function kindOf(t: avro.Type): SlotKind {
  if (t instanceof avro.types.BooleanType) return 'boolean';
  if (t instanceof avro.types.IntType || t instanceof WideLongType || t instanceof avro.types.FloatType || t instanceof avro.types.DoubleType) return 'number';
  if (t instanceof avro.types.LogicalType) {
    const u = t.underlyingType;
    return u instanceof avro.types.IntType || u instanceof avro.types.LongType ? 'number' : 'object';
  }
  if (t instanceof avro.types.EnumType) return 'enum';
  if (t instanceof GuardedStringType) return 'string';
  if (t instanceof GuardedBytesType) return 'bytes';
  if (t instanceof avro.types.RecordType || t instanceof GuardedArrayType || t instanceof GuardedMapType) return 'tree';
  return 'object';
}

function leafStep(kind: SlotKind, t: avro.Type, k: number): Step {
  switch (kind) {
    case 'boolean':
      return (tap, s) => {
        s.numbers[k] = tap.buf[tap.pos++] ? 1 : 0;
        s.present[k] = 1;
      };
    case 'number': {
      if (t instanceof WideLongType) {
        return (tap, s) => {
          const v = readWideLong(tap);
          if (typeof v === 'number') {
            s.numbers[k] = v;
            s.present[k] = 1;
          } else {
            s.objects[k] = v;
            s.present[k] = 2;
          }
        };
      }
      const read = readable(t);
      return (tap, s) => {
        s.numbers[k] = read._read(tap) as number;
        s.present[k] = 1;
      };
    }
    case 'enum': {
      const symbols = (t as avro.types.EnumType).symbols;
      const name = (t as avro.types.EnumType).name;
      return (tap, s) => {
        const index = tap.readLong();
        if (symbols[index] === undefined) throw invalidEnum(name, index);
        s.numbers[k] = index;
        s.present[k] = 1;
      };
    }
    case 'string':
    case 'bytes': {
      const what = kind === 'string' ? 'a string length' : 'a bytes length';
      return (tap, s) => {
        const at = lengthPrefixed(tap, what);
        s.at[k] = at;
        s.lengths[k] = tap.pos - at;
        s.present[k] = 1;
      };
    }
    default: {
      const skip = skipperOf(t);
      return (tap, s) => {
        s.at[k] = tap.pos;
        skip(tap);
        s.present[k] = 1;
      };
    }
  }
}

function constantWrite(value: unknown, enc: ColumnEncoder): ColumnWrite {
  if (value === null || value === undefined) return () => false;
  return (w) => (enc(w, value), true);
}

function columnWrite(b: Binding, col: WorkerColumn, enc: ColumnEncoder, hint: ValueHint | null): ColumnWrite {
  const k = b.slot;
  const text = TEXT_TYPES.has(col.type.typname) && col.type.elemTypname === null && hint === null;
  switch (b.kind) {
    case 'number': {
      const write = numberWriter(col, hint, enc);
      return (w, s) => {
        const present = s.present[k];
        if (present === 0) return false;
        if (present === 2) enc(w, s.objects[k]);
        else write(w, s.numbers[k]);
        return true;
      };
    }
    case 'boolean':
      return (w, s) => {
        if (s.present[k] === 0) return false;
        enc(w, s.numbers[k] !== 0);
        return true;
      };
    case 'enum': {
      const symbols = (b.type as avro.types.EnumType).symbols;
      const encoded = symbols.map((x) => Buffer.from(x));
      return (w, s) => {
        if (s.present[k] === 0) return false;
        const i = s.numbers[k];
        if (text) w.copyField(encoded[i], 0, encoded[i].length);
        else enc(w, symbols[i]);
        return true;
      };
    }
    case 'string':
      return (w, s, tap) => {
        if (s.present[k] === 0) return false;
        const buf = tap.buf;
        const at = s.at[k];
        const length = s.lengths[k];
        if (!text || !copyText(w, buf, at, length)) enc(w, buf.utf8Slice(at, at + length));
        return true;
      };
    case 'bytes': {
      const raw = col.type.typname === 'bytea' && col.type.elemTypname === null && hint === null;
      return (w, s, tap) => {
        if (s.present[k] === 0) return false;
        const at = s.at[k];
        const length = s.lengths[k];
        if (raw) w.copyField(tap.buf, at, at + length);
        else enc(w, Buffer.from(tap.buf.subarray(at, at + length)));
        return true;
      };
    }
    case 'tree':
      return treeWrite(b, col, enc, hint);
    default: {
      const rest = b.rest;
      return (w, s) => {
        if (s.present[k] === 0) return false;
        const v = rest.length === 0 ? s.objects[k] : pick(s.objects[k], rest, false);
        if (v === null || v === undefined) return false;
        enc(w, v);
        return true;
      };
    }
  }
}

/** A record, map or array: JSON text into json/jsonb, or a PostgreSQL array; else through avsc's value. */
function treeWrite(b: Binding, col: WorkerColumn, enc: ColumnEncoder, hint: ValueHint | null): ColumnWrite {
  const k = b.slot;
  const type = b.type!;
  const read = readable(type);
  const slow = (w: RowWriter, tap: AvroTap): boolean => {
    enc(w, read._read(tap));
    return true;
  };
  const typname = col.type.typname;
  if ((typname === 'json' || typname === 'jsonb') && col.type.elemTypname === null) {
    const emit = jsonEmitterOf(type, hint?.kind !== 'plain-json');
    const prefix = typname === 'jsonb' ? 1 : -1;
    return (w, s, tap) => {
      if (s.present[k] === 0) return false;
      tap.pos = s.at[k];
      const lengthAt = w.pos;
      if (emit !== null) {
        w.ensure(5);
        w.pos += 4;
        if (prefix >= 0) w.buf[w.pos++] = prefix;
        if (emit(tap, w)) {
          writeInt32(w.buf, lengthAt, w.pos - lengthAt - 4);
          return true;
        }
        w.pos = lengthAt;
        tap.pos = s.at[k];
      }
      return slow(w, tap);
    };
  }
  const items = col.type.elemTypname !== null && type instanceof GuardedArrayType ? arrayItems(type.itemsType, col, hint) : null;
  return (w, s, tap) => {
    if (s.present[k] === 0) return false;
    tap.pos = s.at[k];
    if (items !== null) writeArray(w, tap, items, col.type.elemOid);
    else slow(w, tap);
    return true;
  };
}

/** How to write one array item, or null when the array goes through the object path. */
interface ArrayItems {
  nullIndex: number;
  write: (w: RowWriter, tap: AvroTap) => void;
}

function arrayItems(itemsType: avro.Type, col: WorkerColumn, hint: ValueHint | null): ArrayItems | null {
  const nullable = nullableBranch(itemsType);
  const t = nullable?.branch ?? itemsType;
  const elem = encoderFor({ typname: col.type.elemTypname!, elemTypname: null, elemOid: 0 }, hint);
  if (elem === null) return null;
  const kind = kindOf(t);
  // A plain-json hint (the array's own, for json columns) leaves text elements plain.
  const text = TEXT_TYPES.has(col.type.elemTypname!) && (hint === null || hint.kind === 'plain-json');
  let write: ArrayItems['write'];
  if (kind === 'string') {
    write = (w, tap) => {
      const at = lengthPrefixed(tap, 'a string length');
      const length = tap.pos - at;
      if (!text || !copyText(w, tap.buf, at, length)) elem(w, tap.buf.utf8Slice(at, at + length));
    };
  } else if (kind === 'number' || kind === 'boolean' || kind === 'enum') {
    const read = readable(t);
    write = (w, tap) => elem(w, read._read(tap));
  } else return null;
  return { nullIndex: nullable?.nullIndex ?? -1, write };
}

/** The array field as column-encoders' arrayEncoder writes it: header, then each item (or NULL). */
function writeArray(w: RowWriter, tap: AvroTap, items: ArrayItems, elemOid: number): void {
  const first = tap.pos;
  const empty = tap.readLong() === 0;
  tap.pos = first;
  const lengthAt = openArray(w, empty);
  let count = 0;
  let hasNull = 0;
  let n: number;
  while ((n = tap.readLong())) {
    if (n < 0) {
      n = -n;
      tap.skipLong();
    }
    count += n;
    while (n--) {
      if (items.nullIndex >= 0 && tap.readLong() === items.nullIndex) {
        hasNull = 1;
        w.null();
      } else items.write(w, tap);
    }
  }
  closeArray(w, lengthAt, count, hasNull, elemOid);
}
