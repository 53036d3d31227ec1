import protobuf from 'protobufjs';
import type { ColumnEncoder, ValueHint } from '../copy/column-encoders';
import { MAX_MAP_KEYS } from './avro-json';
import type { WorkerColumn } from './column-plan';
import { instantiate, Source, Uncovered, type FastRow } from './fast-row';
import { packable, packedCheck, scalarKind, scalarRead, sizeRead, skipWire, tagRead, verifyUtf8, wireOf } from './proto-fast-row-wire';
import { fallbackOf, writeProtoColumn, type Binding, type ProtoSlot } from './proto-fast-row-writes';
import { mirrorable, verifies, wireType } from './proto-wire';

/**
 * [Transcode] One generated function per (Protobuf message type, column plan), as avro-fast-row.ts is for
 * Avro: the message's bytes to its row's fields with cursors and values in locals. Fields come in any
 * order and may repeat, so it keeps the two phases of ProtoTranscoder (proto-transcoder.ts): a loop
 * over the tags (a switch per message, the wanted fields read into locals, last one wins, a oneof
 * member clearing the others, nested messages read inline), then the columns in table order
 * (proto-fast-row-writes.ts). Messages no column reads under are checked by a function per type, as
 * protobufjs would decode them, so the same records fail.
 *
 * It decides no error: what it does not read exactly as protobufjs does (proto-fast-row-wire.ts) or a
 * value needing an encoder's check answers false, and the record goes through the closures, which write
 * the same bytes or fail it with the object path's error (test/unit/decode/proto-transcoder.test.ts
 * compares all three on random schemas, records and corruptions).
 *
 * Covered (else compile answers null and the closures take every record): columns over scalars (numbers
 * into int4/int8/float8/timestamp(tz), 64-bit integers into int8, bool, strings into text types, bytes
 * into bytea), google.protobuf.Timestamp into timestamp(tz), repeated string into text[],
 * map<string, string> into json/jsonb, paths through singular messages, $partition/$offset/$timestamp.
 */

interface Target {
  column: number;
  rest: readonly string[];
  presence: boolean;
  enc: ColumnEncoder | null;
  /** A Timestamp column's own target (its seconds or nanos): told the slot. */
  internal?: (slot: number) => void;
}

type Read =
  | { f: protobuf.Field; kind: 'check' }
  | { f: protobuf.Field; kind: 'scalar'; slot: ProtoSlot; type: string; deletes: boolean; typeDefault: number }
  | { f: protobuf.Field; kind: 'message'; slot: ProtoSlot; inner: MessagePlan }
  | { f: protobuf.Field; kind: 'strings' | 'map'; slot: ProtoSlot };

interface MessagePlan {
  fields: Array<{ read: Read; range: [number, number] }>;
}

const MAX_STRINGS = 1024;

class Plan {
  readonly slots: ProtoSlot[] = [];
  readonly checks = new Map<protobuf.Type, string>();
  readonly functions: string[] = [];
  constructor(
    readonly src: Source,
    readonly bindings: Array<Binding | null>,
  ) {}

  slot(kind: ProtoSlot['kind'], parent: number, verify: boolean): ProtoSlot {
    const id = this.slots.length;
    const list = kind === 'strings' ? this.src.constant(new Int32Array(2 * MAX_STRINGS)) : kind === 'map' ? this.src.constant(new Int32Array(4 * MAX_MAP_KEYS)) : '';
    const slot = { id, kind, parent, verify, list };
    this.slots.push(slot);
    return slot;
  }

  bind(t: Target, binding: Binding & { slot?: ProtoSlot }): void {
    if (t.internal) t.internal(binding.slot!.id);
    else this.bindings[t.column] = binding;
  }
}

function tagOf(id: number, wire: number): number {
  return ((id << 3) | wire) >>> 0;
}

