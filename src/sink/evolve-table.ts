import type { ClientBase } from 'pg';
import { quoteIdent } from '../config/identifiers';
import type { PipelineConfig } from '../config/types';
import { avroColumns, jsonSchemaColumns, NoMapping, protoColumns, type ColumnShape } from './column-types';
import { DDL_LOCK } from './ddl-lock';
import { describeTable, type TableColumn } from './table-columns';

/**
 * [Tables] `evolve: true`: what a registry pipeline's table needs so that a writer schema's records fit
 * it (Avro, JSON Schema, Protobuf: the pipeline's messageType), decided from the catalog (docs/tables.md, Evolve):
 *   a new field        → ADD COLUMN, always nullable (older writers' records have no value for it); with the
 *                        field's default the existing rows get that value, then the default is dropped so
 *                        that the engine, not the server, writes the column (columns with defaults are not
 *                        mapped by name);
 *   a widened type     → ALTER COLUMN … TYPE (int → long, float → double, int → double, ints → numeric);
 *   a removed field    → its NOT NULL column becomes nullable (the column stays);
 *   anything that would lose data (a narrower or unrelated type, a new required field without a default)
 *                      → refused, with the DDL it would need.
 */
export interface TableEvolution {
  /** DDL to run, in order, under the DDL lock. */
  statements: string[];
  /** What the engine will not change, each with the DDL it would need; empty when nothing is refused. */
  refused: string[];
}

/** A registry writer schema as the schema table holds it (source/schema-registry.ts). */
interface Registered {
  schema?: string;
  schemaType?: string;
  error?: string;
}

/** The top-level fields of a registry writer schema (its JSON from the schema table) as the columns they make. */
export function writerColumns(p: Pick<PipelineConfig, 'format' | 'messageType'>, registered: string): ColumnShape[] {
  const r = JSON.parse(registered) as Registered;
  if (r.error !== undefined || r.schema === undefined) throw new NoMapping(r.error ?? 'the registry gave no schema');
  const type = r.schemaType ?? 'AVRO';
  if (p.format === 'avro' && type === 'AVRO') return avroColumns(r.schema);
  if (p.format === 'json' && type === 'JSON') return jsonSchemaColumns(r.schema);
  // A proto3 field an older writer lacks is absent from its records (NULL), never "required": each is optional here.
  if (p.format === 'protobuf' && type === 'PROTOBUF') return protoColumns(r.schema, p.messageType ?? '').map((c) => ({ ...c, nullable: true }));
  throw new NoMapping(`a ${type} schema does not evolve the table of a ${p.format} pipeline`);
}

/** The registry writer schema's text itself (what create: makes a table from). */
export function writerSchemaText(registered: string): string {
  return (JSON.parse(registered) as Registered).schema ?? '';
}

// Types by catalog name (pg_type.typname; arrays as `elem[]`), and which others each can take as they are.
const TYPNAMES: Record<string, string> = { smallint: 'int2', integer: 'int4', bigint: 'int8', real: 'float4', 'double precision': 'float8', boolean: 'bool' };
const HOLDS: Record<string, readonly string[]> = {
  int4: ['int2'],
  int8: ['int2', 'int4'],
  float8: ['float4', 'int2', 'int4'],
  numeric: ['int2', 'int4', 'int8'],
  json: ['jsonb'],
  jsonb: ['json'],
};

function sqlTypname(sql: string): string {
  if (sql.endsWith('[]')) return `${sqlTypname(sql.slice(0, -2))}[]`;
  const base = sql.replace(/\(.*\)$/, '').trim();
  return TYPNAMES[base] ?? base;
}

const columnTypname = (c: TableColumn): string => (c.elemTypname !== null ? `${c.elemTypname}[]` : c.typname);

