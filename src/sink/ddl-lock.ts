import type { ClientBase } from 'pg';

/**
 * The advisory lock every engine takes before it creates or alters its own tables (the offsets table, the
 * active-cluster table): two sessions running the same `CREATE … IF NOT EXISTS` at once do not wait for
 * each other's catalog rows, and the slower one fails with a unique violation on pg_type or pg_namespace
 * (engines of one group starting together on a fresh database). A transaction-level lock: held until the
 * DDL commits, so the next session's IF NOT EXISTS sees the object.
 */
export const DDL_LOCK: readonly [number, number] = [0x6b7065 /* "kpe" */, 1];

/** Runs `statements` under the DDL lock; in the caller's transaction, or in one of their own if it has none. */
export async function runDdl(client: ClientBase, statements: readonly string[]): Promise<void> {
  const own = (client as { getTransactionStatus?(): string | null }).getTransactionStatus?.() !== 'T';
  if (own) await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...DDL_LOCK]);
    for (const statement of statements) await client.query(statement);
    if (own) await client.query('COMMIT');
  } catch (err) {
    if (own) await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
