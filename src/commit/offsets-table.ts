import type { ClientBase } from 'pg';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { runDdl } from '../sink/ddl-lock';
import { parseQualifiedName, qualifiedSql, quoteIdent } from '../config/identifiers';
import type { ClusterName } from '../config/types';
import { ClusterInactiveError, type ActiveCluster } from './active-cluster';
import { mergeMarks, type RecordMark } from './record-marks';

/**
 * Exactly-once delivery: the Kafka positions live in PostgreSQL, next to the rows, and change in the same
 * transaction as the rows they account for.
 *
 *   CREATE TABLE kafka_pg_engine.offsets (          -- engine.offsetsTable
 *     group_id   text           NOT NULL,           -- kafka.groupId
 *     topic      text           NOT NULL,
 *     partition  integer        NOT NULL,
 *     done       int8multirange NOT NULL,           -- offsets whose records are finished
 *     epoch      bigint         NOT NULL,           -- owner epoch, bumped by every assignment
 *     owner      text,                              -- host:pid of the process that claimed it last
 *     updated_at timestamptz    NOT NULL DEFAULT now(),
 *     marks      jsonb,                              -- [DR] the first and last record of each range
 *     PRIMARY KEY (group_id, topic, partition));
 *
 * `done` is the set of offsets whose records are finished: a row is durable, or the record was
 * dead-lettered (acknowledged by the broker) or skipped, or the offset holds no record (a transaction
 * marker, compacted away). The first range always starts unbounded: `{(,1200)}` means everything below
 * 1200 is finished. A batch adds the ranges of its records (union), in the transaction of its COPY:
 *
 *   batches of one partition finish out of order across connections, and a union does not care:
 *     {(,1000)} + [1500,2000) = {(,1000),[1500,2000)}     -- the later batch committed first
 *     ... + [1000,1500)       = {(,2000)}                  -- the earlier one joins them
 *
 * On assignment the engine claims each partition: the epoch is bumped and `done` read in one statement.
 * Consumption resumes at the end of the first range; the ranges above it were finished by an earlier owner
 * that died with batches out of order, and their records are skipped when they come by again. A partition
 * without a row starts where Kafka's committed offset (or auto.offset.reset) says and is inserted as
 * `{(,start)}`.
 *
 * Fencing: every batch checks, under a row lock taken in (topic, partition) order (so two batches never
 * deadlock), that the epoch is still the one it claimed. A process that lost the partition (a long GC
 * pause, a network split, SIGSTOP) finds a newer epoch, rolls its transaction back and writes nothing for
 * it. Row locks also order a claim after a transaction in flight: the new owner reads what the old one
 * committed.
 *
 * [DR] With kafka.dr, `marks` identifies the first and last record of each finished range by timestamp and
 * a hash of key and value (commit/record-marks.ts), which MirrorMaker 2 keeps: a failover finds them on the
 * other cluster and resumes exactly there. Claims and batches also check that their cluster is the group's
 * active one (commit/active-cluster.ts).
 */

export interface ClaimRequest {
  topic: string;
  partition: number;
  /** Where a partition without stored positions starts (Kafka's committed offset, or the log's start or end). */
  start: number;
  /**
   * [Scale] Where it starts instead when the group already has positions for its topic (or a related one,
   * see claim): a partition added to a live topic, whose first records may predate the engine seeing it.
   */
  startIfTopicKnown?: number;
  /**
   * The new epoch is above this one too: after a failover to an asynchronous replica the table's epoch may
   * have rolled back below one this engine already wrote with (0: no floor).
   */
  epochAbove?: number;
}

export interface ClaimedPartition {
  topic: string;
  partition: number;
  epoch: number;
  /** Next offset to consume: the end of the first finished range. */
  resume: number;
  /** Finished ranges [from, to) above `resume`, in order. */
  skip: Array<[number, number]>;
}

