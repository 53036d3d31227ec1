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
 *
 * `whenIdle` (the default): a batch is also emitted as soon as none of its pipeline is being written and
 * a connection is free, when its chunk arrives or when the pipeline's batch before it finishes
 * (`written`). A lightly loaded engine then writes a chunk at once instead of holding it for maxWaitMs,
 * and the chunks that arrive during a transaction go together in the next one: batches grow with the
 * load, as a database's group commit does, and under load maxRows, maxBytes and maxWaitMs cut them as
 * before (onto the other connections). One batch per pipeline at a time, not one per free connection:
 * two small transactions of the same partitions would only queue on each other's offsets rows.
 */
export class Batcher {
  private readonly open: Open[];
  /** Batches emitted and not yet written, per pipeline and in all. */
  private readonly writing: Int32Array;
  private writingAll = 0;

  constructor(
    private readonly configs: readonly BatchConfig[],
    private readonly emit: (batch: Batch) => void,
    /** How many batches the sink writes at once (its connections). */
    private readonly connections = 1,
  ) {
    this.open = configs.map(() => ({ parts: [], rows: 0, bytes: 0, timer: null }));
    this.writing = new Int32Array(configs.length);
  }

  add(pipeline: number, part: BatchPart): void {
    const o = this.open[pipeline];
    o.parts.push(part);
    o.rows += part.rows;
    o.bytes += part.bytes.length;
    const cfg = this.configs[pipeline];
    if (o.rows >= cfg.maxRows || o.bytes >= cfg.maxBytes || this.idle(pipeline)) this.flush(pipeline);
    else if (o.timer === null) o.timer = setTimeout(() => this.flush(pipeline), cfg.maxWaitMs);
  }

  /** A batch of `pipeline` was written (or failed): its connection is free. */
  written(pipeline: number): void {
    this.writing[pipeline]--;
    this.writingAll--;
    // The other pipelines first (one may have waited for a connection), this one last.
    const n = this.open.length;
    for (let k = 1; k <= n; k++) {
      const i = (pipeline + k) % n;
      if (this.open[i].parts.length > 0 && this.idle(i)) this.flush(i);
    }
  }

  private idle(pipeline: number): boolean {
    return this.configs[pipeline].whenIdle && this.writing[pipeline] === 0 && this.writingAll < this.connections;
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
    this.writing[pipeline]++;
    this.writingAll++;
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
