/**
 * Random Avro schemas, Avro binary records of them (written here byte by byte, not through avsc, so that
 * what avsc's writer would refuse — longs beyond 2^53, invalid UTF-8, repeated map keys, blocks with byte
 * sizes — is in them too), and table columns of every type the schema's fields can be written to.
 */

export type Rnd = () => number;

/** A small deterministic PRNG, so a failure can be replayed from its seed. */
export function prng(seed: number): Rnd {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rnd: Rnd, n: number): number => Math.floor(rnd() * n);
const oneOf = <T>(rnd: Rnd, xs: readonly T[]): T => xs[int(rnd, xs.length)];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Schema = any;

let names = 0;

/** A random schema; records nest up to `depth` levels. */
export function randomSchema(rnd: Rnd, depth = 2): Schema {
  const leaf = (): Schema => {
    switch (int(rnd, 17)) {
      case 0: return 'int';
      case 1: return 'long';
      case 2: return 'float';
      case 3: return 'double';
      case 4: return 'boolean';
      case 5:
      case 6: return 'string';
      case 7: return 'bytes';
      case 8: return { type: 'enum', name: `E${names++}`, symbols: ['RED', 'GREEN', 'BLUE'] };
      case 9: return { type: 'fixed', name: `F${names++}`, size: 4 };
      case 10: return { type: 'long', logicalType: 'timestamp-millis' };
      case 11: return { type: 'long', logicalType: 'timestamp-micros' };
      case 12: return { type: 'int', logicalType: 'date' };
      case 13: return { type: 'bytes', logicalType: 'decimal', precision: 12, scale: int(rnd, 4) };
      case 14: return { type: 'string', logicalType: 'uuid' };
      case 15: return ['null', 'string', 'long'];
      default: return 'null';
    }
  };
  const any = (d: number): Schema => {
    const r = int(rnd, 10);
    if (d > 0 && r === 0) return record(d - 1);
    if (r === 1) return { type: 'array', items: rnd() < 0.3 ? ['null', leafNotNull()] : d > 0 && rnd() < 0.2 ? any(d - 1) : leafNotNull() };
    if (r === 2) return { type: 'map', values: d > 0 && rnd() < 0.2 ? any(d - 1) : leafNotNull() };
    if (r === 3) {
      const inner = d > 0 && rnd() < 0.3 ? record(d - 1) : leafNotNull();
      return rnd() < 0.5 ? ['null', inner] : [inner, 'null'];
    }
    return leaf();
  };
  const leafNotNull = (): Schema => {
    for (;;) {
      const l = leaf();
      if (l !== 'null' && !Array.isArray(l)) return l;
    }
  };
  const record = (d: number): Schema => {
    const count = 1 + int(rnd, 6);
    const fieldNames = ['id', 'name', 'low', 'high', 'type', 'value', 'a_b', 'x1', 'n', 'when'];
    const fields = [];
    for (let i = 0; i < count; i++) fields.push({ name: `${oneOf(rnd, fieldNames)}${i}`.replace(/^(low|high|type)\d+$/, '$1'), type: any(d) });
    const seen = new Set<string>();
    return { type: 'record', name: `R${names++}`, fields: fields.filter((f) => !seen.has(f.name) && seen.add(f.name)) };
  };
  return record(depth);
}

function zigzag(n: bigint): bigint {
  return n >= 0n ? n << 1n : (-n << 1n) - 1n;
}

function varint(out: number[], n: bigint | number): void {
  let z = zigzag(BigInt(n));
  do {
    const b = Number(z & 0x7fn);
    z >>= 7n;
    out.push(z > 0n ? b | 0x80 : b);
  } while (z > 0n);
}

const STRINGS = ['', 'a', 'DE', 'héllo wörld', '日本語', '😀 emoji', 'quote " and \\ backslash', 'tab\tnew\nline\r', '\u0001\u001f\u007f', 'nul\u0000inside',
  '123', '0', '007', '__proto__', 'low', 'high', 'type', 'Buffer', '2026-03-01', '2026-02-30', '12:30:00', '3.25', '-17', '1e3', 'true', '{"a":1}', '[1,2]', 'null',
  '123e4567-e89b-12d3-a456-426614174000', '123E4567E89B12D3A456426614174000', 'not-a-uuid-at-all-but-36-chars-long!', 'x'.repeat(300)];

