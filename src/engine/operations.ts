import type { Batch } from '../batcher/batcher';
import type { CommitTracker } from '../commit/commit-tracker';
import type { EngineConfig } from '../config/types';
import type { DecodePool } from '../decode/pool';
import { EngineMetrics } from '../metrics/metrics';
import { Readiness } from '../metrics/readiness';
import { MetricsServer } from '../metrics/server';
import type { RingWriter } from '../ring/ring-writer';
import type { Sink } from '../sink/pg-sink';
import type { ChunkWork } from '../ring/chunk-work';
import type { ChunkPoller } from '../source/poller';
import type { ConsumerClient } from '../source/source';

/** The engine's parts the operator's view reads (at scrape time, not on the hot path). */
export interface OperatedParts {
  tracker: CommitTracker;
  ring(): RingWriter | undefined;
  pool(): DecodePool | undefined;
  poller(): ChunkPoller | undefined;
  source(): ConsumerClient | undefined;
}

/**
 * The operator's view of a running engine: the metrics (updated per chunk and per batch by the engine,
 * gauges read at scrape time), the HTTP endpoints, and readiness.
 */
export class Operations {
  readonly metrics = new EngineMetrics();
  readonly readiness: Readiness;
  private server: MetricsServer | null = null;
  private recordsInFlight = 0;
  private copiesSeen = 0;

  constructor(
    private readonly config: EngineConfig,
    private readonly sink: Sink,
    private readonly parts: OperatedParts,
  ) {
    this.readiness = new Readiness(config.postgres, () => sink.retrying, () => sink.server);
  }

  /** Serves /metrics, /healthz and /readyz when metrics.port is set; resolves with the port (or null). */
  async serve(): Promise<number | null> {
    const { port, host } = this.config.metrics;
    if (port === null) return null;
    this.server = new MetricsServer(this.metrics.registry, () => this.readiness.checks(), () => this.refresh());
    const bound = await this.server.serve(host, port);
    this.readiness.start(() => this.parts.source(), this.parts.tracker, this.metrics);
    return bound;
  }

  chunkPolled(chunk: ChunkWork): void {
    this.metrics.recordsConsumed.inc(chunk.region.frames);
    this.recordsInFlight += chunk.region.frames;
  }

  chunkSettled(chunk: ChunkWork): void {
    this.recordsInFlight -= chunk.region.frames;
  }

  batchWritten(batch: Batch, pipeline: string, rows: number, seconds: number, copies: number): void {
    const labels = { pipeline };
    const m = this.metrics;
    m.rowsWritten.inc(labels, rows);
    m.batches.inc(labels);
    m.batchRows.observe(labels, rows);
    m.batchBytes.observe(labels, batch.bytes);
    m.copySeconds.observe(labels, seconds);
    m.copies.inc(copies - this.copiesSeen);
    this.copiesSeen = copies;
    const now = Date.now();
    for (const part of batch.parts) {
      if (part.rows > 0 && part.chunk.firstTimestamp > 0) m.latencySeconds.observe(labels, Math.max(0, now - part.chunk.firstTimestamp) / 1000);
    }
  }

  /** Gauges that are cheaper to read when Prometheus asks than to keep current. */
  private refresh(): void {
    const m = this.metrics;
    for (const [check, { ok }] of Object.entries(this.readiness.checks())) m.ready.set({ check }, ok ? 1 : 0);
    const ring = this.parts.ring();
    if (ring) {
      m.ringUsedBytes.set(ring.usedBytes);
      m.ringCapacityBytes.set(ring.capacity);
    }
    m.recordsInFlight.set(this.recordsInFlight);
    const pool = this.parts.pool();
    if (pool) {
      m.chunksWaiting.set(pool.waiting);
      m.workerBusy.set(pool.busyRatio);
    }
    m.assignedPartitions.set(this.parts.tracker.size);
    for (const t of this.parts.tracker.all()) {
      const labels = { topic: t.topic, partition: String(t.partition) };
      if (t.polled >= 0) m.consumedOffset.set(labels, t.polled);
      if (t.watermark >= 0) m.committedOffset.set(labels, t.watermark);
    }
    m.paused.set({ reason: 'ring_full' }, this.parts.poller()?.waitingForSpace ? 1 : 0);
    m.paused.set({ reason: 'postgres_retrying' }, this.sink.retrying === null ? 0 : 1);
    const server = this.sink.server;
    m.pgServer.reset();
    if (server) m.pgServer.set({ host: server.host, role: server.role }, 1);
    const since = this.sink.unwritableSince;
    m.pgUnwritableSeconds.set(since === null ? 0 : (Date.now() - since) / 1000);
  }

  async close(): Promise<void> {
    await this.readiness.stop();
    await this.server?.close();
  }
}
