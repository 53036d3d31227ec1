import type { BatchConfig } from '../config/types';
import type { ChunkWork } from '../ring/chunk-work';

/** One chunk's rows for one pipeline. */
export interface BatchPart {
  chunk: ChunkWork;
  rows: number;
  bytes: Uint8Array;
  /** Ring position of each row's frame (PipelineRows.frames). */
  frames: Int32Array;
}

export interface Batch {
  pipeline: number;
  parts: BatchPart[];
  rows: number;
  bytes: number;
}

interface Open {
  parts: BatchPart[];
  rows: number;
  bytes: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Gathers decoded chunks per pipeline into COPY-sized batches, independent of how many messages one poll
 * returned: a batch is emitted when it reaches maxRows or maxBytes, or maxWaitMs after its first chunk.
 * A batch may overshoot maxRows/maxBytes by at most one chunk.
 */
export class Batcher {
  private readonly open: Open[];

  constructor(
    private readonly configs: readonly BatchConfig[],
    private readonly emit: (batch: Batch) => void,
  ) {
    this.open = configs.map(() => ({ parts: [], rows: 0, bytes: 0, timer: null }));
  }

  add(pipeline: number, part: BatchPart): void {
    const o = this.open[pipeline];
    o.parts.push(part);
    o.rows += part.rows;
    o.bytes += part.bytes.length;
    const cfg = this.configs[pipeline];
    if (o.rows >= cfg.maxRows || o.bytes >= cfg.maxBytes) this.flush(pipeline);
    else if (o.timer === null) o.timer = setTimeout(() => this.flush(pipeline), cfg.maxWaitMs);
  }

  flush(pipeline: number): void {
    const o = this.open[pipeline];
    if (o.timer !== null) clearTimeout(o.timer);
    o.timer = null;
    if (o.parts.length === 0) return;
    const batch: Batch = { pipeline, parts: o.parts, rows: o.rows, bytes: o.bytes };
    o.parts = [];
    o.rows = 0;
    o.bytes = 0;
    this.emit(batch);
  }

  flushAll(): void {
    for (let i = 0; i < this.open.length; i++) this.flush(i);
  }

  /** Rows waiting in open batches. */
  get bufferedRows(): number {
    return this.open.reduce((n, o) => n + o.rows, 0);
  }
}
