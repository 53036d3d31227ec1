import protobuf from 'protobufjs';
import { messageOf } from '../errors';
import type { ValueHint } from '../copy/column-encoders';
import type { FieldInfo, FieldKind } from './field-info';

const WRAPPERS = new Set([
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value', 'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value', 'google.protobuf.UInt32Value', 'google.protobuf.BoolValue', 'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

/**
 * Parses .proto text. Field names are kept as written (snake_case stays snake_case; protobufjs would
 * otherwise rename them to camelCase and a column mapped by its proto name would silently be empty).
 * Imports of Google's well-known types resolve from protobufjs's bundled copies; other imports are not
 * followed (put the messages in one file).
 */
export function parseProto(text: string, where: string): protobuf.Root {
  const root = new protobuf.Root();
  try {
    const parsed = protobuf.parse(text, root, { keepCase: true });
    for (const file of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const common = protobuf.common.get(file);
      if (!common) throw new Error(`import "${file}" is not supported (only google/protobuf/* well-known types)`);
      root.addJSON(common.nested as Record<string, protobuf.AnyNestedObject>);
    }
    root.resolveAll();
  } catch (err) {
    throw new Error(`${where} is not a valid .proto file: ${messageOf(err)}`);
  }
  return root;
}

export function findMessage(root: protobuf.Root, name: string, where: string): protobuf.Type {
  try {
    return root.lookupType(name);
  } catch {
    const known = messages(root).map((t) => t.fullName.replace(/^\./, ''));
    throw new Error(`${where} has no message type "${name}" (it has ${known.join(', ') || 'none'})`);
  }
}

/**
 * The message type a Confluent-framed record names: its message-index path (e.g. [1, 0] = the first
 * nested message of the second top-level message), in declaration order.
 */
export function messageByIndexes(root: protobuf.Root, indexes: readonly number[]): protobuf.Type | null {
  let candidates = messages(root, false);
  let t: protobuf.Type | null = null;
  for (const i of indexes.length === 0 ? [0] : indexes) {
    t = candidates[i] ?? null;
    if (!t) return null;
    candidates = t.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
  }
  return t;
}

function messages(ns: protobuf.NamespaceBase, deep = true): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type) {
      out.push(n);
      if (deep) out.push(...messages(n));
    } else if (n instanceof protobuf.Namespace && !n.fullName.startsWith('.google.protobuf')) out.push(...messages(n, deep));
  }
  return out;
}

/** Decodes Protobuf messages in place from the ring; values are message objects read by field name. */
export class ProtoReader {
  private readonly reader: protobuf.Reader;
  private readonly ringLength: number;

  constructor(
    ring: Buffer,
    private readonly type: protobuf.Type,
  ) {
    this.reader = protobuf.Reader.create(ring);
    this.ringLength = ring.length;
  }

  decode(start: number, end: number): unknown {
    // protobufjs narrows `len` to a nested message's end while it decodes it and restores it after; a
    // decode that throws half-way leaves it narrowed, which would fail every record after a bad one.
    this.reader.len = this.ringLength;
    this.reader.pos = start;
    const message = this.type.decode(this.reader, end - start);
    if (this.reader.pos !== end) throw new Error(`${end - this.reader.pos} bytes left after the ${this.type.name} message`);
    return message;
  }
}

/** Follows a dotted path through message fields; wrapper types read their `value`. */
export function protoFieldInfo(root: protobuf.Type, path: readonly string[]): FieldInfo | null {
  let t: protobuf.Type = root;
  let field: protobuf.Field | null = null;
  for (let i = 0; i < path.length; i++) {
    field = t.fields[path[i]] ?? null;
    if (!field) return null;
    field.resolve();
    if (i < path.length - 1) {
      if (!(field.resolvedType instanceof protobuf.Type) || field.repeated || field.map) return null;
      t = field.resolvedType;
    }
  }
  if (!field) return { kind: 'record', hint: null, path: [] };
  const resolved = field.resolvedType;
  const fullName = resolved?.fullName.replace(/^\./, '') ?? '';
  const outPath = [...path];
  let kind: FieldKind = 'scalar';
  let hint: ValueHint | null = null;
  if (field.map) kind = 'map';
  else if (field.repeated) kind = 'array';
  else if (WRAPPERS.has(fullName)) outPath.push('value');
  else if (fullName === 'google.protobuf.Timestamp') kind = 'scalar';
  else if (resolved instanceof protobuf.Type) kind = 'record';
  else if (field.type === 'bytes') kind = 'bytes';
  if (resolved instanceof protobuf.Enum && !field.map) {
    hint = { kind: 'enum', names: Object.fromEntries(Object.entries(resolved.values).map(([name, n]) => [n, name])) };
  }
  return { kind, hint, path: outPath, presence: field.partOf !== null && field.partOf !== undefined };
}

export function protoTopLevelFields(t: protobuf.Type): string[] {
  return t.fieldsArray.map((f) => f.name);
}