function utf8(out: number[], rnd: Rnd): void {
  let bytes: Buffer;
  const r = rnd();
  if (r < 0.05) bytes = Buffer.from([0xc3, 0x28, 0x41]); // invalid UTF-8
  else if (r < 0.08) bytes = Buffer.from([0xed, 0xa0, 0x80]); // an encoded surrogate: invalid too
  else if (r < 0.6) bytes = Buffer.from(oneOf(rnd, STRINGS));
  else bytes = Buffer.from(Array.from({ length: int(rnd, 12) }, () => String.fromCharCode(32 + int(rnd, 90))).join(''));
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

const INTS = [0, 1, -1, 63, -64, 64, 127, 128, 255, 32767, -32768, 32768, 2147483647, -2147483648, 10957, -10957, 19000];
const LONGS = [0n, 1n, -1n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 53n, -(2n ** 53n) - 5n, 2n ** 63n - 1n, -(2n ** 63n), 1764547200000n, 1764547200000123n];

/** Appends a random Avro binary value of `schema` to `out`. */
export function randomValue(schema: Schema, rnd: Rnd, out: number[], named: Map<string, Schema> = new Map()): void {
  if (Array.isArray(schema)) {
    const branch = int(rnd, schema.length);
    varint(out, branch);
    return randomValue(schema[branch], rnd, out, named);
  }
  if (typeof schema === 'string' && named.has(schema)) return randomValue(named.get(schema), rnd, out, named);
  const type = typeof schema === 'string' ? schema : schema.type;
  if (typeof schema === 'object' && schema.name) named.set(schema.name, schema);
  switch (type) {
    case 'null':
      return;
    case 'boolean':
      out.push(rnd() < 0.1 ? 2 : int(rnd, 2));
      return;
    case 'int':
      varint(out, rnd() < 0.5 ? oneOf(rnd, INTS) : int(rnd, 2 ** 32) - 2 ** 31);
      return;
    case 'long':
      varint(out, rnd() < 0.5 ? oneOf(rnd, LONGS) : BigInt(int(rnd, 2 ** 40)) - 2n ** 39n);
      return;
    case 'float':
    case 'double': {
      const v = oneOf(rnd, [0, -0, 1.5, -2.25, 0.1, 1e21, 1e-7, 123456789.123, NaN, Infinity, -Infinity, 3, 2 ** 60, rnd() * 1000]);
      const b = Buffer.alloc(type === 'float' ? 4 : 8);
      if (type === 'float') b.writeFloatLE(v);
      else b.writeDoubleLE(v);
      for (const x of b) out.push(x);
      return;
    }
    case 'string':
      return utf8(out, rnd);
    case 'bytes': {
      const n = oneOf(rnd, [0, 1, 2, 5, 16]);
      varint(out, n);
      for (let i = 0; i < n; i++) out.push(int(rnd, 256));
      return;
    }
    case 'fixed':
      for (let i = 0; i < schema.size; i++) out.push(int(rnd, 256));
      return;
    case 'enum':
      varint(out, int(rnd, schema.symbols.length));
      return;
    case 'record':
      for (const f of schema.fields) randomValue(f.type, rnd, out, named);
      return;
    case 'array':
    case 'map': {
      const blocks = int(rnd, 3);
      for (let b = 0; b < blocks; b++) {
        const n = 1 + int(rnd, 3);
        const items: number[] = [];
        for (let i = 0; i < n; i++) {
          if (type === 'map') {
            if (rnd() < 0.3) utf8(items, rnd);
            else {
              const key = Buffer.from(oneOf(rnd, ['k', 'a', 'b', 'k2', '1', '__proto__', 'low', 'é', 'q"']));
              varint(items, key.length);
              for (const x of key) items.push(x);
            }
            randomValue(schema.values, rnd, items, named);
          } else randomValue(schema.items, rnd, items, named);
        }
        if (rnd() < 0.3) {
          varint(out, -n);
          varint(out, items.length);
        } else varint(out, n);
        for (const x of items) out.push(x);
      }
      out.push(0);
      return;
    }
    default:
      throw new Error(`randomValue: unknown type ${JSON.stringify(schema)}`);
  }
}

export interface RandomColumn {
  name: string;
  path: string[];
  typname: string;
  elemTypname: string | null;
  elemOid: number;
}

const ELEM_OIDS: Record<string, number> = { text: 25, int4: 23, int8: 20, float8: 701, bool: 16, numeric: 1700, timestamptz: 1184, date: 1082, uuid: 2950, bytea: 17 };

/** Column types a field of `schema` is worth trying to write to: the fitting ones and some that refuse. */
function typesFor(schema: Schema, named: Map<string, Schema>): string[] {
  if (Array.isArray(schema)) {
    const others = schema.filter((b: Schema) => b !== 'null');
    return others.length === 1 ? typesFor(others[0], named) : ['text', 'jsonb', 'int8'];
  }
  if (typeof schema === 'string' && named.has(schema)) return typesFor(named.get(schema), named);
  const type = typeof schema === 'string' ? schema : schema.type;
  switch (schema.logicalType ?? type) {
    case 'int': return ['int4', 'int8', 'int2', 'text', 'float8', 'numeric', 'date', 'jsonb'];
    case 'long': return ['int8', 'int4', 'text', 'numeric', 'float4', 'timestamptz', 'jsonb'];
    case 'float':
    case 'double': return ['float8', 'float4', 'int8', 'text', 'numeric'];
    case 'boolean': return ['bool', 'text', 'int4'];
    case 'string': return ['text', 'varchar', 'uuid', 'int8', 'jsonb', 'json', 'bytea', 'date', 'numeric', 'timestamptz', 'time'];
    case 'bytes': return ['bytea', 'text', 'uuid'];
    case 'fixed': return ['bytea', 'text'];
    case 'enum': return ['text', 'jsonb', 'int4'];
    case 'timestamp-millis':
    case 'timestamp-micros': return ['timestamptz', 'timestamp', 'int8', 'text'];
    case 'date': return ['date', 'int4', 'text'];
    case 'decimal': return ['numeric', 'text', 'bytea'];
    case 'uuid': return ['uuid', 'text'];
    case 'record':
    case 'map': return ['jsonb', 'json', 'text'];
    case 'array': return ['jsonb', 'json', '_text', '_int8', '_int4', '_float8', '_bool', '_numeric', '_timestamptz', '_uuid', 'text'];
    default: return ['text', 'jsonb'];
  }
}

/** 1–8 columns from the record's fields, nested fields by path; the same field may fill two columns. */
export function randomColumns(schema: Schema, rnd: Rnd): RandomColumn[] {
  const named = new Map<string, Schema>();
  const fields: Array<{ path: string[]; type: Schema }> = [];
  const walk = (s: Schema, path: string[]): void => {
    if (typeof s === 'object' && !Array.isArray(s) && s.name) named.set(s.name, s);
    if (Array.isArray(s)) return s.forEach((b: Schema) => walk(b, path));
    if (typeof s !== 'object') return;
    if (s.type === 'record') {
      for (const f of s.fields) {
        fields.push({ path: [...path, f.name], type: f.type });
        const inner = Array.isArray(f.type) ? f.type.find((b: Schema) => typeof b === 'object' && b.type === 'record') : f.type;
        if (inner && typeof inner === 'object' && inner.type === 'record' && (!Array.isArray(f.type) || f.type.length === 2)) walk(inner, [...path, f.name]);
        else walk(f.type, [...path, f.name, '#']);
      }
    } else if (s.type === 'array') walk(s.items, [...path, '#']);
    else if (s.type === 'map') walk(s.values, [...path, '#']);
  };
  walk(schema, []);
  const usable = fields.filter((f) => !f.path.includes('#'));
  const columns: RandomColumn[] = [];
  const count = 1 + int(rnd, Math.min(8, usable.length + 1));
  for (let i = 0; i < count; i++) {
    const f = i === count - 1 && rnd() < 0.1 ? { path: ['missing'], type: 'string' } : oneOf(rnd, usable);
    const t = oneOf(rnd, typesFor(f.type, named));
    const elem = t.startsWith('_') ? t.slice(1) : null;
    columns.push({ name: `c${i}`, path: f.path, typname: t, elemTypname: elem, elemOid: elem ? ELEM_OIDS[elem] : 0 });
  }
  return columns;
}
