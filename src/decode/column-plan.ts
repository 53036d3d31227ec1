import { quoteIdent } from '../config/identifiers';
import type { PipelineConfig } from '../config/types';
import { encoderFor, type ColumnType, type ValueHint } from '../copy/column-encoders';
import type { TableColumn } from '../copy/column-encoders';
import type { FieldKind } from './field-info';
import type { WorkerRoutes } from './record-routes';
import { schemaView } from './schema-view';

/** Where a column's value comes from: a field of the decoded record, or the Kafka record itself. */
export type ValueSource = 'field' | 'partition' | 'offset' | 'timestamp' | 'key' | 'topic' | 'header';

/** Mapping paths that name Kafka record metadata instead of a field of the value ($header.NAME: a header). */
const META: Record<string, ValueSource> = { $partition: 'partition', $offset: 'offset', $timestamp: 'timestamp', $key: 'key', $topic: 'topic' };
const HEADER_PREFIX = '$header.';

/** The metadata a `$…` mapping names, with the header's name for $header.NAME; null: not metadata the engine knows. */
export function metaSource(field: string): { source: ValueSource; path: string[] } | null {
  if (field.startsWith(HEADER_PREFIX) && field.length > HEADER_PREFIX.length) return { source: 'header', path: [field.slice(HEADER_PREFIX.length)] };
  const source = META[field];
  return source === undefined ? null : { source, path: [] };
}

export interface WorkerColumn {
  name: string;
  type: ColumnType;
  source: ValueSource;
  /** Field path for source 'field'. */
  path: string[];
  /** How the schema represents the value (logical type, enum), when the column type alone does not say. */
  hint: ValueHint | null;
  /** Read the last path segment only if set on the record itself (see FieldInfo.presence). */
  presence: boolean;
  /** A missing value for this column fails the record instead of writing NULL. */
  required: boolean;
}

/** Everything a decode worker needs for one pipeline; plain data, sent once in workerData. */
export interface WorkerPipeline {
  name: string;
  format: PipelineConfig['format'];
  schemaText: string | null;
  messageType: string | null;
  /** Records are framed for a schema registry: magic byte 0, schema id (and Protobuf message indexes). */
  registry: boolean;
  columns: WorkerColumn[];
  /** upsert and cdc (null: insert); each row then ends with the two fields sink/merge.ts reads. */
  merge: WorkerMerge | null;
  /** [Tables] A routed pipeline: its records are written by the route pipeline their value picks. */
  routes?: WorkerRoutes | null;
}

export interface WorkerMerge {
  /** Records are Debezium change events: the row is `after` (op c, r, u) or a delete by `before` (op d). */
  cdc: boolean;
  /** Indexes into `columns` of the key columns, which a delete row fills from the record key or `before`. */
  keyColumns: number[];
  deleteOnTombstone: boolean;
  /** cdc: a truncate event is skipped instead of failing as a record error. */
  skipTruncate: boolean;
}

const JSON_TYPES = new Set(['json', 'jsonb']);
const NO_FIELDS: ReadonlySet<string> = new Set();

/**
 * Decides which table columns the pipeline writes and from which field (`writerFields`: the top-level
 * fields of registry writer schemas an evolve pipeline has met), and refuses mappings that
 * cannot work (unknown column, missing field, record into a number column, unsupported type, a NOT NULL
 * column nothing fills). Problems are returned with the pipeline path so they can all be shown at once.
 */
