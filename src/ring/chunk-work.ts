import type { Piece } from '../commit/commit-tracker';
import type { RingChunk } from './ring-writer';

/**
 * The unit every stage passes: a chunk of ring frames on its way from the source through decode,
 * batching and COPY to the commit. The source makes it (one per closed ring chunk); `pending` counts the
 * pipelines whose rows of it are not yet durable; once settled, its pieces complete in the commit tracker.
 */
export interface ChunkWork {
  readonly region: RingChunk;
  /** Per partition, the last offset of this chunk's records, in poll order. */
  readonly pieces: Piece[];
  pending: number;
  settled: boolean;
  /** Exactly-once: the broker's acknowledgements of the chunk's dead-lettered records, which its offsets wait for. */
  deadLetters: Promise<void> | null;
  /** Kafka timestamp (ms) of the chunk's first record, for the end-to-end latency metric; -1 unknown. */
  firstTimestamp: number;
}
