import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { PipelineConfig } from '../config/types';
import { messageOf } from '../errors';

/**
 * Reads a pipeline's schema file into `schemaText` and checks that it parses, so that a broken schema
 * stops the engine before it connects. Workers parse the same text again on their own thread.
 */
export function loadSchema(p: PipelineConfig): void {
  if (p.schemaPath === null) return;
  let text: string;
  try {
    text = readFileSync(p.schemaPath, 'utf8');
  } catch (err) {
    throw new Error(`cannot read schema file ${p.schemaPath}: ${messageOf(err)}`);
  }
  if (p.format === 'avro') parseAvro(text, p.schemaPath);
  p.schemaText = text;
}

export function parseAvro(text: string, where: string): avro.Type {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not valid JSON: ${messageOf(err)}`);
  }
  try {
    return avro.Type.forSchema(json as avro.Schema);
  } catch (err) {
    throw new Error(`${where} is not a valid Avro schema: ${messageOf(err)}`);
  }
}

/** The shape of a schema field as far as column mapping cares. */
export type FieldKind = 'scalar' | 'record' | 'map' | 'array' | 'bytes' | 'unknown';

/**
 * Follows a dotted path through an Avro record schema (through nullable unions). Returns the kind of
 * the field at the end, or null when the path does not exist.
 */
export function avroFieldKind(root: avro.Type, path: readonly string[]): FieldKind | null {
  let t: avro.Type | undefined = root;
  for (const name of path) {
    t = unwrapNullable(t);
    if (!(t instanceof avro.types.RecordType)) return null;
    t = t.field(name)?.type;
    if (!t) return null;
  }
  t = unwrapNullable(t);
  if (t instanceof avro.types.RecordType) return 'record';
  if (t instanceof avro.types.MapType) return 'map';
  if (t instanceof avro.types.ArrayType) return 'array';
  if (t instanceof avro.types.BytesType || t instanceof avro.types.FixedType) return 'bytes';
  if (isUnion(t)) return 'unknown';
  return 'scalar';
}

/** Names of the top-level fields of a record schema. */
export function avroTopLevelFields(root: avro.Type): string[] {
  const t = unwrapNullable(root);
  return t instanceof avro.types.RecordType ? t.fields.map((f) => f.name) : [];
}

function isUnion(t: avro.Type): t is avro.Type & { types: avro.Type[] } {
  return t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType;
}

function unwrapNullable(t: avro.Type): avro.Type {
  if (isUnion(t)) {
    const branches = t.types.filter((b) => b.typeName !== 'null');
    if (branches.length === 1) return branches[0];
  }
  if (t instanceof avro.types.LogicalType) return t.underlyingType;
  return t;
}
