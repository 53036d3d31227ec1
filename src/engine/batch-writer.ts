import type { Batch, BatchPart } from '../batcher/batcher';
import type { PartitionTrack } from '../commit/commit-tracker';
import { FencedError, type DoneRange, type OffsetsStore } from '../commit/offsets-table';
import type { RecordErrors } from '../deadletter/record-errors';
import { splitRows } from '../deadletter/rescue';
import { isBinaryFormatError, TablesChanged, type SchemaEvolution } from './evolve';
import { EngineError, ErrorCodes } from '../errors';
import { log } from '../log';
import type { RangeMarker } from './range-marks';
import { F_PARTITION, F_TOPIC_ID } from '../ring/layout';
import type { MergePlan } from '../sink/merge';
import { copyRows, isRetriable, underSavepoint, type Sink } from '../sink/pg-sink';
import type { ClientBase } from 'pg';

/**
 * Writes a batch: one transaction holding its COPY and, in exactly-once mode, the offsets of its records
 * (commit/offsets-table.ts), so the rows and the positions that account for them commit together.
 *
 * A batch the server refuses for its data (SQLSTATE 22/23) is rolled back and written again in the same
 * transaction, split under savepoints until the bad rows are found (deadletter/rescue.ts): the good rows,
 * the dead letters' positions and the offsets still commit as one. A batch with partitions another process
 * claimed since (FencedError) is written again without their rows, in a new transaction on the same
 * connection: they are the new owner's.
 *
 * upsert and cdc pipelines (sink/merge.ts) COPY into a staging table and merge from it. Their batches
 * COPY in parallel but merge and commit one after the other, in the order they were made: a later
 * batch never overwrites a key before an earlier one, and if one fails, the ones after it fail too.
 */
export class BatchWriter {
  /** COPY statements sent, including the ones that split refused batches. */
  copies = 0;

  constructor(
    private readonly sink: Sink,
    private readonly targets: readonly string[],
    private readonly recordErrors: RecordErrors,
    private readonly offsets: OffsetsStore | null,
    private readonly ring: SharedArrayBuffer,
    private readonly merges: ReadonlyArray<MergePlan | null> = [],
    /** [DR] Names each finished range's first and last record, for a failover to find on the other cluster. */
    private readonly marker: RangeMarker | null = null,
    /** [Tables] evolve: tells a COPY refused because another engine altered the table (then this one starts again). */
    private readonly evolution: SchemaEvolution | null = null,
  ) {}

  /** Per merge pipeline: settles when its last batch so far has committed (true) or failed (false). */
  private readonly lastMerge = new Map<number, Promise<boolean>>();
  /**
   * Per merge pipeline: settles once its last batch so far holds a connection (or gave up). A batch asks
   * for a connection only after the one before it has one: were it the other way round, later batches
   * could hold every connection while waiting for their turn behind an earlier batch that has none.
   */
  private readonly lastStarted = new Map<number, Promise<void>>();

  /** Resolves with the rows that landed. */
  async write(batch: Batch): Promise<number> {
    const merge = this.merges[batch.pipeline] ?? null;
    if (merge === null) return this.writeBatch(batch, null);
    // The turn is taken before any await: batches queue in the order write() is called.
    const previous = this.lastMerge.get(batch.pipeline) ?? Promise.resolve(true);
    let settle!: (ok: boolean) => void;
    this.lastMerge.set(batch.pipeline, new Promise<boolean>((resolve) => (settle = resolve)));
    const previousStarted = this.lastStarted.get(batch.pipeline) ?? Promise.resolve();
    let started!: () => void;
    this.lastStarted.set(batch.pipeline, new Promise<void>((resolve) => (started = resolve)));
    const turn = async () => {
      if (!(await previous)) {
        throw new EngineError(ErrorCodes.PG_WRITE, `an earlier batch of ${this.targets[batch.pipeline]} failed; merging this one first would apply its keys out of order`);
      }
    };
    try {
      const rows = await this.writeBatch(batch, { plan: merge, turn, previousStarted, started });
      settle(true);
      return rows;
    } catch (err) {
      settle(false);
      throw err;
    } finally {
      started();
    }
  }

