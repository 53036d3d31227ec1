import type { PipelineConfig } from '../config/types';
import { avroChangeRow, avroFieldInfo, avroTopLevelFields, parseAvro } from './avro';
import type { FieldInfo } from './field-info';
import { jsonSchemaFieldInfo, jsonSchemaTopLevelFields, parseJsonSchema, resolve } from './json-schema';
import { findMessage, parseProto, protoFieldInfo, protoTopLevelFields } from './protobuf';

/** What column planning needs from a static schema: its top-level fields and what a path leads to. */
export interface SchemaView {
  topLevelFields(): string[];
  fieldInfo(path: readonly string[]): FieldInfo | null;
}

/**
 * The pipeline's own schema file as a SchemaView, or null for schemaless JSON or registry-only pipelines.
 * For a cdc pipeline the view is the change event's row (`after`): column paths are relative to it.
 */
export function schemaView(p: Pick<PipelineConfig, 'format' | 'schemaText' | 'schemaPath' | 'messageType' | 'name' | 'merge'>): SchemaView | null {
  if (p.schemaText === null) return null;
  const where = p.schemaPath ?? p.name;
  if (p.format === 'avro') {
    let type = parseAvro(p.schemaText, where);
    if (p.merge?.mode === 'cdc') {
      const row = avroChangeRow(type);
      if (row === null) throw new Error(`${where}: mode cdc needs a Debezium change event schema (a record with "op" and an "after" record)`);
      type = row;
    }
    return { topLevelFields: () => avroTopLevelFields(type), fieldInfo: (path) => avroFieldInfo(type, path) };
  }
  if (p.format === 'protobuf') {
    const root = parseProto(p.schemaText, where);
    if (p.messageType === null) throw new Error(`${where}: messageType is required to pick the message of a .proto file`);
    const type = findMessage(root, p.messageType, where);
    return { topLevelFields: () => protoTopLevelFields(type), fieldInfo: (path) => protoFieldInfo(type, path) };
  }
  // [Tables] JSON with a JSON Schema file; cdc: the change event's `after`.
  let doc = parseJsonSchema(p.schemaText, where);
  if (p.merge?.mode === 'cdc') {
    const after = resolve(doc, doc.root).node.properties?.after;
    if (after === undefined) throw new Error(`${where}: mode cdc needs the change event's schema (an object with an "after" property)`);
    doc = { root: resolve(doc, after).node, where };
  }
  const view = doc;
  return { topLevelFields: () => jsonSchemaTopLevelFields(view), fieldInfo: (path) => jsonSchemaFieldInfo(view, path) };
}
