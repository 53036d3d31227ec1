import protobuf from 'protobufjs';
import type { Rnd } from './random-avro';

/**
 * [Transcode] Random proto3 schemas and random messages for them, written at the wire level (so they
 * hold what producers may send: repeated occurrences of a field, wrong wire types, unknown fields,
 * defaults sent explicitly, packed and unpacked repeated fields, odd map entries, invalid UTF-8).
 */

const SCALARS = ['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes'];
const MAP_KEYS = ['string', 'int32', 'int64', 'bool', 'uint32'];

function int(rnd: Rnd, n: number): number {
  return Math.floor(rnd() * n);
}

function oneOf<T>(rnd: Rnd, xs: readonly T[]): T {
  return xs[int(rnd, xs.length)];
}

/** A .proto text with messages `t.Root` (the record) and `t.Inner`, an enum, well-known types. */
export function randomProto(rnd: Rnd): string {
  const ids = (n: number): number[] => {
    const pool = Array.from({ length: 24 }, (_, i) => i + 1);
    if (rnd() < 0.2) pool.push(5000, 70000);
    const out: number[] = [];
    while (out.length < n && pool.length) out.push(pool.splice(int(rnd, pool.length), 1)[0]);
    return out;
  };
  const types = (inner: boolean): string[] => [...SCALARS, 'string', 'string', 'E', ...(inner ? [] : ['Inner', 'Inner', 'google.protobuf.Timestamp', 'google.protobuf.Int64Value', 'google.protobuf.StringValue']), ...(rnd() < 0.1 ? [inner ? 'Inner' : 'Root'] : [])];
  const fields = (name: string, inner: boolean): string => {
    const n = inner ? 1 + int(rnd, 4) : 2 + int(rnd, 9);
    const lines: string[] = [];
    const numbers = ids(n);
    let oneof: string[] = [];
    numbers.forEach((id, i) => {
      const type = oneOf(rnd, types(inner));
      const r = rnd();
      if (r < 0.1) lines.push(`  map<${oneOf(rnd, MAP_KEYS)}, ${rnd() < 0.5 ? 'string' : type === 'Root' ? 'Inner' : type}> f${i} = ${id};`);
      else if (r < 0.25) lines.push(`  repeated ${type} f${i} = ${id};`);
      else if (r < 0.35 && !/^[A-Z]|google/.test(type)) lines.push(`  optional ${type} f${i} = ${id};`);
      else if (r < 0.45) oneof.push(`    ${type} f${i} = ${id};`);
      else lines.push(`  ${type} f${i} = ${id};`);
    });
    if (oneof.length > 0) lines.push(`  oneof o {\n${oneof.join('\n')}\n  }`);
    oneof = [];
    return `message ${name} {\n${lines.join('\n')}\n}`;
  };
  return [
    'syntax = "proto3";', 'package t;', 'import "google/protobuf/timestamp.proto";', 'import "google/protobuf/wrappers.proto";',
    'enum E { E_ZERO = 0; E_ONE = 1; E_FIVE = 5; }', fields('Inner', true), fields('Root', false),
  ].join('\n');
}

