import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Batcher, type Batch } from '../batcher/batcher';
import { ActiveCluster, ClusterInactiveError } from '../commit/active-cluster';
import { OffsetsTable, type OffsetsStore } from '../commit/offsets-table';
import { CommitTracker } from '../commit/commit-tracker';
import type { EngineConfig } from '../config/types';
import { RecordErrors } from '../deadletter/record-errors';
import { DecodePool } from '../decode/pool';
import type { DecodeResult } from '../decode/task';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { log } from '../log';
import { RingWriter } from '../ring/ring-writer';
import { PgSink, type Sink } from '../sink/pg-sink';
import { createSource } from '../source/create';
import type { ChunkWork } from '../ring/chunk-work';
import type { ChunkPoller } from '../source/poller';
import { TopicRoutes, TopicsChanged } from '../source/routes';
import { positionsGroup } from '../source/clusters';
import { RangeMarker } from './range-marks';
import { ClusterWatch } from './cluster-watch';
import { SchemaGate } from '../source/schema-registry';
import { TOPIC_NAMES } from '../ring/schema-table';
import type { ConsumerClient, SourceEvents } from '../source/source';
import { BatchWriter } from './batch-writer';
import { Operations } from './operations';
import { Partitions } from './partitions';
import { planPipelines, type PipelinePlan } from './plan';
import { SchemaEvolution, TablesChanged, type EvolvedSchema } from './evolve';
import { Watchdog } from './watchdog';
import { keepLargeBlocksMapped } from '../source/native-binding';

const NO_BYTES = new Uint8Array(0);
const NO_FRAMES = new Int32Array(0);

export interface EngineOptions {
  /** Stop once every assigned partition is consumed up to its end offset as seen at assignment. */
  untilCaughtUp?: boolean;
  /** Consume poll timeout; also bounds how long a stop waits for the poll in progress. */
  pollTimeoutMs?: number;
  /** Log a progress line this often (0 = never). */
  progressEveryMs?: number;
  /** [Tables] evolve: writer schemas that made earlier runs of this process start again (engine/evolve.ts). */
  evolved?: readonly EvolvedSchema[];
}

/** Why the engine stopped; 'restart': to start again with new topics or tables (TopicsChanged, TablesChanged). */
export type StopReason = 'signal' | 'caught-up' | 'error' | 'requested' | 'restart';

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
  /** CPU time of the whole process (main thread, workers, librdkafka) over the drain: the engine's own cost, whatever the machine's noise. */
  drainCpuSeconds: number;
  peakRssBytes: number;
}

/**
 * Wires the stages together and owns the lifecycle:
 *   source (poll) → ring (frames) → decode pool (rows) → batcher → sink (COPY) → commit tracker.
 * A chunk is settled once every pipeline's rows from it are durable (its pieces complete and its ring
 * space is freed) or once one of them failed (then nothing past it is committed and the engine stops).
 */
export class Engine {
  readonly ops: Operations;
  private readonly tracker = new CommitTracker();
  private readonly routes: TopicRoutes;
  private readonly sink: Sink;
  private readonly batcher: Batcher;
  private readonly schemas: SchemaGate;
  private plans: PipelinePlan[] = [];
  private ring!: RingWriter;
  private pool!: DecodePool;
  private source!: ConsumerClient;
  private poller!: ChunkPoller;
  private unsettled = 0;
  /**
   * upsert/cdc pipelines: decoded chunks reach the batcher in the order they were polled, whichever worker
   * finishes first, so a later record of a key never lands in an earlier batch than an older one.
   */
  private readonly inPollOrder: boolean;
  private polledChunks = 0;
  private nextToBatch = 0;
  private readonly decodedEarly = new Map<number, () => void>();
  private settleWaiter: (() => void) | null = null;
  private stopRequested: ((reason: StopReason) => void) | null = null;
  private stopReason: StopReason | null = null;
  private failure: EngineError | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private readonly partitions: Partitions;
  private records = 0;
  private chunks = 0;
  /** [Transcode] Rows the workers wrote by each path (also kpe_rows_encoded_total), logged at exit. */
  private readonly topicColumns: boolean;
  private readonly rowsByPath = { generated: 0, transcoder: 0, object: 0 };
  private firstRecordAt: bigint | null = null;
  private lastProgress: { at: bigint; rows: number } | null = null;
  private firstRecordCpu: NodeJS.CpuUsage | null = null;
  private lastDurableCpu: NodeJS.CpuUsage | null = null;
  private lastDurableAt: bigint | null = null;
  private rows = 0;
  private recordFailures = 0;
  private recordErrors!: RecordErrors;
  private writer!: BatchWriter;
  /** Exactly-once: the table where positions commit with the rows. */
  private readonly offsets: OffsetsStore | null;
  /** [DR] Which Kafka cluster the group reads, in PostgreSQL; null without kafka.dr. */
  private readonly active: ActiveCluster | null;