function planMessage(plan: Plan, type: protobuf.Type, targets: Target[], parent: number, depth: number): MessagePlan {
  if (depth > 8) throw new Uncovered();
  const fields = type.fieldsArray.map((f) => {
    f.resolve();
    const first = plan.slots.length;
    const read = planField(plan, f, targets.filter((t) => t.rest[0] === f.name), parent, depth);
    return { read, range: [first, plan.slots.length] as [number, number] };
  });
  for (const t of targets) {
    if (type.fields[t.rest[0]] !== undefined) continue;
    // Not a field: pick finds what the message object has by that name (usually nothing).
    if (t.rest[0] in (type.ctor.prototype as object) || t.internal) throw new Uncovered();
    plan.bindings[t.column] = { kind: 'none' };
  }
  return { fields };
}

function planField(plan: Plan, f: protobuf.Field, mine: Target[], parent: number, depth: number): Read {
  if (mine.length === 0) return { f, kind: 'check' };
  const leaves = mine.filter((t) => t.rest.length === 1);
  const deeper = mine.filter((t) => t.rest.length > 1);
  if (f.map || f.repeated) {
    const strings = f.type === 'string' && f.resolvedType === null && (!f.map || (f as unknown as protobuf.MapField).keyType === 'string');
    if (deeper.length > 0 || !strings || leaves.some((t) => t.internal)) throw new Uncovered();
    const kind = f.map ? 'map' : 'strings';
    const slot = plan.slot(kind, parent, verifies(f));
    for (const t of leaves) plan.bind(t, { kind, slot });
    return { f, kind, slot };
  }
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) {
    const slot = plan.slot('message', parent, false);
    const inner: Target[] = deeper.map((t) => ({ ...t, rest: t.rest.slice(1) }));
    const stamps: Array<{ t: Target; seconds: number; nanos: number }> = [];
    for (const t of leaves) {
      if (rt.fullName !== '.google.protobuf.Timestamp' || t.internal) throw new Uncovered();
      const stamp = { t, seconds: -1, nanos: -1 };
      stamps.push(stamp);
      inner.push({ ...t, rest: ['seconds'], internal: (k) => void (stamp.seconds = k) }, { ...t, rest: ['nanos'], internal: (k) => void (stamp.nanos = k) });
    }
    const plan2 = planMessage(plan, rt, inner, slot.id, depth + 1);
    for (const s of stamps) {
      if (s.seconds < 0 || s.nanos < 0) throw new Uncovered();
      plan.bind(s.t, { kind: 'timestamp', slot, seconds: s.seconds, nanos: s.nanos });
    }
    return { f, kind: 'message', slot, inner: plan2 };
  }
  // A scalar: a path below it stays with the closures (pick's reading of it).
  if (deeper.length > 0) throw new Uncovered();
  const type = wireType(f);
  const slot = plan.slot(scalarKind(type), parent, verifies(f));
  const fallback = (f.parent as protobuf.Type).ctor.prototype[f.name] as unknown;
  const typeDefault = rt instanceof protobuf.Enum ? (f.typeDefault as number) : 0;
  // An implicit-presence scalar whose default is zero (0, false, "", empty bytes): when absent, its locals
  // hold that default (they start at 0, a default read is one, a oneof clears them to 0), so its column
  // writes them and the written bytes are the encoder's for the default. No branch only rare records take.
  const zero = !f.hasPresence && typeDefault === 0;
  for (const t of leaves) {
    const bytes = t.internal ? null : fallbackOf(t.presence, fallback, t.enc!);
    plan.bind(t, { kind: 'scalar', slot, fallback: bytes, zero: zero && Buffer.isBuffer(bytes) });
  }
  return { f, kind: 'scalar', slot, type, deletes: !f.hasPresence, typeDefault };
}

/** The locals a oneof member's read resets: the other members' slots (protobufjs deletes them). */
function clearing(msg: MessagePlan, f: protobuf.Field): string {
  const oneof = f.partOf;
  if (!oneof) return '';
  const out: string[] = [];
  for (const { read, range } of msg.fields) {
    if (read.f === f || read.f.partOf !== oneof) continue;
    for (let i = range[0]; i < range[1]; i++) out.push(`p${i} = 0; v${i} = 0; a${i} = 0; l${i} = 0; n${i} = 0;`);
  }
  return out.join(' ');
}

