import protobuf from 'protobufjs';
import { findMessage, parseProto } from '../decode/protobuf';
import { parseJsonSchema, resolve, type JsonSchemaDoc } from '../decode/json-schema';

/**
 * [Tables] The PostgreSQL column a schema field becomes when the engine creates the table (docs/tables.md
 * has this as a table). The types are the ones the column encoders write from what the decoders give
 * for that field (copy/column-encoders.ts), so a created table always fits its pipeline.
 */
export interface ColumnShape {
  name: string;
  /** The SQL type, e.g. `bigint`, `numeric(10, 2)`, `text[]`. */
  sql: string;
  nullable: boolean;
  /** The field's default in its schema (a JSON value; undefined: none), for [Tables] evolve's ADD COLUMN. */
  default?: unknown;
}

const withDefault = (value: unknown): { default?: unknown } => (value === undefined ? {} : { default: value });

/** A field with no column type, and why. */
export class NoMapping extends Error {}

type AvroSchema = string | AvroSchema[] | { type: AvroSchema; [k: string]: unknown };

const AVRO_PRIMITIVES: Record<string, string> = {
  boolean: 'boolean', int: 'integer', long: 'bigint', float: 'real', double: 'double precision', bytes: 'bytea', string: 'text',
};

/** The top-level fields of an Avro record schema as columns, in schema order. */
export function avroColumns(schemaText: string): ColumnShape[] {
  const root = JSON.parse(schemaText) as AvroSchema;
  const named = new Map<string, AvroSchema>();
  collectNamed(root, named, null);
  const record = resolveNamed(root, named);
  if (typeof record !== 'object' || Array.isArray(record) || record.type !== 'record') throw new NoMapping('the schema is not a record');
  return (record.fields as Array<{ name: string; type: AvroSchema; default?: unknown }>).map((f) => ({ name: f.name, ...avroField(f.type, named, f.name), ...withDefault(f.default) }));
}

/** The column of the Avro field at `path` (through records and nullable unions); nested columns are nullable. */
export function avroPathColumn(schemaText: string, path: readonly string[]): Omit<ColumnShape, 'name'> {
  const root = JSON.parse(schemaText) as AvroSchema;
  const named = new Map<string, AvroSchema>();
  collectNamed(root, named, null);
  let t: AvroSchema = root;
  for (const name of path) {
    const record = unwrapNullable(resolveNamed(t, named), named);
    const field = typeof record === 'object' && !Array.isArray(record) && record.type === 'record' ? (record.fields as Array<{ name: string; type: AvroSchema }>).find((f) => f.name === name) : undefined;
    if (field === undefined) throw new NoMapping(`"${path.join('.')}" is not a field of the schema`);
    t = field.type;
  }
  const shape = avroField(t, named, path.join('.'));
  return { sql: shape.sql, nullable: shape.nullable || path.length > 1 };
}

function collectNamed(s: AvroSchema, named: Map<string, AvroSchema>, namespace: string | null): void {
  if (Array.isArray(s)) return s.forEach((b) => collectNamed(b, named, namespace));
  if (typeof s !== 'object') return;
  const ns = typeof s.namespace === 'string' ? s.namespace : namespace;
  if (typeof s.name === 'string' && (s.type === 'record' || s.type === 'enum' || s.type === 'fixed')) {
    named.set(s.name, s);
    if (ns) named.set(`${ns}.${s.name}`, s);
  }
  if (s.type === 'record') for (const f of s.fields as Array<{ type: AvroSchema }>) collectNamed(f.type, named, ns);
  if (s.type === 'array') collectNamed(s.items as AvroSchema, named, ns);
  if (s.type === 'map') collectNamed(s.values as AvroSchema, named, ns);
  if (typeof s.type === 'object') collectNamed(s.type, named, ns);
}

function resolveNamed(s: AvroSchema, named: Map<string, AvroSchema>): AvroSchema {
  if (typeof s === 'string' && !(s in AVRO_PRIMITIVES) && s !== 'null') return named.get(s) ?? s;
  if (typeof s === 'object' && !Array.isArray(s) && typeof s.type === 'object') return s.type;
  return s;
}