/** Offsets [from, to) of one partition made durable by a transaction; `epoch` is the one its owner claimed. */
export interface DoneRange {
  topic: string;
  partition: number;
  from: number;
  to: number;
  epoch: number;
  /** [DR] The first and last record of the range that produced a row (record-marks.ts); absent when not tracked. */
  marks?: RecordMark[];
}

export interface StoredPartition {
  topic: string;
  partition: number;
  resume: number;
  skip: Array<[number, number]>;
  epoch: number;
  owner: string | null;
  updatedAt: Date;
  marks: RecordMark[];
}

/** The partitions a transaction could not write because another process claimed them since. */
export class FencedError extends EngineError {
  /** The partitions, with the (outdated) epoch the transaction held. */
  constructor(readonly partitions: Array<{ topic: string; partition: number; epoch: number }>) {
    super(
      ErrorCodes.FENCED,
      `${partitions.map((p) => `${p.topic}[${p.partition}]`).join(', ')} now belong to another process (a newer owner epoch in the offsets table); nothing of them is written`,
    );
  }
}

/** `schema.table` → the quoted, schema-qualified name (config/identifiers.ts). */
export function qualifiedName(name: string): string {
  const q = parseQualifiedName(name);
  if (typeof q === 'string') throw new EngineError(ErrorCodes.CONFIG_INVALID, `engine.offsetsTable: "${name}" is not a table name: ${q}`);
  return qualifiedSql(q);
}

/** Parses int8multirange text (`{(,1200),[1500,2000)}`; ranges are canonical [a,b)) into pairs, -Infinity for an open start. */
export function parseRanges(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const m of text.matchAll(/[[(](-?\d*),(-?\d*)[\])]/g)) {
    out.push([m[1] === '' ? -Infinity : Number(m[1]), m[2] === '' ? Infinity : Number(m[2])]);
  }
  return out;
}

/** Where to resume and what to skip, from the finished ranges. -1: nothing stored. */
export function resumeOf(ranges: Array<[number, number]>): { resume: number; skip: Array<[number, number]> } {
  if (ranges.length === 0) return { resume: -1, skip: [] };
  const [first, ...rest] = ranges;
  return { resume: first[0] === -Infinity ? first[1] : first[0], skip: first[0] === -Infinity ? rest : ranges };
}

/**
 * Where exactly-once keeps each partition's positions, written in the same transactions as the rows.
 * OffsetsTable is the one implementation; [PG-HA] and tests stand behind this.
 */
export interface OffsetsStore {
  /** The table, as SQL text, for messages. */
  readonly table: string;
  /** Creates the table if it is missing. */
  ensure(client: ClientBase): Promise<void>;
  /** Takes partitions over (a new owner epoch each) and says where each resumes. */
  claim(client: ClientBase, parts: readonly ClaimRequest[], related?: (stored: string, topic: string) => boolean): Promise<ClaimedPartition[]>;
  /** Records offset ranges as written, in the batch's transaction; throws FencedError for a stale epoch. */
  markDone(client: ClientBase, ranges: readonly DoneRange[]): Promise<void>;
  /**
   * Whether every range is already finished: a batch whose COMMIT got no answer committed exactly when its
   * ranges are in the table (they commit together), on whichever server the engine writes to now.
   */
  finished(client: ClientBase, ranges: readonly DoneRange[]): Promise<boolean>;
}

/** [DR] The engine reads `cluster`: claims and batches write only while it is the group's active one. */
export interface ClusterGuard {
  cluster: ClusterName;
  active: ActiveCluster;
}

export class OffsetsTable implements OffsetsStore {
  readonly table: string;
  private readonly schema: string | null;

  constructor(
    name: string,
    readonly groupId: string,
    private readonly owner: string,
    private readonly guard: ClusterGuard | null = null,
  ) {
    this.table = qualifiedName(name);
    const q = parseQualifiedName(name);
    this.schema = typeof q !== 'string' && q.schema !== null ? quoteIdent(q.schema) : null;
  }

