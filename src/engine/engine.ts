import { Batcher, type Batch } from '../batcher/batcher';
import { CommitTracker, type PartitionTrack } from '../commit/commit-tracker';
import type { EngineConfig } from '../config/types';
import { RecordErrors } from '../deadletter/record-errors';
import { DecodePool } from '../decode/pool';
import type { DecodeResult } from '../decode/task';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { log } from '../log';
import { EngineMetrics } from '../metrics/metrics';
import { RingWriter } from '../ring/ring-writer';
import { PgSink } from '../sink/pg-sink';
import { createSource } from '../source/create';
import type { ChunkPoller, ChunkWork } from '../source/poller';
import { TopicRoutes } from '../source/routes';
import { SchemaGate } from '../source/schema-registry';
import type { ConsumerClient, SourceEvents, TopicPartition } from '../source/source';
import { planPipelines, type PipelinePlan } from './plan';

export interface EngineOptions {
  /** Stop once every assigned partition is consumed up to its end offset as seen at assignment. */
  untilCaughtUp?: boolean;
  /** Consume poll timeout; also bounds how long a stop waits for the poll in progress. */
  pollTimeoutMs?: number;
  /** Log a progress line this often (0 = never). */
  progressEveryMs?: number;
}

export type StopReason = 'signal' | 'caught-up' | 'error' | 'requested';

export interface RunSummary {
  reason: StopReason;
  records: number;
  rows: number;
  recordFailures: number;
  /** Records sent to dead-letter topics, and records skipped (onRecordError: skip). */
  deadLettered: number;
  skipped: number;
  /** COPY statements run, including those that split batches PostgreSQL refused. */
  copies: number;
  /** Decode tasks (ring chunks) the records travelled in. */
  chunks: number;
  /** Whole run, including connecting and joining the group. */
  seconds: number;
  /** From the first polled record to the last durable row: the figure to compare drains with. */
  drainSeconds: number;
  recordsPerSecond: number;
  peakRssBytes: number;
}

/**
 * Wires the stages together and owns the lifecycle:
 *   source (poll) → ring (frames) → decode pool (rows) → batcher → sink (COPY) → commit tracker.
 * A chunk is settled once every pipeline's rows from it are durable (its pieces complete and its ring
 * space is freed) or once one of them failed (then nothing past it is committed and the engine stops).
 */
export class Engine {
  readonly metrics = new EngineMetrics();
  private readonly tracker = new CommitTracker();
  private readonly routes: TopicRoutes;
  private readonly sink: PgSink;
  private readonly batcher: Batcher;
  private readonly schemas: SchemaGate;
  private plans: PipelinePlan[] = [];
  private ring!: RingWriter;
  private pool!: DecodePool;
  private source!: ConsumerClient;
  private poller!: ChunkPoller;
  private unsettled = 0;
  private settleWaiter: (() => void) | null = null;
  private stopRequested: ((reason: StopReason) => void) | null = null;
  private stopReason: StopReason | null = null;
  private failure: EngineError | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  /** --until-caught-up: the end offset of each assigned partition, as seen at assignment. */
  private readonly targets = new Map<PartitionTrack, number>();
  /** A revoke waiting for the revoked partitions' work in flight to settle. */
  private revoking: { tracks: PartitionTrack[]; finish: () => void; timer: NodeJS.Timeout } | null = null;
  private records = 0;
  private chunks = 0;
  private firstRecordAt: bigint | null = null;
  private lastDurableAt: bigint | null = null;
  private rows = 0;
  private recordFailures = 0;
  /** COPY statements run, including those that split refused batches. */
  private copies = 0;
  private recordErrors!: RecordErrors;

  constructor(
    private readonly config: EngineConfig,
    private readonly options: EngineOptions = {},
  ) {
    this.routes = new TopicRoutes(config.pipelines);
    this.sink = new PgSink({
      url: config.postgres.url,
      connections: config.postgres.connections,
      retryMinMs: config.retry.minDelayMs,
      retryMaxMs: config.retry.maxDelayMs,
      retryMaxElapsedMs: config.retry.maxElapsedMs,
    });
    this.schemas = new SchemaGate(config.pipelines.map((p) => p.registry));
    this.batcher = new Batcher(
      config.pipelines.map((p) => p.batch),
      (batch) => this.write(batch),
    );
  }

