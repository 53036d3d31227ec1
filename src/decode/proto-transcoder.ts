import protobuf from 'protobufjs';
import type { ColumnEncoder, ValueHint } from '../copy/column-encoders';
import type { RowWriter } from '../copy/copy-binary';
import type { WorkerColumn } from './column-plan';
import type { FastRow } from './fast-row';
import type { ProtoReader } from './protobuf';
import { compileProtoFastRow } from './proto-fast-row';
import { mapColumn, mapWrite, listOf, ProtoSlots, scalarWrite, slowWrite, textArrayColumn, textArrayWrite, timestampColumn, timestampTargets, type ColumnWrite, type DecodedRecord, type Target } from './proto-columns';
import { bits, delimited, mirrorable, readFixed64, readVarint64, RECURSION_LIMIT, verifies, wireType, zigzagDecode64, type WireReader } from './proto-wire';

/**
 * [Transcode] Protobuf binary → binary COPY fields with no message object per record, for one (message
 * type, column plan); the Avro transcoder's two phases (avro-transcoder.ts):
 *
 *   read(start, end)   phase 1: walks the message as protobufjs 8.8's generated decoder does (same
 *                      fields read with the same Reader calls, same wire-type rules, same merges of a
 *                      repeated message field, same errors: proto-wire.ts), keeping in slots what the
 *                      columns need: a number, a 64-bit value's bits, where a string is, each item of a
 *                      repeated string, each entry of a map of strings, whether a message was present.
 *   write(column, w)   phase 2: one field column from its slots; false: the record has no value.
 *
 * Absent fields read as the object path reads them, from the message prototype's default (a proto3
 * scalar explicitly sent with its default value counts as absent, as protobufjs deletes it). Columns
 * with no fast path here (a message as jsonb, repeated numbers, other maps, a path through a repeated
 * field) are written from the message object decoded by the object path for that record alone (`slow`).
 * Not compiled at all (null: the whole schema takes the object path): proto2 required fields, groups,
 * closed enums.
 */

type FieldRead = (r: WireReader, u: number, q: number, s: ProtoSlots) => boolean;
type MessageWalk = (r: WireReader, l: number, q: number, s: ProtoSlots) => void;

export class ProtoTranscoder implements DecodedRecord {
  private readonly reader: WireReader;
  private readonly slots: ProtoSlots;
  private start = 0;
  private end = 0;
  private object: unknown = undefined;
  private objectRead = false;
  private constructor(
    readonly buf: Buffer,
    private readonly walk: MessageWalk,
    slotCount: number,
    private readonly writes: ColumnWrite[],
    private readonly objects: ProtoReader,
    /** The generated row function (proto-fast-row.ts), tried first for every record; null: not covered. */
    readonly row: FastRow | null,
  ) {
    this.reader = protobuf.Reader.create(buf);
    this.slots = new ProtoSlots(slotCount);
  }

  /**
   * The transcoder for messages of `type` into `columns` (paths and presence as the object path picks
   * them; `objects` is the object path's reader, for the columns written from the message object), or
   * null when the type uses what phase 1 does not mirror.
   */
  static compile(ring: Buffer, type: protobuf.Type, objects: ProtoReader, columns: readonly WorkerColumn[], paths: readonly string[][], presence: readonly boolean[], encoders: readonly ColumnEncoder[], hints: ReadonlyArray<ValueHint | null>): ProtoTranscoder | null {
    if (!mirrorable(type, new Set())) return null;
    const b: Builder = { slots: 1, walks: new Map() };
    const writes: ColumnWrite[] = [];
    const targets: Target[] = [];
    columns.forEach((col, i) => {
      if (col.source !== 'field') return;
      const slow = slowWrite(paths[i], presence[i], encoders[i]);
      writes[i] = slow;
      if (paths[i].length > 0) targets.push({ rest: paths[i], col, enc: encoders[i], hint: hints[i], presence: presence[i], slow, bind: (write) => (writes[i] = write) });
    });
    const walk = messageWalk(type, targets, -1, b);
    return new ProtoTranscoder(ring, walk, b.slots, writes, objects, compileProtoFastRow(type, columns, paths, presence, encoders, hints));
  }

  read(start: number, end: number): void {
    const r = this.reader;
    const s = this.slots;
    s.present.fill(0);
    s.counts.fill(0);
    this.start = start;
    this.end = end;
    this.objectRead = false;
    this.object = undefined;
    r.len = r.buf.length;
    r.pos = start;
    this.walk(r, end - start, 0, s);
  }

