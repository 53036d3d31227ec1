import type { CommitTracker, PartitionTrack, Piece } from '../commit/commit-tracker';
import { EngineError, ErrorCodes } from '../errors';
import type { ChunkWork } from '../ring/chunk-work';
import type { RingWriter } from '../ring/ring-writer';
import { encodeHeaders } from '../ring/headers';
import { frameBytes } from '../ring/layout';
import type { KafkaSource, Message } from './kafka-source';
import type { SchemaGate } from './schema-registry';
import type { TopicRoutes } from './routes';


/** What a poller is built with, besides its Kafka client. */
export interface PollerWiring {
  ring: RingWriter;
  tracker: CommitTracker;
  routes: TopicRoutes;
  onChunk: (chunk: ChunkWork) => void;
  options: PollerOptions;
  /** Called right after a poll returned nothing: no fetched message is outside the ring then. */
  onIdle: () => void;
  schemas: SchemaGate | null;
}

export interface PollerOptions {
  pollBatch: number;
  /** How long one poll waits for a first message; also bounds how long a stop waits for the poll. */
  pollTimeoutMs: number;
  /** A chunk closes when it holds this many bytes, so a task stays a fraction of the ring. */
  maxChunkBytes: number;
}

/**
 * What both polling loops share: the chunk being written and the partitions in it, closing a chunk into
 * per-partition pieces for the commit tracker, and waiting for ring space. When the ring is full a loop
 * stops polling (librdkafka's fetcher then stops at its queue limit) until chunks are released.
 */
export abstract class ChunkPoller {
  protected stopped = false;
  private spaceWaiter: (() => void) | null = null;
  /** Partitions that have records in the open chunk, and the open chunk's number (see PartitionTrack.openSeq). */
  private chunkTracks: PartitionTrack[] = [];
  private openSeq = 1;

  protected readonly ring: RingWriter;
  protected readonly tracker: CommitTracker;
  protected readonly routes: TopicRoutes;
  protected readonly options: PollerOptions;
  protected readonly onIdle: () => void;
  /** Registry pipelines: a record waits until its writer schema is in the shared schema table. */
  protected readonly schemas: SchemaGate | null;
  private readonly onChunk: (chunk: ChunkWork) => void;

  constructor(w: PollerWiring) {
    this.ring = w.ring;
    this.tracker = w.tracker;
    this.routes = w.routes;
    this.options = w.options;
    this.onIdle = w.onIdle;
    this.schemas = w.schemas;
    this.onChunk = w.onChunk;
  }

  /** Runs until stop(); rejects on a fatal error (a record larger than the ring). */
  abstract run(): Promise<void>;

  /** Forget cached lookups after a rebalance so revoked tracks are looked up again. */
  abstract invalidate(): void;

  /** Between polls, before a seek: messages of these partitions fetched but not yet written are dropped. */
  abstract dropPending(parts: ReadonlyArray<{ topic: string; partition: number }>): void;

  stop(): void {
    this.stopped = true;
    for (const b of this.barriers.splice(0)) b.skip();
    this.notifySpace();
  }

  /** Work waiting for the loop to be between two polls (see betweenPolls). */
  private readonly barriers: Array<{ run: () => Promise<void>; skip: () => void }> = [];

  /**
   * Runs `fn` on the polling loop between two polls: no poll is in flight and no chunk is open, so what
   * `fn` changes (tracks swapped, partitions sought) applies from the next message on. Resolves once `fn`
   * has run (or at once, without running it, if the loop stops first).
   */
  betweenPolls(fn: () => Promise<void> | void): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.barriers.push({ run: () => Promise.resolve().then(fn).then(resolve, reject), skip: resolve });
      this.notifySpace();
    });
  }

  /** Called by the loops at the top of each turn. */
  protected async runBarriers(): Promise<void> {
    while (this.barriers.length > 0) await this.barriers.shift()!.run();
  }

  /** Called when chunks are released; wakes the loop if it waits for ring space. */
  notifySpace(): void {
    const waiter = this.spaceWaiter;
    if (waiter) {
      this.spaceWaiter = null;
      waiter();
    }
  }

  /** Polling waits for ring space (PostgreSQL or the workers are behind). */
  get waitingForSpace(): boolean {
    return this.spaceWaiter !== null;
  }

  protected waitForSpace(): Promise<void> {
    return new Promise((resolve) => {
      this.spaceWaiter = resolve;
    });
  }

  /** Notes that the open chunk holds records of `track` up to `lastOffset`. */
  protected touch(track: PartitionTrack, lastOffset: number): void {
    if (track.openSeq !== this.openSeq) {
      track.openSeq = this.openSeq;
      this.chunkTracks.push(track);
    }
    track.openLast = lastOffset;
  }

  protected closeChunk(): void {
    if (this.chunkTracks.some((t) => t.needsSkipping)) this.skipFinished();
    const region = this.ring.close();
    if (region === null) return;
    const pieces: Piece[] = [];
    for (const track of this.chunkTracks) {
      pieces.push(track.open(track.openLast));
      track.polled = track.openLast + 1;
      track.openSeq = 0;
    }
    this.chunkTracks = [];
    this.openSeq++;
    this.onChunk({ region, pieces, pending: 0, settled: false, deadLetters: null, firstTimestamp: this.ring.timestampAt(region.start) });
  }

  /**
   * Exactly-once: records an earlier owner already made durable (ranges above its resume point, left by
   * batches that finished out of order before it died), and records of a fenced partition, are marked so
   * the workers pass over them; their offsets still count as finished.
   */
  private skipFinished(): void {
    const tracks = this.chunkTracks.filter((t) => t.needsSkipping);
    this.ring.skipOpenFrames((topicId, partition, offset) => {
      for (const t of tracks) if (t.partition === partition && t.topicId === topicId) return t.skips(offset);
      return false;
    });
  }

  protected tooLarge(where: string, size: number): EngineError {
    return new EngineError(
      ErrorCodes.RING_RECORD_TOO_LARGE,
      `record ${where} needs ${size} bytes but engine.ringBytes holds at most ${this.ring.maxFrameBytes}; raise engine.ringBytes`,
    );
  }
}

