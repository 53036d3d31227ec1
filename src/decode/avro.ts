import avro from 'avsc';
import { messageOf } from '../errors';
import type { ValueHint } from '../copy/column-encoders';
import { bounds, guardedType } from './avro-guards';
import { readable, Tap, type AvroReadable, type AvroTap } from './avsc-internals';
import type { FieldInfo, FieldKind } from './field-info';


/**
 * Logical types decode to their underlying values (a timestamp-millis is a number of ms, a decimal its
 * bytes): the column's ValueHint says how to read them, so no Date or object is made per value. They
 * are registered (rather than left unknown to avsc) only so that the schema keeps their attributes.
 */
export class Annotated extends avro.types.LogicalType {
  readonly attrs: { logicalType: string; scale?: number };
  constructor(schema: avro.Schema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    this.attrs = schema as unknown as { logicalType: string; scale?: number };
  }
  _fromValue(v: unknown): unknown {
    return v;
  }
  _toValue(v: unknown): unknown {
    return v;
  }
  _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    const writer = type instanceof avro.types.LogicalType ? type.underlyingType : type;
    return writer.typeName === this.underlyingType.typeName ? (v) => v : undefined;
  }
}

/**
 * avsc refuses longs beyond ±2^52 ("potential precision loss"). This long decodes every int64: a
 * number while it is a safe integer (the common case, no allocation), a bigint beyond.
 */
export class WideLongType extends avro.types.LongType {
  _read(tap: AvroTap): number | bigint {
    return readWideLong(tap);
  }
}

/** WideLongType's read, also called by the transcoder (avro-transcoder.ts) for identical positions and values. */
export function readWideLong(tap: AvroTap): number | bigint {
  const buf = tap.buf;
  let pos = tap.pos;
  let n = 0;
  let scale = 1;
  let b: number;
  // Up to 7 bytes (49 bits) fit a double exactly.
  for (let i = 0; i < 7; i++) {
    b = buf[pos++];
    n += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) {
      tap.pos = pos;
      return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
    }
  }
  let big = BigInt(n);
  let shift = 49n;
  do {
    b = buf[pos++];
    big |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  } while (b & 0x80 && shift < 70n);
  tap.pos = pos;
  const v = (big >> 1n) ^ -(big & 1n);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : BigInt.asIntN(64, v);
}

function typeHook(schema: avro.Schema, opts: avro.ForSchemaOptions): avro.Type | undefined {
  const isLong = schema === 'long' || (typeof schema === 'object' && (schema as { type?: unknown }).type === 'long' && !(schema as { logicalType?: unknown }).logicalType);
  return isLong ? new WideLongType() : guardedType(schema, opts);
}

const LOGICAL_TYPES = Object.fromEntries(
  ['timestamp-millis', 'timestamp-micros', 'local-timestamp-millis', 'local-timestamp-micros', 'date', 'time-millis', 'time-micros', 'decimal', 'uuid'].map(
    (name) => [name, Annotated],
  ),
) as unknown as Record<string, new (schema: avro.Schema, opts?: avro.ForSchemaOptions) => avro.types.LogicalType>;