  constructor(
    private readonly config: EngineConfig,
    private readonly options: EngineOptions = {},
  ) {
    this.active = config.kafka.dr ? new ActiveCluster(config.engine.offsetsTable, config.kafka.groupId) : null;
    const guard = this.active ? { cluster: config.kafka.cluster, active: this.active } : null;
    this.offsets = config.engine.delivery === 'exactly-once' ? new OffsetsTable(config.engine.offsetsTable, positionsGroup(config), `${os.hostname()}:${process.pid}`, guard) : null;
    // [Tables] $topic columns read topic names from the schema table, published as topics get their ids.
    this.topicColumns = config.pipelines.some((p) => Object.values(p.columns).includes('$topic'));
    this.routes = new TopicRoutes(config.pipelines, this.topicColumns ? (route) => this.schemas.table.publish(TOPIC_NAMES, route.id, route.name) : null);
    this.inPollOrder = config.pipelines.some((p) => p.merge !== null);
    this.sink = new PgSink({
      target: config.postgres,
      connections: config.postgres.connections,
      retry: config.retry,
      onRetry: (cause) => this.ops.metrics.retries.inc({ stage: 'postgres', cause }),
      onReconnect: (server, changed) => {
        if (changed) this.ops.metrics.pgFailovers.inc();
        this.partitions.reclaim(`reconnected to ${server.host}${changed ? ', another server than before' : ''}`);
      },
    });
    this.ops = new Operations(config, this.sink, {
      tracker: this.tracker,
      ring: () => this.ring,
      pool: () => this.pool,
      poller: () => this.poller,
      source: () => this.source,
    });
    if (config.kafka.dr) this.ops.metrics.kafkaCluster.set({ cluster: config.kafka.cluster, brokers: config.kafka.brokers }, 1);
    this.partitions = new Partitions(this.tracker, this.routes, this.ops, options.untilCaughtUp === true, {
      source: () => this.source,
      poller: () => this.poller,
      stopping: () => this.stopReason !== null,
      fail: (err: unknown) => this.fail(err),
      caughtUp: () => this.stop('caught-up'),
      claim: this.offsets ? (parts) => this.sink.transaction('claiming partitions in the offsets table', (c) => this.offsets!.claim(c, parts, (a, b) => this.sharePattern(a, b))) : null,
      startAtEnd: /^(latest|largest|end)$/.test(String(config.kafka.config['auto.offset.reset'] ?? '')),
      sharePattern: (a, b) => this.sharePattern(a, b),
    });
    this.schemas = new SchemaGate(config.pipelines.map((p) => p.registry), config.pipelines.map((p) => p.merge !== null), config.retry);
    this.batcher = new Batcher(
      config.pipelines.map((p) => p.batch),
      (batch) => this.write(batch),
      config.postgres.connections,
    );
  }

  /** Two topics of one topicPattern pipeline: a new one starts like a new partition (engine/partitions.ts). */
  private sharePattern(a: string, b: string): boolean {
    const pipeline = this.routes.patternPipelineOf(b);
    return pipeline !== undefined && this.routes.patternPipelineOf(a) === pipeline;
  }