  /** Creates the table (and its schema) if missing; refuses a server without multiranges, naming the way out. */
  async ensure(client: ClientBase): Promise<void> {
    const version = Number((await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
    if (version < 140000) {
      throw new EngineError(ErrorCodes.OFFSETS, `engine.delivery exactly-once keeps its positions in an int8multirange, which needs PostgreSQL 14 or later (this server is ${Math.floor(version / 10000)}); set engine.delivery: at-least-once`);
    }
    try {
      await runDdl(client, [
        ...(this.schema ? [`CREATE SCHEMA IF NOT EXISTS ${this.schema}`] : []),
        `CREATE TABLE IF NOT EXISTS ${this.table} (
          group_id text NOT NULL, topic text NOT NULL, partition integer NOT NULL,
          done int8multirange NOT NULL, epoch bigint NOT NULL, owner text,
          updated_at timestamptz NOT NULL DEFAULT now(), marks jsonb,
          PRIMARY KEY (group_id, topic, partition))`,
      ]);
      // Tables made before [DR] tracked marks. Only when missing: ALTER TABLE locks the table (ACCESS
      // EXCLUSIVE, even when the column exists), and every running engine's batches update it: each engine
      // that started would stall the whole group for as long as their transactions in flight take.
      const has = await client.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'marks' AND NOT attisdropped`, [this.table]);
      if (has.rowCount === 0) await runDdl(client, [`ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS marks jsonb`]);
    } catch (err) {
      throw new EngineError(ErrorCodes.OFFSETS, `cannot create the offsets table ${this.table} (engine.offsetsTable, for engine.delivery exactly-once): ${messageOf(err)}; create it as documented, or grant CREATE on the schema`, { cause: err });
    }
  }

  /**
   * Takes the partitions over: bumps their epochs and reads where they stand (rows created as needed). A
   * request with `startIfTopicKnown` starts there when the group has a row for its topic, or for a topic
   * `related` to it (the same topicPattern).
   */
  async claim(client: ClientBase, parts: readonly ClaimRequest[], related?: (stored: string, topic: string) => boolean): Promise<ClaimedPartition[]> {
    if (parts.length === 0) return [];
    await this.checkCluster(client);
    const sorted = await this.startsOfNewPartitions(client, [...parts].sort(byPartition), related);
    const res = await client.query<{ topic: string; partition: number; epoch: string; done: string }>(
      `INSERT INTO ${this.table} AS o (group_id, topic, partition, done, epoch, owner)
       SELECT $1, v.topic, v.partition, int8multirange(int8range(NULL, v.start)), v.above + 1, $2
         FROM unnest($3::text[], $4::int[], $5::int8[], $6::int8[]) AS v(topic, partition, start, above)
       ON CONFLICT (group_id, topic, partition)
       DO UPDATE SET epoch = GREATEST(o.epoch, EXCLUDED.epoch - 1) + 1, owner = EXCLUDED.owner, updated_at = now()
       RETURNING o.topic, o.partition, o.epoch, o.done::text AS done`,
      [this.groupId, this.owner, sorted.map((p) => p.topic), sorted.map((p) => p.partition), sorted.map((p) => p.start), sorted.map((p) => p.epochAbove ?? 0)],
    );
    return res.rows.map((r) => ({ topic: r.topic, partition: r.partition, epoch: Number(r.epoch), ...resumeOf(parseRanges(r.done)) }));
  }

  private async startsOfNewPartitions(client: ClientBase, parts: ClaimRequest[], related?: (stored: string, topic: string) => boolean): Promise<ClaimRequest[]> {
    if (!parts.some((p) => p.startIfTopicKnown !== undefined)) return parts;
    const res = await client.query<{ topic: string }>(`SELECT DISTINCT topic FROM ${this.table} WHERE group_id = $1`, [this.groupId]);
    const stored = res.rows.map((r) => r.topic);
    return parts.map((p) => {
      if (p.startIfTopicKnown === undefined) return p;
      const known = stored.some((t) => t === p.topic || (related?.(t, p.topic) ?? false));
      return known ? { ...p, start: p.startIfTopicKnown } : p;
    });
  }

  /**
   * Adds finished ranges, in the caller's transaction; throws FencedError, naming the partitions, when
   * another process claimed any of them since (the caller rolls back).
   */
  async markDone(client: ClientBase, ranges: readonly DoneRange[]): Promise<void> {
    if (ranges.length === 0) return;
    await this.checkCluster(client);
    const topics = ranges.map((r) => r.topic);
    const partitions = ranges.map((r) => r.partition);
    const locked = await client.query<{ topic: string; partition: number; epoch: string; done: string; marks: RecordMark[] | null }>(
      `SELECT o.topic, o.partition, o.epoch, o.done::text AS done, o.marks FROM ${this.table} o
        WHERE o.group_id = $1 AND (o.topic, o.partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))
        ORDER BY o.topic, o.partition FOR UPDATE`,
      [this.groupId, topics, partitions],
    );
    const epochs = new Map(locked.rows.map((r) => [`${r.partition}:${r.topic}`, Number(r.epoch)]));
    const fenced = new Map<string, { topic: string; partition: number; epoch: number }>();
    for (const r of ranges) {
      if (epochs.get(`${r.partition}:${r.topic}`) !== r.epoch) fenced.set(`${r.epoch}:${r.partition}:${r.topic}`, { topic: r.topic, partition: r.partition, epoch: r.epoch });
    }
    if (fenced.size > 0) throw new FencedError([...fenced.values()]);
    const marked = ranges.some((r) => r.marks !== undefined) ? locked.rows.map((row) => ({ row, marks: mergeMarks(row.done, row.marks, ranges.filter((r) => r.topic === row.topic && r.partition === row.partition)) })) : [];
    await client.query(
      `UPDATE ${this.table} o SET done = o.done + v.done, updated_at = now(), marks = COALESCE(m.marks, o.marks)
         FROM (SELECT x.topic, x.partition, range_agg(int8range(x.lo, x.hi)) AS done
                 FROM unnest($2::text[], $3::int[], $4::int8[], $5::int8[]) AS x(topic, partition, lo, hi)
                GROUP BY x.topic, x.partition) v
         LEFT JOIN unnest($6::text[], $7::int[], $8::jsonb[]) AS m(topic, partition, marks) ON m.topic = v.topic AND m.partition = v.partition
        WHERE o.group_id = $1 AND o.topic = v.topic AND o.partition = v.partition`,
      [
        this.groupId, topics, partitions, ranges.map((r) => r.from), ranges.map((r) => r.to),
        marked.map((m) => m.row.topic), marked.map((m) => m.row.partition), marked.map((m) => JSON.stringify(m.marks)),
      ],
    );
  }

  /** [DR] Throws ClusterInactiveError unless the engine's cluster is the group's active one (the row stays locked FOR SHARE until the transaction ends). */
  private async checkCluster(client: ClientBase): Promise<void> {
    if (this.guard === null) return;
    const { cluster, active } = this.guard;
    const res = await client.query<{ cluster: ClusterName }>(`SELECT cluster FROM ${active.table} WHERE group_id = $1 FOR SHARE`, [active.groupId]);
    const now = res.rows[0]?.cluster ?? 'primary';
    if (now !== cluster) throw new ClusterInactiveError(cluster, now);
  }

  async finished(client: ClientBase, ranges: readonly DoneRange[]): Promise<boolean> {
    if (ranges.length === 0) return false;
    const res = await client.query<{ all: boolean | null }>(
      `SELECT bool_and(o.done IS NOT NULL AND o.done @> int8range(x.lo, x.hi)) AS all
         FROM unnest($2::text[], $3::int[], $4::int8[], $5::int8[]) AS x(topic, partition, lo, hi)
         LEFT JOIN ${this.table} o ON o.group_id = $1 AND o.topic = x.topic AND o.partition = x.partition`,
      [this.groupId, ranges.map((r) => r.topic), ranges.map((r) => r.partition), ranges.map((r) => r.from), ranges.map((r) => r.to)],
    );
    return res.rows[0]?.all === true;
  }

  /** What is stored for this group (optionally only some topics). */
  async read(client: ClientBase, topics: readonly string[] | null = null): Promise<StoredPartition[]> {
    const res = await client.query<{ topic: string; partition: number; epoch: string; done: string; owner: string | null; updated_at: Date; marks: RecordMark[] | null }>(
      `SELECT topic, partition, epoch, done::text AS done, owner, updated_at, marks FROM ${this.table}
        WHERE group_id = $1 AND ($2::text[] IS NULL OR topic = ANY($2)) ORDER BY topic, partition`,
      [this.groupId, topics],
    );
    return res.rows.map((r) => ({ topic: r.topic, partition: r.partition, epoch: Number(r.epoch), owner: r.owner, updatedAt: r.updated_at, marks: r.marks ?? [], ...resumeOf(parseRanges(r.done)) }));
  }

  /** Moves partitions to new positions (everything below is finished, nothing above) and fences their current owners. */
  async reset(client: ClientBase, positions: ReadonlyArray<{ topic: string; partition: number; offset: number }>): Promise<void> {
    const sorted = [...positions].sort(byPartition);
    await client.query(
      `INSERT INTO ${this.table} AS o (group_id, topic, partition, done, epoch, owner)
       SELECT $1, v.topic, v.partition, int8multirange(int8range(NULL, v.next)), 1, $2
         FROM unnest($3::text[], $4::int[], $5::int8[]) AS v(topic, partition, next)
       ON CONFLICT (group_id, topic, partition)
       DO UPDATE SET done = EXCLUDED.done, epoch = o.epoch + 1, owner = EXCLUDED.owner, updated_at = now(), marks = NULL`,
      [this.groupId, this.owner, sorted.map((p) => p.topic), sorted.map((p) => p.partition), sorted.map((p) => p.offset)],
    );
  }

  /**
   * [DR] Sets partitions' finished ranges and marks outright (a failover's translated positions) and fences
   * their current owners.
   */
  async place(client: ClientBase, positions: ReadonlyArray<{ topic: string; partition: number; done: Array<[number, number]>; marks: RecordMark[] }>): Promise<void> {
    const sorted = [...positions].sort(byPartition);
    await client.query(
      `INSERT INTO ${this.table} AS o (group_id, topic, partition, done, epoch, owner, marks)
       SELECT $1, v.topic, v.partition, v.done::int8multirange, 1, $2, v.marks
         FROM unnest($3::text[], $4::int[], $5::text[], $6::jsonb[]) AS v(topic, partition, done, marks)
       ON CONFLICT (group_id, topic, partition)
       DO UPDATE SET done = EXCLUDED.done, epoch = o.epoch + 1, owner = EXCLUDED.owner, updated_at = now(), marks = EXCLUDED.marks`,
      [
        this.groupId, this.owner, sorted.map((p) => p.topic), sorted.map((p) => p.partition),
        sorted.map((p) => `{${p.done.map(([lo, hi]) => `[${lo === -Infinity ? '' : lo},${hi})`).join(',')}}`), sorted.map((p) => JSON.stringify(p.marks)),
      ],
    );
  }

  /** [DR] Bumps the owner epoch of every partition of the group: whoever holds one writes nothing more of it. */
  async fenceAll(client: ClientBase): Promise<number> {
    const res = await client.query(`UPDATE ${this.table} SET epoch = epoch + 1, owner = $2, updated_at = now() WHERE group_id = $1`, [this.groupId, this.owner]);
    return res.rowCount ?? 0;
  }
}

function byPartition(a: { topic: string; partition: number }, b: { topic: string; partition: number }): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}
