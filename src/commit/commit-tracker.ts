/**
 * Per-partition commit positions: the offset after the longest contiguous run of polled records whose
 * rows are durable. Work is registered in poll order as pieces (one per chunk and partition); pieces
 * complete in any order; the watermark only moves over a finished prefix.
 *
 * Rebalance epochs: a revoked partition's track is marked revoked and dropped, so completions of work
 * polled before the revoke reach a dead track and change nothing. A re-assigned partition gets a fresh
 * track with a new epoch.
 */

export interface Piece {
  readonly track: PartitionTrack;
  /** Offsets [first, lastOffset] are this piece's: its records, and gaps (compacted, transaction markers) before them. -1 when the start is unknown. */
  readonly first: number;
  readonly lastOffset: number;
  done: boolean;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

export class PartitionTrack {
  revoked = false;
  /** Being revoked: its work in flight finishes, new messages of it are dropped, then it is revoked. */
  draining = false;
  /**
   * librdkafka was told where this assignment starts (between two polls): messages of the partition polled
   * before then were fetched under an earlier assignment (a consume in flight across the rebalance, or
   * the poller's unwritten rest) and are dropped, as the partition is fetched again from its start.
   */
  fetching = false;
  /** Next offset to consume after everything durable; -1 until known. */
  watermark: number;
  /** Last offset handed to Kafka's commit (or read from it); -1 when none. */
  committed = -1;
  /** Next offset after the last record polled into a chunk; -1 before the first. */
  polled = -1;
  /** The poller's scratch while it writes a chunk: the chunk seq that last touched this partition, and its last offset. */
  openSeq = 0;
  openLast = -1;
  /** The pipeline this partition's topic feeds, and the topic's id in ring frames. */
  pipeline = 0;
  topicId = -1;
  /** Exactly-once: the owner epoch claimed in the offsets table; a write with an older one is refused. */
  ownerEpoch = 0;
  /** Exactly-once: ranges [from, to) above the start that an earlier owner already made durable; their records are skipped. */
  skip: Array<[number, number]> = [];
  /** Exactly-once: another process owns this partition now (its epoch is newer); nothing more of it is written. */
  fenced = false;
  /** First offset of the next piece: the end of the last one, or the start. */
  private nextFirst: number;
  private pieces: Piece[] = [];
  private head = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly epoch: number,
    start: number,
  ) {
    this.watermark = start;
    this.nextFirst = start;
  }

  /** Exactly-once: where consumption started (set by the claim); records below it are not this assignment's. -1 unknown. */
  floor = -1;

  /** Sets where the partition starts, before anything of it was polled. */
  start(offset: number): void {
    this.watermark = offset;
    this.nextFirst = offset;
    this.floor = offset;
  }

  /** Registers polled work up to lastOffset (inclusive); pieces must be opened in offset order. */
  open(lastOffset: number): Piece {
    const piece: Piece = { track: this, first: this.nextFirst, lastOffset, done: false };
    this.nextFirst = lastOffset + 1;
    this.pieces.push(piece);
    return piece;
  }

  /** Pieces opened and not yet folded into the watermark. */
  get inFlight(): number {
    return this.pieces.length - this.head;
  }

  /** Advances the watermark over the finished prefix; true if it moved. */
  advance(): boolean {
    const start = this.head;
    while (this.head < this.pieces.length && this.pieces[this.head].done) {
      this.watermark = this.pieces[this.head].lastOffset + 1;
      this.head++;
    }
    if (this.head > 256 && this.head * 2 > this.pieces.length) {
      this.pieces = this.pieces.slice(this.head);
      this.head = 0;
    }
    return this.head !== start;
  }

  /** Whether the open chunk's records of this partition need a look before it is published (see ChunkPoller). */
  get needsSkipping(): boolean {
    return this.fenced || (this.skip.length > 0 && this.skip[0][0] <= this.openLast) || this.openLast < this.floor;
  }

  /** Exactly-once: the record at `offset` was finished by an earlier owner (or is fenced). Drops ranges passed by. */
  skips(offset: number): boolean {
    if (this.fenced || offset < this.floor) return true;
    while (this.skip.length > 0 && this.skip[0][1] <= offset) this.skip.shift();
    return this.skip.length > 0 && this.skip[0][0] <= offset;
  }

  get dirty(): boolean {
    return !this.revoked && !this.fenced && this.watermark >= 0 && this.watermark !== this.committed;
  }
}

export class CommitTracker {
  private readonly tracks = new Map<string, Map<number, PartitionTrack>>();
  private epoch = 0;

  assign(topic: string, partition: number, start = -1): PartitionTrack {
    this.revoke(topic, partition);
    let byPartition = this.tracks.get(topic);
    if (!byPartition) {
      byPartition = new Map();
      this.tracks.set(topic, byPartition);
    }
    const track = new PartitionTrack(topic, partition, ++this.epoch, start);
    byPartition.set(partition, track);
    return track;
  }

  revoke(topic: string, partition: number): PartitionTrack | undefined {
    const byPartition = this.tracks.get(topic);
    const track = byPartition?.get(partition);
    if (!track) return undefined;
    track.revoked = true;
    byPartition!.delete(partition);
    return track;
  }

  get(topic: string, partition: number): PartitionTrack | undefined {
    return this.tracks.get(topic)?.get(partition);
  }

  /** Marks pieces finished; returns true if any live partition's watermark moved. */
  complete(pieces: readonly Piece[]): boolean {
    let moved = false;
    for (const piece of pieces) piece.done = true;
    for (const piece of pieces) {
      if (!piece.track.revoked && piece.track.advance()) moved = true;
    }
    return moved;
  }

  /** Positions to commit now (watermarks that moved since the last call); marks them committed. */
  takeCommits(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const track of this.all()) {
      if (track.dirty) {
        out.push({ topic: track.topic, partition: track.partition, offset: track.watermark });
        track.committed = track.watermark;
      }
    }
    return out;
  }

  /**
   * Positions whose commit the broker refused: those partitions count as uncommitted again, so that the
   * next takeCommits sends their watermarks (a later, cumulative position wins anyway). True if any is
   * still owned.
   */
  recommit(failed: readonly TopicPartitionOffset[]): boolean {
    let any = false;
    for (const f of failed) {
      const track = this.get(f.topic, f.partition);
      if (!track || track.revoked || track.fenced) continue;
      track.committed = -1;
      any = true;
    }
    return any;
  }

  /** Current watermarks of the given live partitions (for a final or revoke-time commit). */
  positions(filter?: (t: PartitionTrack) => boolean): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const track of this.all()) {
      if (track.watermark >= 0 && (!filter || filter(track))) {
        out.push({ topic: track.topic, partition: track.partition, offset: track.watermark });
      }
    }
    return out;
  }

  *all(): IterableIterator<PartitionTrack> {
    for (const byPartition of this.tracks.values()) yield* byPartition.values();
  }

  get size(): number {
    let n = 0;
    for (const byPartition of this.tracks.values()) n += byPartition.size;
    return n;
  }
}