  /** Runs until stopped (signal, caught up, or a fatal error, which it throws after shutting down). */
  async run(): Promise<RunSummary> {
    const started = process.hrtime.bigint();
    const stopped = new Promise<StopReason>((resolve) => (this.stopRequested = resolve));
    if (this.stopReason) this.stopRequested!(this.stopReason);
    let polling: Promise<void> = Promise.resolve();
    const timers: NodeJS.Timeout[] = [];
    try {
      await this.sink.open();
      this.plans = await planPipelines(this.config, this.sink);
      this.ring = new RingWriter(this.config.engine.ringBytes);
      this.metrics.ringCapacityBytes.set(this.ring.capacity);
      this.recordErrors = new RecordErrors(this.config, this.ring.sab, this.routes, this.metrics);
      await this.recordErrors.prepare();
      this.pool = new DecodePool(this.config.engine.workers, {
        ring: this.ring.sab,
        schemaTable: this.schemas.enabled ? this.schemas.table.sab : null,
        pipelines: this.plans.map((p) => p.worker),
      });
      const events: SourceEvents = {
        assigned: (parts) => this.assigned(parts),
        revoked: (parts, release, lost) => this.revoked(parts, release, lost),
        error: (err) => (err.retriable ? log.warn(err.message) : this.fail(err)),
      };
      ({ source: this.source, poller: this.poller } = createSource({
        config: this.config,
        routes: this.routes,
        tracker: this.tracker,
        ring: this.ring,
        events,
        pollTimeoutMs: this.options.pollTimeoutMs ?? 100,
        onChunk: (chunk) => this.decode(chunk),
        onIdle: () => this.checkCaughtUp(true),
        schemas: this.schemas.enabled ? this.schemas : null,
      }));
      await this.source.connect(30_000);
      if (this.config.metrics.port !== null) await this.metrics.serve(this.config.metrics.port);
      this.source.subscribe(this.routes.subscriptions());
      polling = this.poller.run().catch((err) => this.fail(err));
      if (this.options.untilCaughtUp) timers.push(setInterval(() => this.checkCaughtUp(false), 200));
      if (this.options.progressEveryMs) timers.push(setInterval(() => this.progress(started), this.options.progressEveryMs));
      log.info(`engine started (${this.source.kind} source): ${this.config.pipelines.map((p) => `${p.name} → ${p.table}`).join(', ')}`);
      await stopped;
    } catch (err) {
      this.fail(err);
    } finally {
      for (const t of timers) clearInterval(t);
      await this.shutdown(polling);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const drainSeconds = this.firstRecordAt && this.lastDurableAt ? Number(this.lastDurableAt - this.firstRecordAt) / 1e9 : 0;
    if (this.failure) throw this.failure;
    return {
      reason: this.stopReason ?? 'requested',
      records: this.records,
      rows: this.rows,
      recordFailures: this.recordFailures,
      deadLettered: this.recordErrors?.deadLettered ?? 0,
      skipped: this.recordErrors?.skipped ?? 0,
      copies: this.copies,
      chunks: this.chunks,
      seconds,
      drainSeconds,
      recordsPerSecond: drainSeconds > 0 ? this.records / drainSeconds : 0,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  }

  stop(reason: StopReason = 'requested'): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    log.info(`stopping (${reason}): finishing ${this.unsettled} chunks in flight`);
    this.poller?.stop();
    this.schemas.stop();
    // A stop during a database outage waits for in-flight batches this long, then gives up on them
    // (they are not committed, so they are read again after a restart).
    setTimeout(() => this.sink.stopRetrying(), 30_000).unref();
    this.stopRequested?.(reason);
  }

  private fail(err: unknown): void {
    const e = err instanceof EngineError ? err : new EngineError(ErrorCodes.INTERNAL, messageOf(err), { cause: err });
    if (!this.failure) {
      this.failure = e;
      log.error(`${e.code}: ${e.message}`);
    }
    this.sink.stopRetrying();
    this.stop('error');
  }

  private async shutdown(polling: Promise<void>): Promise<void> {
    this.poller?.stop();
    await polling;
    this.batcher.flushAll();
    if (this.unsettled > 0) await new Promise<void>((resolve) => (this.settleWaiter = resolve));
    this.finishRevoke();
    if (this.commitTimer) clearTimeout(this.commitTimer);
    if (this.source) {
      await this.commitFinal();
      await this.source.disconnect();
    }
    await this.pool?.close();
    await this.recordErrors?.close();
    await this.sink.close();
    await this.metrics.close();
  }

  /**
   * The last commit before leaving the group. Another member's rebalance may be under way (with the
   * cooperative protocol the group rebalances twice when a member joins): the broker then refuses the
   * commit (illegal generation, rebalance in progress) until it completes, so the rebalance is served and
   * the commit retried for up to 10 s. Records fetched meanwhile are not written and not committed.
   */
  private async commitFinal(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        // All positions, not only those not yet sent: an asynchronous commit may still be in flight.
        this.source.commitSync(this.tracker.positions());
        return;
      } catch (err) {
        if (Date.now() >= deadline) {
          log.error(`${messageOf(err)} (gave up; the next owner re-reads from the last commit)`);
          return;
        }
        log.info(`${messageOf(err)}; serving the group's rebalance and retrying`);
        try {
          await this.source.serve(250);
        } catch (e) {
          log.warn(messageOf(e));
        }
        this.finishRevoke();
      }
    }
  }

  private decode(chunk: ChunkWork): void {
    this.unsettled++;
    this.firstRecordAt ??= process.hrtime.bigint();
    this.records += chunk.region.frames;
    this.chunks++;
    this.metrics.recordsPolled.inc(chunk.region.frames);
    this.metrics.ringUsedBytes.set(this.ring.usedBytes);
    const r = chunk.region;
    this.pool.run({ start: r.start, end: r.end, frames: r.frames }).then(
      (result) => this.decoded(chunk, result),
      (err) => this.settle(chunk, new EngineError(ErrorCodes.INTERNAL, `decode task failed: ${messageOf(err)}`, { cause: err })),
    );
  }

  private decoded(chunk: ChunkWork, result: DecodeResult): void {
    if (result.fatal) return this.settle(chunk, EngineError.fromData(result.fatal));
    this.recordFailures += result.failures.length;
    const { fatal, waits } = this.recordErrors.decodeFailures(result.failures);
    if (fatal) return this.settle(chunk, fatal);
    chunk.pending = result.outputs.length + waits.length;
    if (chunk.pending === 0) return this.settle(chunk, null);
    for (const wait of waits) wait.then(() => this.partDone(chunk), (err) => this.settle(chunk, err));
    for (const out of result.outputs) {
      this.batcher.add(out.pipeline, { chunk, rows: out.rows, bytes: new Uint8Array(out.buffer, 0, out.byteLength), frames: new Int32Array(out.frames, 0, out.rows) });
    }
  }

  /** One of a chunk's pipelines' rows, or one of its dead-lettered records, is done. */
  private partDone(chunk: ChunkWork): void {
    if (--chunk.pending === 0) this.settle(chunk, null);
  }

  private write(batch: Batch): void {
    const plan = this.plans[batch.pipeline];
    const name = this.config.pipelines[batch.pipeline].name;
    const landed = (rows: number) => {
      this.rows += rows;
      this.metrics.rowsWritten.inc({ pipeline: name }, rows);
      this.metrics.batchesWritten.inc({ pipeline: name });
      for (const part of batch.parts) this.partDone(part.chunk);
    };
    const failed = (err: unknown) => {
      for (const part of batch.parts) this.settle(part.chunk, err);
    };
    this.copies++;
    this.sink.write({ target: plan.copyTarget, parts: batch.parts.map((p) => p.bytes), rows: batch.rows }).then(
      () => landed(batch.rows),
      (err) => {
        const rescued = this.recordErrors.rescueBatch(batch, err, (rows) => {
          this.copies++;
          // One buffer: thousands of row-sized writes would cost more than the copy.
          return this.sink.write({ target: plan.copyTarget, parts: [Buffer.concat(rows.map((r) => r.bytes))], rows: rows.length });
        });
        if (rescued) rescued.then(landed, failed);
        else failed(err);
      },
    );
  }

  /** A chunk is done: durable (error null) or failed. */
  private settle(chunk: ChunkWork, error: unknown): void {
    if (chunk.settled) return;
    chunk.settled = true;
    this.unsettled--;
    if (error !== null) this.fail(error);
    else {
      this.lastDurableAt = process.hrtime.bigint();
      if (this.tracker.complete(chunk.pieces)) this.scheduleCommit();
      if (this.revoking && this.revoking.tracks.every((t) => t.inFlight === 0)) this.finishRevoke();
    }
    this.ring.release(chunk.region);
    this.metrics.ringUsedBytes.set(this.ring.usedBytes);
    this.poller.notifySpace();
    if (this.unsettled === 0 && this.settleWaiter) this.settleWaiter();
    if (error === null) this.checkCaughtUp(false);
  }

  private scheduleCommit(): void {
    if (this.commitTimer !== null || this.stopReason) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = null;
      this.source.commit(this.tracker.takeCommits());
    }, this.config.engine.commitIntervalMs);
  }

  /** Called inside the rebalance callback, before librdkafka assigns the partitions. */
  private assigned(parts: TopicPartition[]): void {
    const tracks: PartitionTrack[] = [];
    for (const { topic, partition } of parts) {
      try {
        this.routes.route(topic);
      } catch (err) {
        this.fail(err);
        return;
      }
      tracks.push(this.tracker.assign(topic, partition));
    }
    this.poller?.invalidate();
    this.metrics.assignedPartitions.set(this.tracker.size);
    log.info(`assigned ${parts.map((p) => `${p.topic}[${p.partition}]`).join(', ') || 'no partitions'}`);
    // Partitions assigned while stopping are handed back on leaving; they need no start position.
    if (this.stopReason) return;
    this.loadStartPositions(tracks).catch((err) => (this.stopReason ? log.warn(messageOf(err)) : this.fail(err)));
  }

  /** Where each new partition starts (committed offset, else the log start) and, if asked, where it ends. */
  private async loadStartPositions(tracks: PartitionTrack[]): Promise<void> {
    if (tracks.length === 0) return;
    const committed = await this.source.committed(tracks.map((t) => ({ topic: t.topic, partition: t.partition })), 10_000);
    await Promise.all(
      tracks.map(async (track, i) => {
        const marks = await this.source.watermarks(track.topic, track.partition, 10_000);
        if (track.revoked) return;
        const c = committed[i]?.offset ?? -1;
        if (c >= 0) track.committed = c;
        if (track.watermark < 0 && track.inFlight === 0) track.watermark = c >= 0 ? c : marks.low;
        if (this.options.untilCaughtUp) this.targets.set(track, marks.high);
      }),
    );
    this.checkCaughtUp(false);
  }

  /**
   * Called inside the rebalance callback. The revoked partitions stop taking new messages; their work in
   * flight finishes (up to 10 s) and its positions are committed before librdkafka is told to let them
   * go, so the next owner starts right after what this engine wrote: a rebalance writes no duplicates
   * unless a batch outlives the wait.
   */
  private revoked(parts: TopicPartition[], release: () => void, lost: boolean): void {
    const tracks = parts.map((p) => this.tracker.get(p.topic, p.partition)).filter((t): t is PartitionTrack => t !== undefined);
    for (const t of tracks) t.draining = true;
    this.poller?.invalidate();
    const finish = () => {
      if (lost) {
        // The group already gave these partitions to another member: a commit now could move its position back.
        log.warn(`assignment of ${parts.map((p) => `${p.topic}[${p.partition}]`).join(', ')} was lost; nothing of it is committed (the new owner re-reads from the last commit)`);
      } else {
        try {
          // Every revoked partition, even where an asynchronous commit of the same position is still on its
          // way: the synchronous one lands before the partition moves, so the next owner never reads an older one.
          this.source.commitSync(this.tracker.positions((t) => tracks.includes(t)));
        } catch (err) {
          log.warn(`commit on revoke failed (the next owner re-reads from the last commit): ${messageOf(err)}`);
        }
      }
      for (const t of tracks) {
        this.tracker.revoke(t.topic, t.partition);
        this.targets.delete(t);
      }
      this.metrics.assignedPartitions.set(this.tracker.size);
      log.info(`revoked ${parts.map((p) => `${p.topic}[${p.partition}]`).join(', ')}`);
      release();
    };
    if (lost || this.stopReason || tracks.every((t) => t.inFlight === 0)) return finish();
    const timer = setTimeout(() => {
      log.warn('revoke: work in flight did not settle within 10 s; releasing the partitions (the next owner re-reads from the last commit)');
      this.finishRevoke();
    }, 10_000);
    this.revoking = { tracks, finish, timer };
  }

  private finishRevoke(): void {
    const r = this.revoking;
    if (!r) return;
    this.revoking = null;
    clearTimeout(r.timer);
    r.finish();
  }

  /**
   * --until-caught-up: stop once every assigned partition's durable watermark reached its target. When
   * `quiescent` (the poller just got an empty poll, so nothing is fetched but unwritten), a partition
   * with nothing in flight may also use librdkafka's position: offsets below it that never reached us
   * are transaction markers or compacted away.
   */
  private checkCaughtUp(quiescent: boolean): void {
    if (!this.options.untilCaughtUp || this.stopReason || this.tracker.size === 0) return;
    for (const track of this.tracker.all()) {
      const target = this.targets.get(track);
      if (target === undefined) return;
      if (track.watermark >= target) continue;
      if (!quiescent || track.inFlight > 0) return;
      const position = this.source.positions([{ topic: track.topic, partition: track.partition }])[0]?.offset ?? -1;
      if (position < target) return;
      track.watermark = position;
    }
    this.stop('caught-up');
  }

  private progress(started: bigint): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    log.info(`progress: ${this.records} records polled, ${this.rows} rows durable, ${(this.rows / seconds).toFixed(0)} rows/s, ring ${((100 * this.ring.usedBytes) / this.ring.capacity).toFixed(0)}% used`);
  }
}