  write(column: number, w: RowWriter): boolean {
    return this.writes[column](w, this.slots, this);
  }

  /** The record's message object, decoded by the object path once per record when a column needs it. */
  messageObject(): unknown {
    if (!this.objectRead) {
      this.object = this.objects.decode(this.start, this.end);
      this.objectRead = true;
    }
    return this.object;
  }
}

interface Builder {
  slots: number;
  /** The walk of each message type read only to be checked (no column under it). */
  walks: Map<protobuf.Type, MessageWalk>;
}

/**
 * The walk of a message of `type` whose fields lead to `targets` (their `rest` paths start at this
 * message); `parent` is the slot of the message itself (-1: the record).
 */
function messageWalk(type: protobuf.Type, targets: Target[], parent: number, b: Builder): MessageWalk {
  if (targets.length === 0) return checkedWalk(type, b);
  const reads = new Map<number, FieldRead>();
  const ranges = new Map<protobuf.Field, [number, number]>();
  for (const f of type.fieldsArray) {
    const mine = targets.filter((t) => t.rest[0] === f.name);
    const first = b.slots;
    reads.set(f.id, mine.length === 0 ? fieldCheck(f, b) : fieldRead(f, mine, parent, b));
    ranges.set(f, [first, b.slots]);
  }
  for (const oneof of type.oneofsArray) {
    for (const f of oneof.fieldsArray) {
      const others = oneof.fieldsArray.filter((o) => o !== f).map((o) => ranges.get(o)!).filter(([a, z]) => z > a);
      if (others.length > 0) reads.set(f.id, clearing(reads.get(f.id)!, others));
    }
  }
  for (const t of targets) {
    const name = t.rest[0];
    // Not a field: pick finds what the message object has by that name (usually nothing).
    if (type.fields[name] === undefined && !(name in (type.ctor.prototype as object))) t.bind(() => false);
  }
  return walkOf(reads, type.fieldsArray.length > 0);
}

/**
 * A oneof member's read, then the other members cleared: protobufjs sets the oneof's name, whose setter
 * deletes them (a message member set again later starts empty, nothing merges into what was deleted).
 */
function clearing(read: FieldRead, others: Array<[number, number]>): FieldRead {
  return (r, u, q, s) => {
    if (!read(r, u, q, s)) return false;
    for (const [a, z] of others) {
      for (let i = a; i < z; i++) {
        s.present[i] = 0;
        s.counts[i] = 0;
      }
    }
    return true;
  };
}

function checkedWalk(type: protobuf.Type, b: Builder): MessageWalk {
  let walk = b.walks.get(type);
  if (walk === undefined) {
    // Built on first use: a message type may contain itself.
    let built: MessageWalk | null = null;
    walk = (r, l, q, s) => (built ??= walkOf(checkReads(type, b), type.fieldsArray.length > 0))(r, l, q, s);
    b.walks.set(type, walk);
  }
  return walk;
}

function checkReads(type: protobuf.Type, b: Builder): Map<number, FieldRead> {
  const reads = new Map<number, FieldRead>();
  for (const f of type.fieldsArray) reads.set(f.id, fieldCheck(f, b));
  return reads;
}

/** The generated decoder's loop: tag, field by number (wrong wire type or unknown: skipped), bounds. */
function walkOf(reads: Map<number, FieldRead>, hasFields: boolean): MessageWalk {
  const maxId = Math.max(0, ...reads.keys());
  const byId: Array<FieldRead | undefined> = maxId < 4096 ? Array.from({ length: maxId + 1 }, (_, id) => reads.get(id)) : [];
  const sparse = maxId >= 4096 ? reads : null;
  return (r, l, q, s) => {
    if (q > RECURSION_LIMIT) throw new Error('max depth exceeded');
    const c = r.pos + l;
    if (c > r.len) throw new RangeError('index out of range');
    const outer = r.len;
    r.len = c;
    while (r.pos < c) {
      const t = r.tag();
      const u = t & 7;
      const id = t >>> 3;
      const read = sparse === null ? byId[id] : sparse.get(id);
      if (read === undefined || !read(r, u, q, s)) r.skipType(u, q, hasFields ? id : t);
    }
    if (r.pos !== c) throw new RangeError('index out of range');
    r.len = outer;
  };
}