  private async writeBatch(batch: Batch, merge: Merge | null): Promise<number> {
    // Exactly-once: a dead-lettered record counts as finished only once the broker has it. Waited for
    // before the transaction opens, so no lock is held meanwhile.
    if (this.offsets) for (const part of batch.parts) if (part.chunk.deadLetters) await part.chunk.deadLetters;
    if (merge) await merge.previousStarted;
    let current = batch;
    const what = `COPY into ${this.targets[batch.pipeline]} (${batch.rows} rows)`;
    return this.sink.transaction(what, async (client, attempt) => {
      // An earlier attempt may have committed without hearing back (the connection died during COMMIT):
      // the offsets table, on whichever server this connection reached, says whether it did.
      if (attempt > 1 && this.offsets && (await this.offsets.finished(client, doneRanges(current)))) {
        log.info(`${what}: an earlier attempt committed (its offsets are in ${this.offsets.table}); not written again`);
        return current.rows;
      }
      for (;;) {
        // Rows and offsets from one look at the tracks: one fenced by another batch while this one waited
        // loses its rows here, and one fenced from now on fails the offsets check below.
        if (this.offsets) current = this.withoutFenced(current);
        try {
          const ranges = this.offsets ? doneRanges(current) : [];
          return await this.attempt(client, current, this.marker ? this.marker.mark(ranges, current) : ranges, merge);
        } catch (err) {
          if (!(err instanceof FencedError) || !this.fence(current, err)) throw err;
          // Again on the same connection: a merge batch that let go of its connection would wait for one
          // behind the pipeline's later batches, which hold them all while they wait for its turn.
          await client.query('ROLLBACK');
          await client.query('BEGIN');
        }
      }
    });
  }

  private async attempt(client: ClientBase, batch: Batch, ranges: DoneRange[], merge: Merge | null): Promise<number> {
    merge?.started();
    const target = merge ? merge.plan.copyTarget : this.targets[batch.pipeline];
    let landed = batch.rows;
    if (merge) await client.query(merge.plan.createStage);
    try {
      this.copies += batch.rows > 0 ? 1 : 0;
      await copyRows(client, { target, parts: batch.parts.map((p) => p.bytes), rows: batch.rows });
      if (merge) {
        await merge.turn();
        await client.query(merge.plan.mergeSql);
      }
    } catch (err) {
      if (this.evolution?.watches(batch.pipeline) === true && isBinaryFormatError(err)) {
        await client.query('ROLLBACK');
        await client.query('BEGIN');
        if (await this.evolution.changedUnder(client, batch.pipeline)) throw new TablesChanged(null, this.evolution.pipelineName(batch.pipeline), 'another engine of the group altered its table for a newer schema');
      }
      if (isRetriable(err) || (err instanceof EngineError && err.code === ErrorCodes.PG_WRITE)) throw err;
      // The failed COPY aborted the transaction: the rescue starts a new one (before its first COPY).
      let reopened: Promise<unknown> | null = null;
      const reopen = () => (reopened ??= client.query('ROLLBACK').then(() => client.query('BEGIN')).then(() => merge && client.query(merge.plan.createStage)));
      const rescue = this.recordErrors.rescueBatch(batch, err, async (rows) => {
        await reopen();
        this.copies++;
        // One buffer: thousands of row-sized writes would cost more than the copy.
        return underSavepoint(client, async () => {
          await copyRows(client, { target, parts: [Buffer.concat(rows.map((r) => r.bytes))], rows: rows.length });
          if (merge) {
            await merge.turn();
            await client.query(merge.plan.mergeSql);
            await client.query(merge.plan.clearStage);
          }
        });
      });
      if (rescue === null) throw err;
      landed = await rescue;
      await reopen();
    }
    if (merge) await merge.turn();
    if (this.offsets !== null) await this.offsets.markDone(client, ranges);
    return landed;
  }