export function planColumns(p: PipelineConfig, at: string, table: TableColumn[], problems: string[], writerFields: ReadonlySet<string> = NO_FIELDS): WorkerPipeline {
  const byName = new Map(table.map((c) => [c.name, c]));
  const schema = schemaView(p);
  const mapping = new Map<string, string>();
  for (const [column, field] of Object.entries(p.columns)) {
    const col = byName.get(column);
    if (!col) problems.push(`${at}.columns.${column}: table ${p.table} has no column "${column}"`);
    else if (col.generated) problems.push(`${at}.columns.${column}: column "${column}" of ${p.table} is generated and cannot be written`);
    else mapping.set(column, field);
  }
  const fields = schema ? new Set(schema.topLevelFields()) : null;
  for (const col of table) {
    if (mapping.has(col.name) || col.generated) continue;
    // [Tables] evolve: a column named like a field of a writer schema met so far is written even if it has a default.
    const byDefault = fields ? fields.has(col.name) : !col.hasDefault || writerFields.has(col.name);
    if (byDefault) mapping.set(col.name, col.name);
  }

  const columns: WorkerColumn[] = [];
  for (const col of table) {
    const field = mapping.get(col.name);
    if (field === undefined) {
      if (col.notNull && !col.hasDefault) {
        problems.push(`${at}: column "${col.name}" of ${p.table} is NOT NULL without a default, and no field maps to it (add it under columns:)`);
      }
      continue;
    }
    if (!encoderFor(col)) {
      problems.push(`${at}: column "${col.name}" of ${p.table} has type ${col.elemTypname ? `${col.elemTypname}[]` : col.typname}, which the engine cannot write yet`);
      continue;
    }
    const meta = field.startsWith('$') ? metaSource(field) : null;
    if (field.startsWith('$') && meta === null) {
      // A misspelt metadata name would otherwise read a value field of that name: NULL in every row.
      problems.push(`${at}.columns.${col.name}: "${field}" is not record metadata the engine knows (${Object.keys(META).join(', ')}, ${HEADER_PREFIX}NAME)`);
      continue;
    }
    const source = meta?.source ?? 'field';
    let path = meta?.path ?? field.split('.');
    let hint: ValueHint | null = null;
    let presence = false;
    if (schema && source === 'field') {
      const info = schema.fieldInfo(path);
      if (info === null) {
        problems.push(`${at}.columns.${col.name}: field "${field}" is not in the schema ${p.schemaPath}`);
        continue;
      }
      const mismatch = kindMismatch(info.kind, col);
      if (mismatch) problems.push(`${at}: field "${field}" (${info.kind}) cannot go into column "${col.name}" (${col.typname}): ${mismatch}`);
      path = info.path;
      hint = info.hint;
      presence = info.presence ?? false;
    }
    columns.push({
      name: col.name,
      type: { typname: col.typname, elemTypname: col.elemTypname, elemOid: col.elemOid },
      source,
      path,
      hint,
      presence,
      required: col.notNull,
    });
  }
  if (columns.length === 0 && problems.length === 0) {
    problems.push(`${at}: no field of the records maps to a column of ${p.table} (name them under columns:)`);
  }
  return { name: p.name, format: p.format, schemaText: p.schemaText, messageType: p.messageType, registry: p.registry !== null, columns, merge: planMerge(p, at, columns, problems) };
}

/** The key, updateColumns and onlyIfNewer of an upsert or cdc pipeline must be columns it writes. */
function planMerge(p: PipelineConfig, at: string, columns: WorkerColumn[], problems: string[]): WorkerMerge | null {
  const m = p.merge;
  if (m === null) return null;
  const written = (name: string, where: string): number => {
    const i = columns.findIndex((c) => c.name === name);
    if (i < 0) problems.push(`${where}: column "${name}" is not written by the pipeline (no field maps to it in ${p.table})`);
    return i;
  };
  const keyColumns = m.key.map((k, i) => written(k, `${at}.key[${i}]`));
  for (const [i, c] of (m.updateColumns ?? []).entries()) {
    if (written(c, `${at}.updateColumns[${i}]`) >= 0 && m.key.includes(c)) problems.push(`${at}.updateColumns[${i}]: "${c}" is a key column; a key is never updated`);
  }
  if (m.onlyIfNewer !== null) written(m.onlyIfNewer, `${at}.onlyIfNewer`);
  return { cdc: m.mode === 'cdc', keyColumns, deleteOnTombstone: m.deleteOnTombstone, skipTruncate: m.truncate === 'skip' };
}

export function kindMismatch(kind: FieldKind, col: Pick<TableColumn, 'typname' | 'elemTypname'>): string | null {
  const isJson = JSON_TYPES.has(col.typname);
  if ((kind === 'record' || kind === 'map') && !isJson) return 'a record or map needs a json or jsonb column';
  if (kind === 'array' && col.elemTypname === null && !isJson) return 'an array needs an array, json or jsonb column';
  if (kind === 'scalar' && col.elemTypname !== null) return 'a single value cannot fill an array column';
  return null;
}

/** The COPY target: the table and the quoted column list, in the order workers write the fields. */
export function copyTarget(table: string, columns: readonly WorkerColumn[]): string {
  return `${table} (${columns.map((c) => quoteIdent(c.name)).join(', ')})`;
}