/** A message some columns read under: the tag loop, inline, bounded by E. */
function walk(plan: Plan, msg: MessagePlan, E: string, depth: number): void {
  const src = plan.src;
  const tg = src.temp();
  src.emit(`while (pos < ${E}) {`);
  tagRead(src, tg, E);
  src.emit(`switch (${tg}) {`);
  for (const { read } of msg.fields) fieldCases(plan, src, read, E, `${depth}`, clearing(msg, read.f));
  src.emit(`default: if (${tg} < 8) return false;`);
  skipWire(src, `${tg} & 7`, E);
  src.emit('} }');
}

function fieldCases(plan: Plan, src: Source, read: Read, E: string, depth: string, clear: string): void {
  const f = read.f;
  if (read.kind === 'check') return checkCases(plan, src, f, E, depth, clear);
  const k = read.slot.id;
  if (read.kind === 'scalar') {
    src.emit(`case ${tagOf(f.id, wireOf(read.type))}: {`);
    const value = scalarRead(src, read.type, read.slot.verify, E, true);
    if (read.slot.kind === 'string' || read.slot.kind === 'bytes') src.emit(`a${k} = n; l${k} = c; p${k} = ${read.deletes ? 'c !== 0 ? 1 : 0' : '1'};`);
    else {
      src.emit(`v${k} = ${value};`);
      const floating = read.type === 'float' || read.type === 'double';
      // -0 is sent and kept: its sign is the last byte's top bit (read just now), tested on every record.
      const present = !read.deletes ? '1' : floating ? `(v${k} !== 0) | (buf[pos - 1] > 127)` : `v${k} !== ${read.typeDefault} ? 1 : 0`;
      src.emit(`p${k} = ${present};`);
    }
    return src.emit(`${clear} break; }`);
  }
  src.emit(`case ${tagOf(f.id, 2)}: {`);
  if (read.kind === 'message') {
    const e = src.temp();
    sizeRead(src, E);
    src.emit(`${e} = pos + n; p${k} = 1;`);
    walk(plan, read.inner, e, Number(depth) + 1);
  } else if (read.kind === 'strings') {
    sizeRead(src, E);
    if (read.slot.verify) verifyUtf8(src, 'pos', 'n');
    src.emit(`if (n${k} === ${2 * MAX_STRINGS}) return false; ${read.slot.list}[n${k}] = pos; ${read.slot.list}[n${k} + 1] = n; n${k} += 2; pos += n;`);
  } else mapEntry(plan, src, f, E, depth, read.slot);
  src.emit(`${clear} break; }`);
}

/** A field no column reads: read (and dropped) as protobufjs reads it, for its errors. */
function checkCases(plan: Plan, src: Source, f: protobuf.Field, E: string, depth: string, clear: string): void {
  if (f.map) {
    src.emit(`case ${tagOf(f.id, 2)}: {`);
    mapEntry(plan, src, f, E, depth, null);
    return src.emit(`${clear} break; }`);
  }
  if (f.resolvedType instanceof protobuf.Type) {
    src.emit(`case ${tagOf(f.id, 2)}: {`);
    messageCheck(plan, src, f.resolvedType, E, depth);
    return src.emit(`${clear} break; }`);
  }
  const type = wireType(f);
  src.emit(`case ${tagOf(f.id, wireOf(type))}: {`);
  scalarRead(src, type, verifies(f), E, false);
  src.emit(`${clear} break; }`);
  if (f.repeated && packable(type)) {
    src.emit(`case ${tagOf(f.id, 2)}: {`);
    packedCheck(src, type, E);
    src.emit('break; }');
  }
}

/** A message value (its length read here) checked by its type's function. */
function messageCheck(plan: Plan, src: Source, type: protobuf.Type, E: string, depth: string): void {
  const name = checkFunction(plan, type);
  sizeRead(src, E);
  src.emit(`r = ${name}(buf, pos, pos + n, ${depth} + 1); if (r === false) return false; pos = r;`);
}