type ValueRead = (r: WireReader, s: ProtoSlots, k: number) => void;

/**
 * One scalar value read into slot k as protobufjs reads it; `deletes`: a non-presence field, whose
 * default value leaves the slot absent (protobufjs deletes it, the prototype's default shows).
 */
function valueRead(f: protobuf.Field, type: string, deletes: boolean): ValueRead {
  const typeDefault = f.resolvedType instanceof protobuf.Enum ? (f.typeDefault as number) : 0;
  const number = (v: number, s: ProtoSlots, k: number): void => {
    s.numbers[k] = v;
    s.present[k] = deletes && (type === 'double' || type === 'float' ? Object.is(v, 0) : v === typeDefault) ? 0 : 1;
  };
  const long = (s: ProtoSlots, k: number): void => {
    s.at[k] = bits.lo;
    s.lengths[k] = bits.hi;
    s.present[k] = deletes && bits.lo === 0 && bits.hi === 0 ? 0 : 1;
  };
  const verify = verifies(f);
  switch (type) {
    case 'int32':
      return (r, s, k) => number(r.int32(), s, k);
    case 'uint32':
      return (r, s, k) => number(r.uint32(), s, k);
    case 'sint32':
      return (r, s, k) => number(r.sint32(), s, k);
    case 'fixed32':
      return (r, s, k) => number(r.fixed32(), s, k);
    case 'sfixed32':
      return (r, s, k) => number(r.sfixed32(), s, k);
    case 'float':
      return (r, s, k) => number(r.float(), s, k);
    case 'double':
      return (r, s, k) => number(r.double(), s, k);
    case 'bool':
      return (r, s, k) => number(r.bool() ? 1 : 0, s, k);
    case 'int64':
    case 'uint64':
      return (r, s, k) => (readVarint64(r), long(s, k));
    case 'sint64':
      return (r, s, k) => (readVarint64(r), zigzagDecode64(), long(s, k));
    case 'fixed64':
    case 'sfixed64':
      return (r, s, k) => (readFixed64(r), long(s, k));
    case 'string':
    case 'bytes': {
      const check = type === 'string' && verify;
      return (r, s, k) => {
        const at = delimited(r, check);
        const length = r.pos - at;
        s.at[k] = at;
        s.lengths[k] = length;
        s.present[k] = deletes && length === 0 ? 0 : 1;
      };
    }
    default:
      throw new Error(`unknown protobuf type ${type}`);
  }
}

const SCRATCH: unknown[] = [];

/** A field no column reads under: read (and dropped) exactly as the decoder reads it, for its errors. */
function fieldCheck(f: protobuf.Field, b: Builder): FieldRead {
  const type = wireType(f);
  if (f.map) return mapRead(f, -1, b);
  if (f.resolvedType instanceof protobuf.Type) {
    const walk = checkedWalk(f.resolvedType, b);
    return (r, u, q, s) => {
      if (u !== 2) return false;
      walk(r, r.size(), q + 1, s);
      return true;
    };
  }
  const wire = protobuf.types.basic[type as keyof typeof protobuf.types.basic];
  const read = valueRead(f, type, false);
  if (f.repeated && protobuf.types.packed[type as keyof typeof protobuf.types.packed] !== undefined) {
    const many = `${type}s`;
    return (r, u, _q, s) => {
      if (u === 2) {
        (r as unknown as Record<string, (a: unknown[]) => void>)[many](SCRATCH);
        SCRATCH.length = 0;
        return true;
      }
      if (u !== wire) return false;
      read(r, s, 0);
      return true;
    };
  }
  return (r, u, _q, s) => {
    if (u !== wire) return false;
    read(r, s, 0);
    return true;
  };
}

