import type { ClientBase } from 'pg';
import { parseQualifiedName, qualifiedSql, quoteIdent } from '../config/identifiers';
import { resolveTableTemplate } from '../config/table-template';
import type { EngineConfig, PipelineConfig } from '../config/types';
import { metaSource, type ValueSource } from '../decode/column-plan';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { avroColumns, avroPathColumn, jsonSchemaColumns, jsonSchemaPathColumn, NoMapping, protoColumns, protoPathColumn, type ColumnShape } from './column-types';
import { DDL_LOCK } from './ddl-lock';

/**
 * [Tables] `create:`: the table a pipeline writes, made from its schema when it is missing. Columns are
 * the record's top-level fields (column-types.ts maps their types), then the `columns:` entries (a nested
 * field, or record metadata); upsert/cdc's key is the primary key; `partitionBy` makes it a table
 * partitioned by range of a time column, with a DEFAULT partition and the current and next two periods.
 */

const META_COLUMNS: Record<Exclude<ValueSource, 'field'>, Omit<ColumnShape, 'name'>> = {
  partition: { sql: 'integer', nullable: false },
  offset: { sql: 'bigint', nullable: false },
  timestamp: { sql: 'timestamptz', nullable: true },
  key: { sql: 'text', nullable: true },
  topic: { sql: 'text', nullable: false },
  header: { sql: 'text', nullable: true },
};

const MAX_IDENTIFIER_BYTES = 63;
const PARTITION_COLUMN_TYPES = new Set(['timestamptz', 'timestamp', 'date']);

/** Every pipeline's create statements (none without create:); an ENG_TABLE_MAPPING error listing every problem. */
export function createStatements(config: EngineConfig, now = new Date()): string[][] {
  const problems: string[] = [];
  const out = config.pipelines.map((p, i) => createTableDdl(p, `pipelines[${i}]`, problems, now));
  if (problems.length > 0) throw new EngineError(ErrorCodes.TABLE_MAPPING, `the tables create: would make do not fit:\n  ${problems.join('\n  ')}`);
  return out;
}

