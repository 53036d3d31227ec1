import type { ClientBase } from 'pg';
import { runDdl } from '../sink/ddl-lock';
import { parseQualifiedName, qualifiedSql, quoteIdent } from '../config/identifiers';
import type { ClusterName } from '../config/types';
import { EngineError, ErrorCodes } from '../errors';

/**
 * [DR] Which Kafka cluster a group reads, kept in PostgreSQL next to its positions so that every engine of
 * the group, and every engine started later, reads the same one:
 *
 *   CREATE TABLE kafka_pg_engine.offsets_cluster (    -- engine.offsetsTable + _cluster
 *     group_id   text        PRIMARY KEY,              -- kafka.groupId
 *     cluster    text        NOT NULL,                 -- primary | dr
 *     epoch      bigint      NOT NULL,                 -- bumped by every failover
 *     changed_at timestamptz NOT NULL DEFAULT now(),
 *     changed_by text,                                 -- host:pid of the failover
 *     report     jsonb);                               -- what the last failover moved and lost
 *
 * Fencing: every claim and every batch of an engine of a mirrored deployment takes this row FOR SHARE and
 * writes nothing unless its cluster is the active one; a failover takes it FOR UPDATE, so it waits for the
 * batches in flight and every later one sees the new cluster. The failover also bumps the owner epoch of
 * every position of the old cluster (offsets-table.ts), so an engine still reading it is fenced twice.
 */
export class ActiveCluster {
  readonly table: string;
  private readonly schema: string | null;

  /** `offsetsTable`: engine.offsetsTable, validated. */
  constructor(offsetsTable: string, readonly groupId: string) {
    const q = parseQualifiedName(offsetsTable);
    if (typeof q === 'string') throw new EngineError(ErrorCodes.CONFIG_INVALID, `engine.offsetsTable: "${offsetsTable}" is not a table name: ${q}`);
    this.table = qualifiedSql({ ...q, name: `${q.name}_cluster` });
    this.schema = q.schema === null ? null : quoteIdent(q.schema);
  }

  /** Creates the table if missing and the group's row (the primary) if it has none; returns the active cluster. */
  async ensure(client: ClientBase): Promise<{ cluster: ClusterName; epoch: number }> {
    await runDdl(client, [
      ...(this.schema ? [`CREATE SCHEMA IF NOT EXISTS ${this.schema}`] : []),
      `CREATE TABLE IF NOT EXISTS ${this.table} (
        group_id text PRIMARY KEY, cluster text NOT NULL, epoch bigint NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now(), changed_by text, report jsonb)`,
    ]);
    await client.query(`INSERT INTO ${this.table} (group_id, cluster, epoch) VALUES ($1, 'primary', 1) ON CONFLICT (group_id) DO NOTHING`, [this.groupId]);
    return this.read(client);
  }

  async read(client: ClientBase, lock: '' | 'FOR UPDATE' = ''): Promise<{ cluster: ClusterName; epoch: number; changedAt: Date | null; report: unknown }> {
    const res = await client.query<{ cluster: ClusterName; epoch: string; changed_at: Date; report: unknown }>(
      `SELECT cluster, epoch, changed_at, report FROM ${this.table} WHERE group_id = $1 ${lock}`,
      [this.groupId],
    );
    const row = res.rows[0];
    return row ? { cluster: row.cluster, epoch: Number(row.epoch), changedAt: row.changed_at, report: row.report } : { cluster: 'primary', epoch: 0, changedAt: null, report: null };
  }

  /** SQL for the condition "`$n` is the active cluster", locking the row FOR SHARE (used inside claim and markDone). */
  guard(groupParam: string, clusterParam: string): string {
    return `EXISTS (SELECT 1 FROM ${this.table} WHERE group_id = ${groupParam} AND cluster = ${clusterParam} FOR SHARE)`;
  }

  /** In the failover's transaction, after read(client, 'FOR UPDATE'). */
  async switchTo(client: ClientBase, cluster: ClusterName, by: string, report: unknown): Promise<number> {
    const res = await client.query<{ epoch: string }>(
      `UPDATE ${this.table} SET cluster = $2, epoch = epoch + 1, changed_at = now(), changed_by = $3, report = $4 WHERE group_id = $1 RETURNING epoch`,
      [this.groupId, cluster, by, JSON.stringify(report)],
    );
    return Number(res.rows[0].epoch);
  }
}

/** An engine of a mirrored deployment reads a cluster that is no longer the group's active one: it restarts on the other. */
export class ClusterInactiveError extends EngineError {
  constructor(readonly cluster: ClusterName, readonly active: ClusterName | null) {
    super(ErrorCodes.CLUSTER_INACTIVE, `the group failed over: the ${cluster} Kafka cluster is no longer its active one${active ? ` (${active} is)` : ''}; nothing more is written from it`);
  }
}