/** A field some columns read: its phase-1 read binds their writes (the others stay on `slow`). */
function fieldRead(f: protobuf.Field, mine: Target[], parent: number, b: Builder): FieldRead {
  const leaves = mine.filter((t) => t.rest.length === 1);
  const deeper = mine.filter((t) => t.rest.length > 1);
  if (f.map) {
    const fast = leaves.filter((t) => mapColumn(f, t));
    if (fast.length === 0) return fieldCheck(f, b);
    const k = b.slots++;
    for (const t of fast) t.bind(mapWrite(k, parent, t));
    return mapRead(f, k, b);
  }
  if (f.repeated) {
    const fast = f.type === 'string' && f.resolvedType === null ? leaves.filter((t) => textArrayColumn(t)) : [];
    if (fast.length === 0) return fieldCheck(f, b);
    const k = b.slots++;
    const verify = verifies(f);
    for (const t of fast) t.bind(textArrayWrite(k, parent, t));
    return (r, u, _q, s) => {
      if (u !== 2) return false;
      const at = delimited(r, verify);
      const list = listOf(s, k);
      const n = s.counts[k];
      list[n] = at;
      list[n + 1] = r.pos - at;
      s.counts[k] = n + 2;
      return true;
    };
  }
  if (f.resolvedType instanceof protobuf.Type) {
    const k = b.slots++;
    const inner: Target[] = deeper.map((t) => ({ ...t, rest: t.rest.slice(1) }));
    for (const t of leaves) if (timestampColumn(f.resolvedType, t)) inner.push(...timestampTargets(k, parent, t));
    const walk = messageWalk(f.resolvedType, inner, k, b);
    return (r, u, q, s) => {
      if (u !== 2) return false;
      s.present[k] = 1;
      walk(r, r.size(), q + 1, s);
      return true;
    };
  }
  // A scalar: its columns read it; a path below a scalar stays on `slow` (pick's reading of it).
  const type = wireType(f);
  const wire = protobuf.types.basic[type as keyof typeof protobuf.types.basic];
  const k = b.slots++;
  const read = valueRead(f, type, !f.hasPresence);
  const fallback = (f.parent as protobuf.Type).ctor.prototype[f.name] as unknown;
  for (const t of leaves) {
    if (t.slot) t.slot(k);
    else t.bind(scalarWrite(k, parent, type, fallback, t));
  }
  return (r, u, _q, s) => {
    if (u !== wire) return false;
    read(r, s, k);
    return true;
  };
}

/** A map entry loop as the decoder runs it; k >= 0: a map of strings whose entries are kept in slot k. */
function mapRead(f: protobuf.Field, k: number, b: Builder): FieldRead {
  const mf = f as unknown as protobuf.MapField;
  const keyType = mf.keyType;
  const valueType = wireType(f);
  const keyWire = protobuf.types.mapKey[keyType as keyof typeof protobuf.types.mapKey];
  const valueWire = protobuf.types.basic[valueType as keyof typeof protobuf.types.basic] ?? 2;
  const readKey = valueRead(f, keyType, false);
  const message = f.resolvedType instanceof protobuf.Type ? checkedWalk(f.resolvedType, b) : null;
  const readValue = message === null ? valueRead(f, valueType, false) : null;
  // A map of strings (the one kept in slots) reads its strings directly: no scratch slot in between.
  const strings = keyType === 'string' && valueType === 'string' && f.resolvedType === null;
  const verify = verifies(f);
  return (r, u, q, s) => {
    if (u !== 2) return false;
    const outer = r.len;
    const c2 = r.size() + r.pos;
    if (c2 > r.len) throw new RangeError('index out of range');
    r.len = c2;
    let keyAt = -1;
    let keyLength = 0;
    let valueAt = -1;
    let valueLength = 0;
    while (r.pos < c2) {
      const t2 = r.tag();
      const u2 = t2 & 7;
      const id = t2 >>> 3;
      if (id === 1 && u2 === keyWire) {
        if (strings) keyAt = delimited(r, verify);
        else {
          readKey(r, s, 0);
          keyAt = s.at[0];
        }
        keyLength = strings ? r.pos - keyAt : s.lengths[0];
        continue;
      }
      if (id === 2 && u2 === valueWire) {
        if (strings) {
          valueAt = delimited(r, verify);
          valueLength = r.pos - valueAt;
        } else if (message !== null) message(r, r.size(), q + 1, s);
        else {
          readValue!(r, s, 0);
          valueAt = s.at[0];
          valueLength = s.lengths[0];
        }
        continue;
      }
      r.skipType(u2, q, id);
    }
    if (r.pos !== c2) throw new RangeError('index out of range');
    r.len = outer;
    if (k >= 0) {
      const list = listOf(s, k);
      let n = s.counts[k];
      list[n++] = keyAt;
      list[n++] = keyLength;
      list[n++] = valueAt;
      list[n++] = valueLength;
      s.counts[k] = n;
    }
    return true;
  };
}