const INTS = [0, 0, 1, -1, 127, 128, 300, 2147483647, -2147483648, 4294967295, 65535];
const LONGS: Array<[number, number]> = [[0, 0], [1, 0], [-1, -1], [0, 1], [0xffffffff, 0x001fffff], [0, 0x00200000], [0xffffffff, 0x7fffffff], [0, 0x80000000], [12345, 0]];
const KEYS = ['', 'a', 'a', 'b', 'type', 'low', 'high', '1', '42', '__proto__', 'k"q', 'é', 'tab\t', 'x'.repeat(70)];
const STRINGS = ['', 'abc', 'a"b\\c', 'naïve ✓', 'nul\0here', 'x'.repeat(80), 'é'.repeat(40), '\u{1F600}', 'line\nbreak'];
const INVALID_UTF8 = [Buffer.from([0xc3]), Buffer.from([0x61, 0xff, 0x62]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([...Buffer.from('y'.repeat(70)), 0xc0, 0x80])];

function wireOf(type: string): number {
  return (protobuf.types.basic as Record<string, number>)[type] ?? 2;
}

function scalar(w: protobuf.Writer, type: string, rnd: Rnd): void {
  switch (type) {
    case 'double':
      return void w.double(oneOf(rnd, [0, -0, 1.5, -2.25, NaN, Infinity, 1e300, rnd() * 1e6]));
    case 'float':
      return void w.float(oneOf(rnd, [0, -0, 1.5, -2.25, NaN, 3.4e38, rnd() * 1e3]));
    case 'int32':
    case 'sint32':
    case 'sfixed32':
    case 'uint32':
    case 'fixed32': {
      const v = oneOf(rnd, INTS);
      const unsigned = type === 'uint32' || type === 'fixed32';
      return void (w as unknown as Record<string, (v: number) => void>)[type](unsigned ? v >>> 0 : v | 0);
    }
    case 'bool':
      return void w.bool(rnd() < 0.5);
    case 'string': {
      if (rnd() < 0.08) return void w.bytes(oneOf(rnd, INVALID_UTF8));
      return void w.string(rnd() < 0.7 ? oneOf(rnd, STRINGS) : `s${int(rnd, 1000)}`);
    }
    case 'bytes':
      return void w.bytes(Buffer.from(Array.from({ length: oneOf(rnd, [0, 1, 5, 16, 40]) }, () => int(rnd, 256))));
    default: {
      const [lo, hi] = oneOf(rnd, LONGS);
      const long = new protobuf.util.Long(lo | 0, hi | 0, type === 'uint64' || type === 'fixed64');
      return void (w as unknown as Record<string, (v: unknown) => void>)[type](long);
    }
  }
}

function tag(w: protobuf.Writer, id: number, wire: number): void {
  w.uint32(((id << 3) | wire) >>> 0);
}

/** Some value of another wire type than the field's (protobufjs skips it as unknown). */
function wrongWire(w: protobuf.Writer, id: number, wire: number, rnd: Rnd): void {
  const other = oneOf(rnd, [0, 1, 2, 5].filter((x) => x !== wire));
  tag(w, id, other);
  if (other === 0) w.uint32(int(rnd, 1000));
  else if (other === 1) w.fixed64(7);
  else if (other === 2) w.bytes(Buffer.from('zz'));
  else w.fixed32(7);
}

/** A random message of `type` appended to `w`. */
export function randomMessage(type: protobuf.Type, w: protobuf.Writer, rnd: Rnd, depth = 0): void {
  const order = [...type.fieldsArray].sort(() => rnd() - 0.5);
  for (const f of order) {
    f.resolve();
    const times = depth > 3 ? 0 : oneOf(rnd, [0, 0, 1, 1, 1, 1, 2, 3]);
    for (let i = 0; i < times; i++) field(f, w, rnd, depth);
  }
  if (rnd() < 0.1) wrongWire(w, 90 + int(rnd, 10), -1, rnd);
}

function field(f: protobuf.Field, w: protobuf.Writer, rnd: Rnd, depth: number): void {
  const t = f.resolvedType;
  const type = t instanceof protobuf.Enum ? 'int32' : f.type;
  if (rnd() < 0.04) return wrongWire(w, f.id, f.map || t instanceof protobuf.Type ? 2 : wireOf(type), rnd);
  if (f.map) {
    const keyType = (f as unknown as protobuf.MapField).keyType;
    tag(w, f.id, 2);
    w.fork();
    const parts: Array<() => void> = [];
    if (rnd() < 0.9) {
      parts.push(() => {
        tag(w, 1, wireOf(keyType));
        if (keyType === 'string') w.string(oneOf(rnd, KEYS));
        else scalar(w, keyType, rnd);
      });
    }
    if (rnd() < 0.9) parts.push(() => value(f, type, 2, w, rnd, depth));
    if (rnd() < 0.5) parts.reverse();
    parts.forEach((p) => p());
    w.ldelim();
    return;
  }
  if (f.repeated && !(t instanceof protobuf.Type) && type !== 'string' && type !== 'bytes' && rnd() < 0.5) {
    tag(w, f.id, 2);
    w.fork();
    for (let n = int(rnd, 4); n > 0; n--) enumOrScalar(w, t, type, rnd);
    w.ldelim();
    return;
  }
  value(f, type, f.id, w, rnd, depth);
}

function enumOrScalar(w: protobuf.Writer, t: protobuf.ReflectionObject | null, type: string, rnd: Rnd): void {
  if (t instanceof protobuf.Enum) w.int32(oneOf(rnd, [0, 1, 5, 99, -3]));
  else scalar(w, type, rnd);
}

function value(f: protobuf.Field, type: string, id: number, w: protobuf.Writer, rnd: Rnd, depth: number): void {
  const t = f.resolvedType;
  if (t instanceof protobuf.Type) {
    tag(w, id, 2);
    w.fork();
    if (t.fullName === '.google.protobuf.Timestamp') {
      if (rnd() < 0.9) {
        tag(w, 1, 0);
        w.int64(oneOf(rnd, [0, 1_700_000_000, -5, 253402300799, 2 ** 60]));
      }
      if (rnd() < 0.8) {
        tag(w, 2, 0);
        w.int32(oneOf(rnd, [0, 999_999_999, 123_456_789, -1]));
      }
    } else randomMessage(t, w, rnd, depth + 1);
    w.ldelim();
    return;
  }
  tag(w, id, wireOf(type));
  enumOrScalar(w, t, type, rnd);
}

/** Field paths worth a column: every field, paths into singular messages, a path that is no field. */
export function randomPaths(type: protobuf.Type, rnd: Rnd): string[][] {
  const out: string[][] = [];
  const walk = (t: protobuf.Type, prefix: string[], depth: number): void => {
    for (const f of t.fieldsArray) {
      f.resolve();
      out.push([...prefix, f.name]);
      if (f.resolvedType instanceof protobuf.Type && !f.repeated && !f.map && depth < 2) walk(f.resolvedType, [...prefix, f.name], depth + 1);
      if ((f.repeated || f.map) && rnd() < 0.1) out.push([...prefix, f.name, '0']);
    }
  };
  walk(type, [], 0);
  if (rnd() < 0.1) out.push(['missing']);
  if (rnd() < 0.1) out.push(['o']);
  return out;
}

/** Column types a field is worth trying: the fitting ones and some that refuse. */
export function typesForField(type: protobuf.Type, path: readonly string[]): string[] {
  let t: protobuf.Type = type;
  let f: protobuf.Field | null = null;
  for (const name of path) {
    f = t.fields[name] ?? null;
    if (f === null) return ['text', 'jsonb'];
    f.resolve();
    if (f.resolvedType instanceof protobuf.Type) t = f.resolvedType;
  }
  if (f === null) return ['jsonb'];
  if (f.map) return ['jsonb', 'jsonb', 'json', 'text'];
  if (f.repeated) return f.type === 'string' ? ['_text', '_text', '_varchar', 'jsonb', '_int8'] : ['_text', '_int8', '_float8', '_bool', 'jsonb', 'json', 'text', '_varchar'];
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) return rt.fullName === '.google.protobuf.Timestamp' ? ['timestamptz', 'timestamp', 'text', 'jsonb'] : ['jsonb', 'json', 'text', 'int8'];
  if (rt instanceof protobuf.Enum) return ['text', 'int4', 'jsonb', 'int8'];
  switch (f.type) {
    case 'double':
    case 'float': return ['float8', 'float4', 'int8', 'text', 'numeric'];
    case 'bool': return ['bool', 'text', 'int4'];
    case 'string': return ['text', 'varchar', 'uuid', 'int8', 'jsonb', 'json', 'bytea', 'timestamptz'];
    case 'bytes': return ['bytea', 'text', 'uuid'];
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64': return ['int8', 'int8', 'int4', 'text', 'numeric', 'timestamptz', 'float8', 'jsonb'];
    default: return ['int4', 'int8', 'text', 'float8', 'numeric', 'date', 'jsonb', 'bool'];
  }
}

/** Column types the generated row function (proto-fast-row.ts) writes for the field at `path`; [] when none. */
export function coveredTypesForField(type: protobuf.Type, path: readonly string[]): string[] {
  let t: protobuf.Type = type;
  let f: protobuf.Field | null = null;
  for (const name of path) {
    f = t.fields[name] ?? null;
    if (f === null) return name === 'missing' ? ['text', 'int8'] : [];
    f.resolve();
    if (f.resolvedType instanceof protobuf.Type) t = f.resolvedType;
  }
  if (f === null) return [];
  const strings = f.type === 'string' && f.resolvedType === null;
  if (f.map) return strings && (f as unknown as protobuf.MapField).keyType === 'string' ? ['jsonb', 'json'] : [];
  if (f.repeated) return strings ? ['_text', '_varchar'] : [];
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) return rt.fullName === '.google.protobuf.Timestamp' ? ['timestamptz', 'timestamp'] : [];
  if (rt instanceof protobuf.Enum) return ['int4', 'int8'];
  switch (f.type) {
    case 'bool': return ['bool'];
    case 'string': return ['text', 'varchar'];
    case 'bytes': return ['bytea'];
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64': return ['int8'];
    default: return ['int4', 'int8', 'float8', 'timestamptz'];
  }
}