  /** Runs until stopped (signal, caught up, or a fatal error, which it throws after shutting down). */
  async run(): Promise<RunSummary> {
    const started = process.hrtime.bigint();
    const stopped = new Promise<StopReason>((resolve) => (this.stopRequested = resolve));
    if (this.stopReason) this.stopRequested!(this.stopReason);
    let polling: Promise<void> = Promise.resolve();
    const timers: NodeJS.Timeout[] = [];
    try {
      if (!keepLargeBlocksMapped()) log.debug('malloc left as it is (no native addon, not glibc, or MALLOC_MMAP_THRESHOLD_ set)');
      await this.sink.open();
      this.plans = await planPipelines(this.config, this.sink, this.options.evolved);
      const evolution = new SchemaEvolution(this.config, this.plans);
      if (evolution.enabled) this.schemas.admit = (pipeline, id, registered) => evolution.admit(pipeline, id, registered);
      if (this.offsets) await this.sink.transaction(`creating ${this.offsets.table}`, (c) => this.offsets!.ensure(c));
      if (this.active) {
        const watch = new ClusterWatch(this.config, this.active, this.sink, () => this.ops.readiness.kafkaUnreachableSince, (err) => this.fail(err));
        await watch.check(true);
        timers.push(setInterval(() => void (this.stopReason ? undefined : watch.check().catch((err) => this.fail(err))), 2_000));
      }
      this.ring = new RingWriter(this.config.engine.ringBytes);
      this.recordErrors = new RecordErrors(this.config, this.ring.sab, this.routes, this.ops.metrics);
      await this.recordErrors.prepare();
      const marker = this.active && this.offsets ? new RangeMarker(this.ring.sab, (topic) => this.routes.get(topic)?.id ?? -1) : null;
      this.writer = new BatchWriter(this.sink, this.plans.map((p) => p.copyTarget), this.recordErrors, this.offsets, this.ring.sab, this.plans.map((p) => p.merge), marker, evolution.enabled ? evolution : null);
      this.pool = new DecodePool(this.config.engine.workers, {
        ring: this.ring.sab,
        schemaTable: this.schemas.enabled || this.topicColumns ? this.schemas.table.sab : null,
        pipelines: this.plans.map((p) => p.worker),
      });
      const events: SourceEvents = {
        assigned: (parts, assign) => this.partitions.assigned(parts, assign),
        revoked: (parts, release, lost) => this.partitions.revoked(parts, release, lost),
        error: (err) => {
          this.ops.readiness.kafkaError(err.message);
          if (!err.retriable) return this.fail(err);
          this.ops.metrics.retries.inc({ stage: 'kafka', cause: 'client_error' });
          log.warn(err.message);
        },
        commitFailed: (offsets) => {
          if (this.tracker.recommit(offsets)) this.scheduleCommit();
        },
      };
      ({ source: this.source, poller: this.poller } = createSource({
        config: this.config,
        routes: this.routes,
        tracker: this.tracker,
        ring: this.ring,
        events,
        pollTimeoutMs: this.options.pollTimeoutMs ?? 100,
        onChunk: (chunk) => this.decode(chunk),
        onIdle: () => this.partitions.checkCaughtUp(true),
        schemas: this.schemas.enabled ? this.schemas : null,
      }));
      await this.source.connect(30_000);
      await this.ops.serve();
      this.source.subscribe(this.routes.subscriptions());
      polling = this.poller.run().catch((err) => this.fail(err));
      if (this.options.untilCaughtUp) timers.push(setInterval(() => this.partitions.checkCaughtUp(false), 200));
      timers.push(this.watch());
      const display = this.options.untilCaughtUp === true && process.stderr.isTTY === true;
      if (display) timers.push(setInterval(() => this.progressLine(), 500));
      else if (this.options.progressEveryMs) {
        this.lastProgress = { at: process.hrtime.bigint(), rows: this.rows };
        timers.push(setInterval(() => this.progress(), this.options.progressEveryMs));
      }
      log.info(`engine started (${this.source.kind} source): ${this.config.pipelines.filter((p) => p.routes === null).map((p) => `${p.name} → ${p.table}`).join(', ')}`);
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
      copies: this.writer?.copies ?? 0,
      chunks: this.chunks,
      seconds,
      drainSeconds,
      recordsPerSecond: drainSeconds > 0 ? this.records / drainSeconds : 0,
      drainCpuSeconds: this.firstRecordCpu && this.lastDurableCpu ? cpuSeconds(this.lastDurableCpu) - cpuSeconds(this.firstRecordCpu) : 0,
      peakRssBytes: peakRssBytes(),
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

  /** The watchdog (engine/watchdog.ts), looking once a second. */
  private watch(): NodeJS.Timeout {
    const source = this.source;
    const watchdog = new Watchdog(
      {
        group: () => source.groupState(),
        assignedPartitions: () => this.tracker.size,
        lag: () => this.partitions.lag(),
        progress: () => this.records + this.rows,
        retryingPostgres: () => this.sink.retrying !== null,
      },
      this.config.engine.watchdog,
    );
    return setInterval(() => {
      if (this.stopReason) return;
      let stalled;
      try {
        stalled = watchdog.check(Date.now());
      } catch (err) {
        return this.fail(err);
      }
      if ((watchdog.problem === null) !== (this.ops.readiness.stalled === null)) {
        if (watchdog.problem) log.warn(`watchdog: ${watchdog.problem}; /readyz fails until it moves again`);
        else log.info('watchdog: moving again');
      }
      this.ops.readiness.stalled = watchdog.problem;
      if (stalled) this.fail(stalled);
    }, 1_000);
  }

  private fail(err: unknown): void {
    const e = err instanceof EngineError ? err : new EngineError(ErrorCodes.INTERNAL, messageOf(err), { cause: err });
    const restart = e instanceof TopicsChanged || e instanceof TablesChanged;
    if (!this.failure) {
      this.failure = e;
      if (restart) log.info(e.message);
      else log.error(`${e.code}: ${e.message}`);
    }
    this.sink.stopRetrying();
    this.stop(restart ? 'restart' : 'error');
  }

  private async shutdown(polling: Promise<void>): Promise<void> {
    if (this.options.untilCaughtUp === true && process.stderr.isTTY === true) process.stderr.write('\n');
    this.poller?.stop();
    await polling;
    this.batcher.flushAll();
    if (this.unsettled > 0) await new Promise<void>((resolve) => (this.settleWaiter = resolve));
    this.partitions.finishRevoke();
    if (this.commitTimer) clearTimeout(this.commitTimer);
    if (this.source) {
      // After a failover the old cluster may be dead (the final commit would wait for its coordinator) and
      // its group positions no longer matter: the group reads the other cluster now.
      const failedOver = this.failure instanceof ClusterInactiveError;
      if (!failedOver) await this.partitions.commitFinal();
      await this.source.disconnect(!failedOver);
    }
    await this.pool?.close();
    await this.recordErrors?.close();
    await this.sink.close();
    await this.ops.close();
    const m = process.memoryUsage();
    const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
    log.info(`rows encoded: ${this.rowsByPath.generated} by generated row functions, ${this.rowsByPath.transcoder} by the transcoders' closures, ${this.rowsByPath.object} by the object path`);
    log.debug(`memory at exit: rss ${mib(m.rss)}, main heap ${mib(m.heapUsed)} of ${mib(m.heapTotal)}, external ${mib(m.external)} (array buffers ${mib(m.arrayBuffers)}); peak rss ${mib(peakRssBytes())}`);
  }

  private decode(chunk: ChunkWork): void {
    this.unsettled++;
    if (this.firstRecordAt === null) {
      this.firstRecordAt = process.hrtime.bigint();
      this.firstRecordCpu = process.cpuUsage();
    }
    this.records += chunk.region.frames;
    this.chunks++;
    this.ops.chunkPolled(chunk);
    const r = chunk.region;
    const seq = this.polledChunks++;
    this.pool.run({ start: r.start, end: r.end, frames: r.frames }).then(
      (result) => this.inTurn(seq, () => this.decoded(chunk, result)),
      (err) => this.inTurn(seq, () => this.settle(chunk, new EngineError(ErrorCodes.INTERNAL, `decode task failed: ${messageOf(err)}`, { cause: err }))),
    );
  }

  /** Runs `next` for the chunk polled `seq`-th: at once, or (inPollOrder) after every chunk polled before it. */
  private inTurn(seq: number, next: () => void): void {
    if (!this.inPollOrder) return next();
    this.decodedEarly.set(seq, next);
    for (let run = this.decodedEarly.get(this.nextToBatch); run !== undefined; run = this.decodedEarly.get(this.nextToBatch)) {
      this.decodedEarly.delete(this.nextToBatch++);
      run();
    }
  }

  private decoded(chunk: ChunkWork, result: DecodeResult): void {
    this.ops.metrics.decodeSeconds.observe(result.decodeMs / 1000);
    if (result.fatal) return this.settle(chunk, EngineError.fromData(result.fatal));
    let rows = 0;
    for (const out of result.outputs) rows += out.rows;
    if (result.generated > 0) this.ops.metrics.rowsEncoded.inc({ path: 'generated' }, result.generated);
    if (result.transcoded > result.generated) this.ops.metrics.rowsEncoded.inc({ path: 'transcoder' }, result.transcoded - result.generated);
    if (rows > result.transcoded) this.ops.metrics.rowsEncoded.inc({ path: 'object' }, rows - result.transcoded);
    this.rowsByPath.generated += result.generated;
    this.rowsByPath.transcoder += result.transcoded - result.generated;
    this.rowsByPath.object += rows - result.transcoded;
    this.recordFailures += result.failures.length;
    const { fatal, waits } = this.recordErrors.decodeFailures(result.failures);
    if (fatal) return this.settle(chunk, fatal);
    const parts = result.outputs.map((out) => ({ pipeline: out.pipeline, part: { chunk, rows: out.rows, bytes: new Uint8Array(out.buffer, 0, out.byteLength), frames: new Int32Array(out.frames, 0, out.rows) } }));
    if (this.offsets) {
      // Exactly-once: a chunk's offsets commit with a batch of each pipeline it has records of, rows or none.
      for (const piece of chunk.pieces) {
        if (!parts.some((p) => p.pipeline === piece.track.pipeline)) parts.push({ pipeline: piece.track.pipeline, part: { chunk, rows: 0, bytes: NO_BYTES, frames: NO_FRAMES } });
      }
      if (waits.length > 0) chunk.deadLetters = Promise.all(waits).then(() => undefined);
    }
    chunk.pending = parts.length + waits.length;
    if (chunk.pending === 0) return this.settle(chunk, null);
    for (const wait of waits) wait.then(() => this.partDone(chunk), (err) => this.settle(chunk, err));
    for (const { pipeline, part } of parts) this.batcher.add(pipeline, part);
  }

  /** One of a chunk's pipelines' rows, or one of its dead-lettered records, is done. */
  private partDone(chunk: ChunkWork): void {
    if (--chunk.pending === 0) this.settle(chunk, null);
  }

  private write(batch: Batch): void {
    const name = this.config.pipelines[batch.pipeline].name;
    const started = process.hrtime.bigint();
    this.writer.write(batch).then(
      (rows) => {
        this.rows += rows;
        this.ops.batchWritten(batch, name, rows, Number(process.hrtime.bigint() - started) / 1e9, this.writer.copies);
        for (const part of batch.parts) this.partDone(part.chunk);
        this.batcher.written(batch.pipeline);
      },
      (err) => {
        for (const part of batch.parts) this.settle(part.chunk, err);
        this.batcher.written(batch.pipeline);
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
      this.lastDurableCpu = process.cpuUsage();
      if (this.tracker.complete(chunk.pieces)) this.scheduleCommit();
      this.partitions.settled();
    }
    this.ring.release(chunk.region);
    this.ops.chunkSettled(chunk);
    this.poller.notifySpace();
    if (this.unsettled === 0 && this.settleWaiter) this.settleWaiter();
    if (error === null) this.partitions.checkCaughtUp(false);
  }

  /**
   * Commits to Kafka at most once per commitIntervalMs, and not while librdkafka has no coordinator for
   * the group: such commits wait in the coordinator's queue, and when a coordinator is found again they
   * fail on the new connection and mark it dead again (seen in librdkafka's log after a broker restart:
   * "OffsetCommitRequest failed: Local: Broker transport failure … marking the coordinator (1) dead"),
   * which kept the group from settling; a commit left queued also holds up a lost assignment's unassign.
   * Positions are cumulative: the first commit after the coordinator is back carries them all.
   */
  private scheduleCommit(): void {
    if (this.commitTimer !== null || this.stopReason) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = null;
      const group = this.source.groupState();
      if (group !== null && group.state !== 'up') return this.scheduleCommit();
      this.source.commit(this.tracker.takeCommits());
    }, this.config.engine.commitIntervalMs);
  }

  /** --until-caught-up on a terminal: one line, rewritten in place: rate, rows, what is left, ETA. */
  private progressLine(): void {
    const now = process.hrtime.bigint();
    const seconds = this.firstRecordAt ? Number(now - this.firstRecordAt) / 1e9 : 0;
    const rate = seconds > 0 ? this.rows / seconds : 0;
    const left = this.partitions.remaining();
    const eta = rate > 0 && left !== null ? `${Math.ceil(left / rate)} s` : '?';
    process.stderr.write(`\r\x1b[K${Math.round(rate)} rows/s, ${this.rows} rows, ${left ?? '?'} records to go, ETA ${eta}`);
  }

  /**
   * The periodic progress line. The rate is over the last interval, not since start: a stalled engine
   * shows 0 rows/s at once (an average would only fall slowly). The lag is from librdkafka's cached end
   * offsets (no request to the broker).
   */
  private progress(): void {
    const now = process.hrtime.bigint();
    const last = this.lastProgress;
    this.lastProgress = { at: now, rows: this.rows };
    const rate = last ? ((this.rows - last.rows) * 1e9) / Number(now - last.at) : 0;
    const lag = this.partitions.lag();
    log.info(
      `progress: ${this.records} records polled, ${this.rows} rows durable, ${rate.toFixed(0)} rows/s over the last ${last ? (Number(now - last.at) / 1e9).toFixed(0) : 0} s, ` +
        `lag ${lag ?? '?'} records, ${this.tracker.size} partitions, ring ${((100 * this.ring.usedBytes) / this.ring.capacity).toFixed(0)}% used`,
    );
  }
}

/**
 * This process's highest RSS. Not getrusage's maxrss: Linux carries that over exec from the forked copy of
 * the parent, so a child of a large process (a benchmark that produced millions of records, a supervisor)
 * would report its parent's size. VmHWM belongs to this process's own address space.
 */
export function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: maxrss is the best there is.
  }
  return process.resourceUsage().maxRSS * 1024;
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}