function unwrapNullable(s: AvroSchema, named: Map<string, AvroSchema>): AvroSchema {
  if (!Array.isArray(s)) return s;
  const others = s.filter((b) => b !== 'null');
  return others.length === 1 ? resolveNamed(others[0], named) : s;
}

function avroField(s: AvroSchema, named: Map<string, AvroSchema>, where: string): { sql: string; nullable: boolean } {
  if (Array.isArray(s)) {
    const others = s.filter((b) => b !== 'null');
    const nullable = others.length < s.length;
    if (others.length === 0) throw new NoMapping(`field "${where}" is always null`);
    return { sql: others.length === 1 ? avroType(others[0], named, where) : 'jsonb', nullable };
  }
  return { sql: avroType(s, named, where), nullable: false };
}

function avroType(s0: AvroSchema, named: Map<string, AvroSchema>, where: string): string {
  const s = resolveNamed(s0, named);
  if (typeof s === 'string') {
    if (s === 'null') throw new NoMapping(`field "${where}" is always null`);
    const sql = AVRO_PRIMITIVES[s];
    if (sql === undefined) throw new NoMapping(`field "${where}" has type "${s}", which the schema does not define`);
    return sql;
  }
  if (Array.isArray(s)) return avroField(s, named, where).sql;
  const base = typeof s.type === 'string' ? s.type : '';
  switch (s.logicalType) {
    case 'timestamp-millis':
    case 'timestamp-micros':
      if (base === 'long') return 'timestamptz';
      break;
    case 'local-timestamp-millis':
    case 'local-timestamp-micros':
      if (base === 'long') return 'timestamp';
      break;
    case 'date':
      if (base === 'int') return 'date';
      break;
    case 'time-millis':
    case 'time-micros':
      if (base === 'int' || base === 'long') return 'time';
      break;
    case 'decimal':
      if ((base === 'bytes' || base === 'fixed') && typeof s.precision === 'number') return `numeric(${s.precision}, ${typeof s.scale === 'number' ? s.scale : 0})`;
      break;
    case 'uuid':
      if (base === 'string') return 'uuid';
      break;
  }
  switch (base) {
    case 'record':
    case 'map':
      return 'jsonb';
    case 'enum':
      return 'text';
    case 'fixed':
      return 'bytea';
    case 'array': {
      const items = unwrapNullable(resolveNamed(s.items as AvroSchema, named), named);
      const scalar = typeof items === 'string' || (typeof items === 'object' && !Array.isArray(items) && !['record', 'map', 'array'].includes(items.type as string));
      return scalar ? `${avroType(items, named, `${where}[]`)}[]` : 'jsonb';
    }
    default: {
      const sql = AVRO_PRIMITIVES[base] as string | undefined;
      if (sql === undefined) throw new NoMapping(`field "${where}" has type ${JSON.stringify(s)}, which has no PostgreSQL column type`);
      return sql;
    }
  }
}

/** The properties of a JSON Schema record as columns; NULL unless required and not nullable. */
export function jsonSchemaColumns(schemaText: string): ColumnShape[] {
  const doc = parseJsonSchema(schemaText, 'the schema');
  const top = resolve(doc, doc.root).node;
  const required = new Set(top.required ?? []);
  return Object.entries(top.properties ?? {}).map(([name, node]) => {
    const r = resolve(doc, node);
    return { name, sql: jsonSchemaType(doc, r, name), nullable: r.nullable || !required.has(name), ...withDefault((r.node as { default?: unknown }).default) };
  });
}

/** The column of the JSON Schema property at `path`; nested columns are nullable. */
export function jsonSchemaPathColumn(schemaText: string, path: readonly string[]): Omit<ColumnShape, 'name'> {
  const doc = parseJsonSchema(schemaText, 'the schema');
  let r = resolve(doc, doc.root);
  let required = true;
  for (const name of path) {
    const next = r.node.properties?.[name];
    if (next === undefined) throw new NoMapping(`"${path.join('.')}" is not a property of the schema`);
    required = (r.node.required ?? []).includes(name);
    r = resolve(doc, next);
  }
  return { sql: jsonSchemaType(doc, r, path.join('.')), nullable: r.nullable || !required || path.length > 1 };
}

