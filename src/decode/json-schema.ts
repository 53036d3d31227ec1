import type { FieldInfo, FieldKind } from './field-info';

/**
 * [Tables] A JSON Schema file (draft 7 / 2019-09 / 2020-12 keywords the engine reads) for a JSON
 * pipeline: which fields records have and of what kind, for column planning and for `create:`. Records
 * are still decoded with JSON.parse and not validated against the schema; a value that does not fit its
 * column fails the record as before. Read: `type` (a name or a list with "null"), `properties`,
 * `required`, `items`, `additionalProperties`, `format` (date-time, date, time, uuid), `enum`, `const`,
 * `anyOf`/`oneOf` of one type and null, and local `$ref`s (`#/definitions/…`, `#/$defs/…`).
 */
export interface JsonSchemaNode {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  additionalProperties?: boolean | JsonSchemaNode;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  $ref?: string;
  [k: string]: unknown;
}

export interface JsonSchemaDoc {
  root: JsonSchemaNode;
  where: string;
}

export function parseJsonSchema(text: string, where: string): JsonSchemaDoc {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new Error(`${where} is not a JSON Schema (an object)`);
  const doc = { root: root as JsonSchemaNode, where };
  const top = resolve(doc, doc.root);
  if (top.node.properties === undefined) throw new Error(`${where}: the schema of a record must be an object with properties`);
  return doc;
}

/** A node with $ref followed and a nullable anyOf/oneOf or type list reduced to its one type. */
export function resolve(doc: JsonSchemaDoc, node: JsonSchemaNode, depth = 0): { node: JsonSchemaNode; type: string | null; nullable: boolean } {
  if (depth > 32) throw new Error(`${doc.where}: $ref chain too deep`);
  if (typeof node.$ref === 'string') return resolve(doc, lookup(doc, node.$ref), depth + 1);
  const alternatives = node.anyOf ?? node.oneOf;
  if (alternatives !== undefined) {
    const others = alternatives.filter((a) => !isNull(doc, a));
    if (others.length === 1) {
      const inner = resolve(doc, others[0], depth + 1);
      return { ...inner, nullable: inner.nullable || others.length < alternatives.length };
    }
    return { node, type: null, nullable: others.length < alternatives.length };
  }
  const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
  const nonNull = types.filter((t) => t !== 'null');
  let type = nonNull.length === 1 ? nonNull[0] : null;
  if (type === null && nonNull.length === 0) {
    if (node.properties !== undefined) type = 'object';
    else if (node.items !== undefined) type = 'array';
    else if (node.enum !== undefined && node.enum.every((v) => typeof v === 'string')) type = 'string';
  }
  if (nonNull.length === 2 && nonNull.includes('integer') && nonNull.includes('number')) type = 'number';
  return { node, type, nullable: nonNull.length < types.length };
}

function isNull(doc: JsonSchemaDoc, node: JsonSchemaNode): boolean {
  if (typeof node.$ref === 'string') return isNull(doc, lookup(doc, node.$ref));
  return node.type === 'null' || (Array.isArray(node.type) && node.type.length === 1 && node.type[0] === 'null');
}

function lookup(doc: JsonSchemaDoc, ref: string): JsonSchemaNode {
  if (!ref.startsWith('#')) throw new Error(`${doc.where}: $ref "${ref}" is not local (only #/… references are followed)`);
  let node: unknown = doc.root;
  for (const part of ref.slice(1).split('/').filter((p) => p !== '')) {
    const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  }
  if (typeof node !== 'object' || node === null) throw new Error(`${doc.where}: $ref "${ref}" points at nothing`);
  return node as JsonSchemaNode;
}

export function jsonSchemaTopLevelFields(doc: JsonSchemaDoc): string[] {
  return Object.keys(resolve(doc, doc.root).node.properties ?? {});
}

/** What a dotted path of a JSON record leads to, by the schema; null when the schema has no such property. */
export function jsonSchemaFieldInfo(doc: JsonSchemaDoc, path: readonly string[]): FieldInfo | null {
  let r = resolve(doc, doc.root);
  for (const name of path) {
    const next = r.node.properties?.[name];
    if (next === undefined) return null;
    r = resolve(doc, next);
  }
  return { kind: kindOf(r.type, r.node), hint: null, path: [...path] };
}

function kindOf(type: string | null, node: JsonSchemaNode): FieldKind {
  switch (type) {
    case 'object':
      return node.properties !== undefined ? 'record' : 'map';
    case 'array':
      return 'array';
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return 'scalar';
    default:
      return 'unknown';
  }
}