/** What the table needs for records of the writer schema `writer` (see TableEvolution). */
export function evolution(p: PipelineConfig, table: readonly TableColumn[], writer: readonly ColumnShape[]): TableEvolution {
  const statements: string[] = [];
  const refused: string[] = [];
  const alter = `ALTER TABLE ${p.tableSql}`;
  const byName = new Map(table.map((c) => [c.name, c]));
  const mappedElsewhere = new Set(Object.values(p.columns));
  for (const f of writer) {
    if (mappedElsewhere.has(f.name) && !(f.name in p.columns)) continue;
    const name = quoteIdent(f.name);
    const col = byName.get(f.name);
    if (col === undefined) {
      const value = defaultSql(f.default, f.sql);
      if (!f.nullable && f.default === undefined) {
        refused.push(`field "${f.name}" is new and required without a default, so the rows already in ${p.table} have no value for it; it would need: ${alter} ADD COLUMN ${name} ${f.sql} NOT NULL DEFAULT <a value for those rows>`);
        continue;
      }
      statements.push(`${alter} ADD COLUMN ${name} ${f.sql}${value === null ? '' : ` DEFAULT ${value}`}`);
      if (value !== null) statements.push(`${alter} ALTER COLUMN ${name} DROP DEFAULT`);
      continue;
    }
    if (col.generated) continue;
    const have = columnTypname(col);
    const want = sqlTypname(f.sql);
    if (have === want || HOLDS[have]?.includes(want)) continue;
    if (HOLDS[want]?.includes(have)) statements.push(`${alter} ALTER COLUMN ${name} TYPE ${f.sql}`);
    else refused.push(`field "${f.name}" is ${f.sql} now and column ${name} of ${p.table} is ${have}, which cannot take it without losing data; it would need: ${alter} ALTER COLUMN ${name} TYPE ${f.sql} USING ${name}::${f.sql}`);
  }
  const fields = new Set(writer.map((f) => f.name));
  const key = new Set(p.merge?.key ?? []);
  for (const col of table) {
    // A NOT NULL column nothing else fills was written from a field this version removed: NULL from now on.
    if (col.notNull && !col.hasDefault && !col.generated && !fields.has(col.name) && !(col.name in p.columns) && !key.has(col.name)) {
      statements.push(`${alter} ALTER COLUMN ${quoteIdent(col.name)} DROP NOT NULL`);
    }
  }
  return { statements, refused };
}

const NUMERIC = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric']);
const FROM_STRING = new Set(['text', 'uuid', 'date', 'timestamp', 'timestamptz', 'time']);

/** The field's schema default as an SQL literal for the column's type; null: none (or none that the type takes as is). */
function defaultSql(value: unknown, sql: string): string | null {
  const t = sqlTypname(sql);
  if (value === null || value === undefined) return null;
  if (t === 'json' || t === 'jsonb') return `${literal(JSON.stringify(value))}::${t}`;
  if (typeof value === 'number' && Number.isFinite(value) && NUMERIC.has(t)) return String(value);
  if (typeof value === 'boolean' && t === 'bool') return value ? 'true' : 'false';
  if (typeof value === 'string' && FROM_STRING.has(t) && !value.includes('\0')) return literal(value);
  return null;
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Evolves the table for the writer schema under the DDL lock, deciding again from the catalog inside the
 * lock (another engine of the group may have done it already). Returns the statements it ran and what it
 * refused (nothing runs then: the schema's records fail, see engine/evolve.ts).
 */
export async function evolveTable(client: ClientBase, p: PipelineConfig, writer: readonly ColumnShape[]): Promise<TableEvolution> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...DDL_LOCK]);
    const wanted = evolution(p, await describeTable(client, p.tableSql, p.table), writer);
    if (wanted.refused.length === 0) for (const statement of wanted.statements) await client.query(statement);
    await client.query(wanted.refused.length === 0 ? 'COMMIT' : 'ROLLBACK');
    return wanted.refused.length === 0 ? wanted : { statements: [], refused: wanted.refused };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