/** The function checking a message of `type` no column reads under: its end, or false. */
function checkFunction(plan: Plan, type: protobuf.Type): string {
  const known = plan.checks.get(type);
  if (known !== undefined) return known;
  const name = `check${plan.checks.size}`;
  plan.checks.set(type, name);
  const src = new Source(plan.src.consts);
  const tg = src.temp();
  src.emit(`if (depth > 32) return false;`);
  src.emit(`while (pos < E) {`);
  tagRead(src, tg, 'E');
  src.emit(`switch (${tg}) {`);
  for (const f of type.fieldsArray) {
    f.resolve();
    checkCases(plan, src, f, 'E', 'depth', '');
  }
  src.emit(`default: if (${tg} < 8) return false;`);
  skipWire(src, `${tg} & 7`, 'E');
  src.emit('} }');
  const temps = Array.from({ length: src.tempCount }, (_, i) => `, t${i} = 0`).join('');
  plan.functions.push(`function ${name}(buf, pos, E, depth) {`, `let b = 0, n = 0, s = 0, c = 0, h = 0, r = 0${temps};`, ...src.lines, 'return pos; }');
  return name;
}

/** One map entry (key 1, value 2, anything else skipped); `slot`: a map of strings kept in its list. */
function mapEntry(plan: Plan, src: Source, f: protobuf.Field, E: string, depth: string, slot: ProtoSlot | null): void {
  const keyType = (f as unknown as protobuf.MapField).keyType;
  const valueType = wireType(f);
  const verify = verifies(f);
  const [e, tg, ka, kl, va, vl] = [src.temp(), src.temp(), src.temp(), src.temp(), src.temp(), src.temp()];
  sizeRead(src, E);
  src.emit(`${e} = pos + n; ${ka} = 0; ${kl} = 0; ${va} = 0; ${vl} = 0;`);
  src.emit(`while (pos < ${e}) {`);
  tagRead(src, tg, e);
  src.emit(`if (${tg} === ${tagOf(1, wireOf(keyType))}) {`);
  scalarRead(src, keyType, verify, e, false);
  if (slot !== null) src.emit(`${ka} = n; ${kl} = c;`);
  src.emit(`} else if (${tg} === ${tagOf(2, wireOf(valueType))}) {`);
  if (f.resolvedType instanceof protobuf.Type) messageCheck(plan, src, f.resolvedType, e, depth);
  else scalarRead(src, valueType, verify, e, false);
  if (slot !== null) src.emit(`${va} = n; ${vl} = c;`);
  src.emit(`} else { if (${tg} < 8) return false;`);
  skipWire(src, `${tg} & 7`, e);
  src.emit('} }');
  if (slot === null) return;
  const list = slot.list;
  src.emit(`if (n${slot.id} === ${4 * MAX_MAP_KEYS}) return false;`);
  src.emit(`${list}[n${slot.id}] = ${ka}; ${list}[n${slot.id} + 1] = ${kl}; ${list}[n${slot.id} + 2] = ${va}; ${list}[n${slot.id} + 3] = ${vl}; n${slot.id} += 4;`);
}

/**
 * The generated row function for messages of `type` into `columns` (paths, presence, encoders and hints
 * as the closures have them); null when the type or a column is of a shape this file does not cover.
 */
export function compileProtoFastRow(type: protobuf.Type, columns: readonly WorkerColumn[], paths: readonly string[][], presence: readonly boolean[], encoders: readonly ColumnEncoder[], hints: ReadonlyArray<ValueHint | null>): FastRow | null {
  if (!mirrorable(type, new Set())) return null;
  const src = new Source();
  const plan = new Plan(src, columns.map(() => null));
  try {
    const targets: Target[] = [];
    columns.forEach((c, i) => {
      if (c.source !== 'field') return;
      if (paths[i].length === 0) throw new Uncovered();
      targets.push({ column: i, rest: paths[i], presence: presence[i], enc: encoders[i] });
    });
    const root = planMessage(plan, type, targets, -1, 0);
    walk(plan, root, 'end', 0);
    src.emit('let out = w.buf; let o = w.pos;');
    columns.forEach((c, i) => writeProtoColumn(src, c, plan.bindings[i], hints[i]));
    src.emit('w.pos = o; return true;');
  } catch (err) {
    if (err instanceof Uncovered) return null;
    throw err;
  }
  const locals = ['h', 'r', ...plan.slots.flatMap((x) => [`p${x.id}`, `v${x.id}`, `a${x.id}`, `l${x.id}`, `n${x.id}`])];
  return instantiate(src, locals, plan.functions);
}