const JSON_STRING_FORMATS: Record<string, string> = { 'date-time': 'timestamptz', date: 'date', time: 'time', uuid: 'uuid' };

function jsonSchemaType(doc: JsonSchemaDoc, r: ReturnType<typeof resolve>, where: string): string {
  switch (r.type) {
    case 'string':
      return JSON_STRING_FORMATS[r.node.format ?? ''] ?? 'text';
    case 'integer':
      return 'bigint';
    case 'number':
      return 'double precision';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const items = r.node.items === undefined ? null : resolve(doc, r.node.items);
      if (items === null || items.type === null || items.type === 'object' || items.type === 'array') return 'jsonb';
      return `${jsonSchemaType(doc, items, `${where}[]`)}[]`;
    }
    case 'null':
      throw new NoMapping(`field "${where}" is always null`);
    default:
      return 'jsonb';
  }
}

const PROTO_SCALARS: Record<string, string> = {
  double: 'double precision', float: 'real', int32: 'integer', sint32: 'integer', sfixed32: 'integer', uint32: 'bigint', fixed32: 'bigint',
  int64: 'bigint', sint64: 'bigint', sfixed64: 'bigint', uint64: 'numeric(20, 0)', fixed64: 'numeric(20, 0)', bool: 'boolean', string: 'text', bytes: 'bytea',
};

const PROTO_WRAPPERS: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double', '.google.protobuf.FloatValue': 'float', '.google.protobuf.Int64Value': 'int64', '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32', '.google.protobuf.UInt32Value': 'uint32', '.google.protobuf.BoolValue': 'bool', '.google.protobuf.StringValue': 'string', '.google.protobuf.BytesValue': 'bytes',
};

/** The fields of a Protobuf message as columns, in declaration order. */
export function protoColumns(schemaText: string, messageType: string): ColumnShape[] {
  const type = findMessage(parseProto(schemaText, 'the schema'), messageType, 'the schema');
  return type.fieldsArray.map((f) => ({ name: f.name, ...protoField(f) }));
}

/** The column of the Protobuf field at `path` (through singular messages); nested columns are nullable. */
export function protoPathColumn(schemaText: string, messageType: string, path: readonly string[]): Omit<ColumnShape, 'name'> {
  let type = findMessage(parseProto(schemaText, 'the schema'), messageType, 'the schema');
  let field: protobuf.Field | null = null;
  for (const [i, name] of path.entries()) {
    field = type.fields[name] ?? null;
    if (field === null) throw new NoMapping(`"${path.join('.')}" is not a field of ${messageType}`);
    field.resolve();
    if (i < path.length - 1) {
      if (!(field.resolvedType instanceof protobuf.Type) || field.repeated || field.map) throw new NoMapping(`"${path.join('.')}" goes through ${name}, which is not a message`);
      type = field.resolvedType;
    }
  }
  const shape = protoField(field!);
  return { sql: shape.sql, nullable: shape.nullable || path.length > 1 };
}

function protoField(f: protobuf.Field): { sql: string; nullable: boolean } {
  f.resolve();
  if (f.map) return { sql: 'jsonb', nullable: false };
  const t = f.resolvedType;
  if (f.repeated) return { sql: t instanceof protobuf.Type ? 'jsonb' : `${protoScalar(f)}[]`, nullable: false };
  if (t instanceof protobuf.Type) {
    const wrapped = PROTO_WRAPPERS[t.fullName];
    if (wrapped !== undefined) return { sql: PROTO_SCALARS[wrapped], nullable: true };
    if (t.fullName === '.google.protobuf.Timestamp') return { sql: 'timestamptz', nullable: true };
    if (t.fullName === '.google.protobuf.Duration') throw new NoMapping(`field "${f.name}" is a google.protobuf.Duration (interval columns are not written yet)`);
    return { sql: 'jsonb', nullable: true };
  }
  return { sql: protoScalar(f), nullable: f.partOf !== null && f.partOf !== undefined };
}

function protoScalar(f: protobuf.Field): string {
  if (f.resolvedType instanceof protobuf.Enum) return 'text';
  const sql = PROTO_SCALARS[f.type];
  if (sql === undefined) throw new NoMapping(`field "${f.name}" has type ${f.type}, which has no PostgreSQL column type`);
  return sql;
}