/**
 * The polling loop on node-rdkafka's JS API (engine.source: node-rdkafka): consume a batch of message
 * objects, write them into the ring as frames, close the chunk and hand it on. When the ring is full it
 * keeps the unwritten rest of the last batch (at most `pollBatch` messages) until space is freed.
 * Messages of partitions revoked since they were fetched are dropped here.
 */
export class MessagePoller extends ChunkPoller {
  private pending: Message[] = [];
  private index = 0;
  private lastTopic = '';
  private lastPartition = -1;
  private lastTrack: PartitionTrack | undefined;
  private lastPipeline = 0;
  private lastTopicId = 0;

  constructor(
    private readonly source: KafkaSource,
    w: PollerWiring,
  ) {
    super(w);
  }

  /** Runs until stop(); rejects on a fatal error (a record larger than the ring). */
  async run(): Promise<void> {
    while (!this.stopped) {
      await this.runBarriers();
      if (this.index < this.pending.length) {
        const drained = this.drain();
        if (drained === 'schema') await this.schemas!.fetchPending();
        else if (drained === 'full') await this.waitForSpace();
        continue;
      }
      const messages = await this.source.consume(this.options.pollBatch);
      if (this.stopped) break;
      this.pending = messages;
      this.index = 0;
      if (messages.length === 0) this.onIdle();
    }
    this.pending = [];
    this.index = 0;
  }

  /** Forget cached lookups after a rebalance so revoked tracks are looked up again. */
  invalidate(): void {
    this.lastTopic = '';
    this.lastTrack = undefined;
  }

  /** Messages fetched but not yet written of partitions that were just sought elsewhere are dropped. */
  dropPending(parts: ReadonlyArray<{ topic: string; partition: number }>): void {
    const moved = (m: Message) => parts.some((p) => p.partition === m.partition && p.topic === m.topic);
    this.pending = this.pending.slice(this.index).filter((m) => !moved(m));
    this.index = 0;
  }

  /** Writes pending messages into the ring, until all are in, the ring is full, or a schema is missing. */
  private drain(): 'done' | 'full' | 'schema' {
    const ring = this.ring;
    const messages = this.pending;
    while (this.index < messages.length) {
      const m = messages[this.index];
      let track = this.lastTrack;
      if (m.partition !== this.lastPartition || m.topic !== this.lastTopic || track === undefined || track.revoked) {
        track = this.lookup(m);
      }
      // A message fetched under an earlier assignment of the partition (see PartitionTrack.fetching), or below where this one starts.
      if (track === undefined || !track.fetching || track.draining || m.offset < track.floor) {
        this.index++;
        continue;
      }
      const value = m.value;
      if (this.schemas !== null && this.schemas.needs(this.lastPipeline, value ?? (this.schemas.keysFramed(this.lastPipeline) ? keyBytes(m.key) : null))) {
        this.closeChunk();
        return 'schema';
      }
      const key = typeof m.key === 'string' ? Buffer.from(m.key) : (m.key);
      const headers = m.headers === undefined ? null : encodeHeaders(m.headers);
      if (!ring.write(this.lastPipeline, this.lastTopicId, m.partition, m.offset, m.timestamp ?? -1, key, value, headers)) {
        if (ring.openFrameCount > 0) {
          this.closeChunk();
          continue;
        }
        const size = frameBytes(key ? key.length : -1, value ? value.length : -1, headers ? headers.length : 0);
        if (size > ring.maxFrameBytes) throw this.tooLarge(`${m.topic}[${m.partition}]@${m.offset}`, size);
        return 'full';
      }
      this.touch(track, m.offset);
      this.index++;
      if (ring.openBytes >= this.options.maxChunkBytes) this.closeChunk();
    }
    this.closeChunk();
    return 'done';
  }

  private lookup(m: Message): PartitionTrack | undefined {
    const track = this.tracker.get(m.topic, m.partition);
    const route = this.routes.get(m.topic);
    this.lastTopic = m.topic;
    this.lastPartition = m.partition;
    this.lastTrack = track;
    if (route) {
      this.lastPipeline = route.pipeline;
      this.lastTopicId = route.id;
    }
    return route ? track : undefined;
  }
}

function keyBytes(key: Buffer | string | null | undefined): Buffer | null {
  return typeof key === 'string' ? Buffer.from(key) : key ?? null;
}
