import type { ClientBase } from 'pg';
import { EngineError, ErrorCodes } from '../errors';
import type { TableColumn } from '../copy/column-encoders';

export type { TableColumn };

/**
 * Reads a table's columns and their types from the catalog, in table order. A column of a domain is
 * written as the domain's base type (binary COPY sends the base type); the domain's own NOT NULL and
 * CHECK constraints are the server's to enforce, and a row they refuse is handled like any refused row.
 */
export async function describeTable(client: ClientBase, table: string, shownAs = table): Promise<TableColumn[]> {
  const found = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [table]);
  const oid = found.rows[0]?.oid;
  if (!oid) {
    throw new EngineError(ErrorCodes.TABLE_MISSING, `table ${shownAs} does not exist (create it before starting the engine)`);
  }
  const res = await client.query<{
    name: string;
    typname: string;
    elem_typname: string | null;
    elem_oid: number | null;
    not_null: boolean;
    has_default: boolean;
    generated: boolean;
  }>(
    `SELECT a.attname AS name, t.typname, et.typname AS elem_typname, et.oid::int AS elem_oid,
            a.attnotnull AS not_null, (a.atthasdef OR a.attidentity <> '') AS has_default,
            a.attgenerated <> '' AS generated
       FROM pg_attribute a
       JOIN pg_type dt ON dt.oid = a.atttypid
       JOIN pg_type t ON t.oid = CASE WHEN dt.typtype = 'd' THEN dt.typbasetype ELSE dt.oid END
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  return res.rows.map((r) => ({
    name: r.name,
    typname: r.typname,
    elemTypname: r.elem_typname,
    elemOid: r.elem_oid ?? 0,
    notNull: r.not_null,
    hasDefault: r.has_default,
    generated: r.generated,
  }));
}

/** The column sets of a table's primary key and unique constraints (plain unique indexes included). */
export async function uniqueKeys(client: ClientBase, table: string): Promise<string[][]> {
  const res = await client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid`,
    [table],
  );
  return res.rows.map((r) => r.columns);
}