/** The statements that create the pipeline's table; problems (naming the pipeline and field) instead when it cannot be. */
export function createTableDdl(p: PipelineConfig, at: string, problems: string[], now = new Date()): string[] {
  // evolve without a schema file: made from the registry's first writer schema (engine/plan.ts).
  if (p.create === null || p.watchOnly || p.routes !== null || (p.evolve && p.schemaText === null)) return [];
  if (p.tableTemplate !== null) {
    // Not expanded yet (engine validate): the statements for a sample topic, to show and check.
    const sample = resolveTableTemplate(p.tableTemplate, 'TOPIC');
    return typeof sample === 'string' ? [] : createTableDdl({ ...p, ...sample, tableTemplate: null }, at, problems, now);
  }
  const before = problems.length;
  const columns = new Map<string, ColumnShape>();
  try {
    if (p.schemaText === null) throw new NoMapping(`format ${p.format} without a schema file has no fields to make columns of`);
    const fields = p.format === 'avro' ? avroColumns(p.schemaText) : p.format === 'protobuf' ? protoColumns(p.schemaText, p.messageType ?? '') : jsonSchemaColumns(p.schemaText);
    for (const f of fields) columns.set(f.name, f);
  } catch (err) {
    problems.push(`${at}.create: cannot derive the columns of ${p.table}: ${messageOf(err)}`);
    return [];
  }
  for (const [column, source] of Object.entries(p.columns)) {
    const meta = source.startsWith('$') ? metaSource(source) : null;
    try {
      const shape = meta !== null ? META_COLUMNS[meta.source as Exclude<ValueSource, 'field'>] : pathColumn(p, source.split('.'));
      columns.set(column, { name: column, ...shape });
    } catch (err) {
      problems.push(`${at}.columns.${column}: cannot make a column of "${source}": ${messageOf(err)}`);
    }
  }
  for (const name of columns.keys()) {
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) problems.push(`${at}.create: the column name "${name}" is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  const key = p.merge?.key ?? [];
  for (const k of key) if (!columns.has(k)) problems.push(`${at}.key: "${k}" is not a column of the table create: would make (${[...columns.keys()].join(', ')})`);
  const by = p.create.partitionBy;
  if (by !== null) {
    const col = columns.get(by.column);
    if (col === undefined) problems.push(`${at}.create.partitionBy.column: "${by.column}" is not a column of the table (${[...columns.keys()].join(', ')})`);
    else if (!PARTITION_COLUMN_TYPES.has(col.sql)) problems.push(`${at}.create.partitionBy.column: "${by.column}" is ${col.sql}; range partitions by ${by.interval} need a timestamptz, timestamp or date column`);
    if (key.length > 0 && !key.includes(by.column)) {
      problems.push(`${at}.create.partitionBy.column: the key (${key.join(', ')}) must include "${by.column}": PostgreSQL's primary key of a partitioned table contains its partition column`);
    }
  }
  if (problems.length > before) return [];
  const q = parseQualifiedName(p.table);
  const schema = typeof q === 'string' || q.schema === null ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(q.schema)}`];
  const lines = [...columns.values()].map((c) => `  ${quoteIdent(c.name)} ${c.sql}${c.nullable && !key.includes(c.name) ? '' : ' NOT NULL'}`);
  if (key.length > 0) lines.push(`  PRIMARY KEY (${key.map(quoteIdent).join(', ')})`);
  const statements = [...schema, `CREATE TABLE IF NOT EXISTS ${p.tableSql} (\n${lines.join(',\n')}\n)${by === null ? '' : ` PARTITION BY RANGE (${quoteIdent(by.column)})`}`];
  if (by !== null) statements.push(...partitions(p, at, by.interval, columns.get(by.column)!.sql, now, problems));
  return problems.length > before ? [] : statements;
}

function pathColumn(p: PipelineConfig, path: string[]): Omit<ColumnShape, 'name'> {
  if (p.schemaText === null) throw new NoMapping('the pipeline has no schema file');
  if (p.format === 'json') return jsonSchemaPathColumn(p.schemaText, path);
  return p.format === 'avro' ? avroPathColumn(p.schemaText, path) : protoPathColumn(p.schemaText, p.messageType ?? '', path);
}

type Interval = NonNullable<NonNullable<PipelineConfig['create']>['partitionBy']>['interval'];

/** The DEFAULT partition and one per period from the current one, two ahead (UTC bounds). */
function partitions(p: PipelineConfig, at: string, interval: Interval, sql: string, now: Date, problems: string[]): string[] {
  const q = parseQualifiedName(p.table);
  if (typeof q === 'string') return [];
  const named = (suffix: string): string => {
    const name = `${q.name}_${suffix}`;
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) problems.push(`${at}.create.partitionBy: the partition name "${name}" would be longer than ${MAX_IDENTIFIER_BYTES} bytes (use a shorter table name)`);
    return qualifiedSql({ schema: q.schema, name });
  };
  const out = [`CREATE TABLE IF NOT EXISTS ${named('default')} PARTITION OF ${p.tableSql} DEFAULT`];
  let from = periodStart(now, interval);
  for (let i = 0; i < 3; i++) {
    const to = nextPeriod(from, interval);
    const label = interval === 'year' ? `p${from.getUTCFullYear()}` : interval === 'month' ? `p${ymd(from).slice(0, 7).replace('-', '_')}` : `p${ymd(from).replace(/-/g, '_')}`;
    const bound = (d: Date) => (sql === 'date' ? `'${ymd(d)}'` : sql === 'timestamptz' ? `'${ymd(d)} 00:00:00+00'` : `'${ymd(d)} 00:00:00'`);
    out.push(`CREATE TABLE IF NOT EXISTS ${named(label)} PARTITION OF ${p.tableSql} FOR VALUES FROM (${bound(from)}) TO (${bound(to)})`);
    from = to;
  }
  return out;
}

function periodStart(d: Date, interval: Interval): Date {
  if (interval === 'year') return new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
  if (interval === 'month') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

function nextPeriod(d: Date, interval: Interval): Date {
  if (interval === 'year') return new Date(Date.UTC(d.getUTCFullYear() + 1, 0, 1));
  if (interval === 'month') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1));
}

function ymd(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Runs the statements when the table does not exist yet: under the DDL lock, so that engines starting
 * together create it once (the others then find it). True when this engine created it.
 *
 * The lock is taken for the session, before the transaction, and the table looked up again after it in a
 * transaction of its own: a backend reads other sessions' catalog changes only when a transaction starts
 * (or it locks a relation), so a lookup inside a transaction that began before the other engine committed
 * its CREATE still found no table, and two engines both said they had created it (the second CREATE …
 * IF NOT EXISTS did nothing).
 */
export async function createIfMissing(client: ClientBase, p: PipelineConfig, statements: readonly string[]): Promise<boolean> {
  if (statements.length === 0) return false;
  const exists = () => tableExists(client, p.tableSql);
  if (await exists()) return false;
  await client.query('SELECT pg_advisory_lock($1, $2)', [...DDL_LOCK]);
  try {
    if (await exists()) return false;
    await client.query('BEGIN');
    try {
      for (const statement of statements) await client.query(statement);
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    // A broken connection ends the session, and its lock with it.
    await client.query('SELECT pg_advisory_unlock($1, $2)', [...DDL_LOCK]).catch(() => undefined);
  }
}

export async function tableExists(client: ClientBase, tableSql: string): Promise<boolean> {
  return (await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [tableSql])).rows[0].found;
}