  /** Marks the batch's tracks named by `fenced` (at the epoch they hold) as fenced; false if there is none. */
  private fence(batch: Batch, fenced: FencedError): boolean {
    let found = false;
    for (const part of batch.parts) {
      for (const { track: t } of part.chunk.pieces) {
        // Another batch may have found the same fence first: the track is then fenced already.
        if (fenced.partitions.some((f) => f.topic === t.topic && f.partition === t.partition && f.epoch === t.ownerEpoch)) {
          t.fenced = true;
          found = true;
        }
      }
    }
    if (found) log.warn(`${fenced.message}; writing the rest of the batch without them`);
    return found;
  }

  /** The batch without the rows of fenced partitions: another process owns them now. */
  private withoutFenced(batch: Batch): Batch {
    const fencedIn = (part: BatchPart) => part.chunk.pieces.filter((p) => p.track.fenced && p.track.pipeline === batch.pipeline).map((p) => p.track);
    if (!batch.parts.some((part) => part.rows > 0 && fencedIn(part).length > 0)) return batch;
    const i32 = new Int32Array(this.ring);
    const u16 = new Uint16Array(this.ring);
    // A chunk holds one track per partition (the one it was polled under): rows are matched within their chunk.
    const isLost = (pos: number, lost: PartitionTrack[]) => {
      const partition = i32[(pos + F_PARTITION) >> 2];
      const topicId = u16[(pos + F_TOPIC_ID) >> 1];
      return lost.some((t) => t.partition === partition && t.topicId === topicId);
    };
    const parts: BatchPart[] = batch.parts.map((part) => {
      const lost = fencedIn(part);
      if (part.rows === 0 || lost.length === 0) return part;
      const kept = splitRows([part]).filter((r) => !isLost(r.frame, lost));
      if (kept.length === part.rows) return part;
      return { chunk: part.chunk, rows: kept.length, bytes: Buffer.concat(kept.map((r) => r.bytes)), frames: Int32Array.from(kept, (r) => r.frame) };
    });
    const rows = parts.reduce((n, p) => n + p.rows, 0);
    return { pipeline: batch.pipeline, parts, rows, bytes: parts.reduce((n, p) => n + p.bytes.length, 0) };
  }
}

/** A merge pipeline's batch: its plan, and its turn to merge (waits for the pipeline's previous batch). */
interface Merge {
  plan: MergePlan;
  turn: () => Promise<void>;
  /** The previous batch of the pipeline holds a connection: this one may ask for one. */
  previousStarted: Promise<void>;
  /** Called once this batch holds a connection (again on a retry: a no-op then). */
  started: () => void;
}

/**
 * The offsets a batch finishes: per partition of its pipeline, the pieces of its chunks (every offset from
 * the piece's first to its last, records that produced no row included), merged where they touch.
 */
export function doneRanges(batch: Batch): DoneRange[] {
  const pieces = [];
  for (const part of batch.parts) {
    for (const piece of part.chunk.pieces) {
      const t = piece.track;
      if (t.pipeline === batch.pipeline && !t.fenced && piece.first >= 0 && piece.lastOffset >= piece.first) pieces.push(piece);
    }
  }
  pieces.sort((a, b) => (a.track === b.track ? a.first - b.first : a.track.epoch - b.track.epoch));
  const out: DoneRange[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    const t = p.track;
    if (last && last.topic === t.topic && last.partition === t.partition && last.epoch === t.ownerEpoch && last.to === p.first) last.to = p.lastOffset + 1;
    else out.push({ topic: t.topic, partition: t.partition, from: p.first, to: p.lastOffset + 1, epoch: t.ownerEpoch });
  }
  return out;
}