export function parseAvro(text: string, where: string): avro.Type {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not valid JSON: ${messageOf(err)}`);
  }
  try {
    // Unions are never wrapped: ["null","string","long"] decodes to the branch's value itself, what a
    // column wants. (A fresh options object each time: avsc keeps its registry of named types in it.)
    return avro.Type.forSchema(json as avro.Schema, { wrapUnions: 'never', logicalTypes: LOGICAL_TYPES, typeHook });
  } catch (err) {
    throw new Error(`${where} is not a valid Avro schema: ${messageOf(err)}`);
  }
}

/** Decodes Avro values in place from the ring, with the writer schema, resolved to a reader schema if given. */
export class AvroReader {
  private readonly tap: AvroTap;
  private readonly read: AvroReadable;

  constructor(ring: Buffer, writer: avro.Type, reader?: avro.Type) {
    this.tap = new Tap(ring, 0);
    this.read = readable(reader && reader !== writer ? reader.createResolver(writer) : writer);
  }

  decode(start: number, end: number): unknown {
    this.tap.pos = start;
    bounds.recordEnd = end;
    const value = this.read._read(this.tap);
    if (this.tap.pos !== end) {
      throw new Error(
        this.tap.pos > end
          ? `truncated Avro data: the schema needs more than the ${end - start} bytes of the value`
          : `${end - this.tap.pos} trailing bytes after the Avro record`,
      );
    }
    return value;
  }
}

/** Follows a dotted path through records (and nullable unions); null when the path does not exist. */
export function avroFieldInfo(root: avro.Type, path: readonly string[]): FieldInfo | null {
  let t: avro.Type | undefined = root;
  for (const name of path) {
    t = unwrapNullable(t);
    if (!(t instanceof avro.types.RecordType)) return null;
    t = t.field(name)?.type;
    if (!t) return null;
  }
  t = unwrapNullable(t);
  return { kind: kindOf(t), hint: hintOf(t), path: [...path] };
}

/**
 * The row type of a Debezium change event schema (the record under its `after` field), what a cdc
 * pipeline's columns are read from; null if the schema is no such envelope.
 */
export function avroChangeRow(envelope: avro.Type): avro.Type | null {
  const t = unwrapNullable(envelope);
  if (!(t instanceof avro.types.RecordType) || !t.field('op')) return null;
  const after = t.field('after')?.type;
  const row = after ? unwrapNullable(after) : null;
  return row instanceof avro.types.RecordType ? row : null;
}

/** Names of the top-level fields of a record schema. */
export function avroTopLevelFields(root: avro.Type): string[] {
  const t = unwrapNullable(root);
  return t instanceof avro.types.RecordType ? t.fields.map((f) => f.name) : [];
}

function kindOf(logical: avro.Type): FieldKind {
  if (logicalType(logical) === 'decimal') return 'scalar';
  const t = underlying(logical);
  if (t instanceof avro.types.RecordType) return 'record';
  if (t instanceof avro.types.MapType) return 'map';
  if (t instanceof avro.types.ArrayType) return 'array';
  if (isUnion(t)) return 'unknown';
  if (t instanceof avro.types.BytesType || t instanceof avro.types.FixedType) return 'bytes';
  return 'scalar';
}

function hintOf(t: avro.Type): ValueHint | null {
  const k = kindOf(t);
  if ((k === 'record' || k === 'map' || k === 'array') && plainJson(t, 0)) return { kind: 'plain-json' };
  const at = t instanceof avro.types.ArrayType ? t.itemsType : t;
  switch (logicalType(at)) {
    case 'timestamp-micros':
    case 'local-timestamp-micros':
      return { kind: 'timestamp-micros' };
    case 'time-millis':
      return { kind: 'time-millis' };
    case 'time-micros':
      return { kind: 'time-micros' };
    case 'decimal':
      return { kind: 'decimal', scale: Number((at as Annotated).attrs.scale ?? 0) };
    default:
      return null;
  }
}

/** Whether every value of the type serialises as JSON unchanged: no long (may be bigint), bytes, fixed or logical type. */
function plainJson(t: avro.Type, depth: number): boolean {
  if (depth > 32 || t instanceof avro.types.LogicalType) return false;
  if (t instanceof avro.types.RecordType) return t.fields.every((f) => plainJson(f.type, depth + 1));
  if (t instanceof avro.types.MapType) return plainJson(t.valuesType, depth + 1);
  if (t instanceof avro.types.ArrayType) return plainJson(t.itemsType, depth + 1);
  if (isUnion(t)) return t.types.every((b) => plainJson(b, depth + 1));
  return ['string', 'int', 'float', 'double', 'boolean', 'null', 'enum'].includes(t.typeName);
}

function logicalType(t: avro.Type): string | undefined {
  return t instanceof Annotated ? t.attrs.logicalType : undefined;
}

function isUnion(t: avro.Type): t is avro.Type & { types: avro.Type[] } {
  return t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType;
}

function unwrapNullable(t: avro.Type): avro.Type {
  if (isUnion(t)) {
    const branches = t.types.filter((b) => b.typeName !== 'null');
    if (branches.length === 1) return branches[0];
  }
  return t;
}

/** The plain type under a logical type (for the kind of a field). */
function underlying(t: avro.Type): avro.Type {
  return t instanceof avro.types.LogicalType ? t.underlyingType : t;
}
