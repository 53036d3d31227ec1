import path from 'node:path';
import Piscina from 'piscina';
import { ErrorCodes, messageOf, type EngineErrorData } from '../errors';
import { log } from '../log';
import { FrameReader } from '../ring/frame-reader';
import { PIPELINE_SKIP } from '../ring/layout';
import type { DecodeResult, DecodeTask, DecodeWorkerData, RecordFailure } from './task';

/**
 * The decode worker pool. The ring and the pipeline specs go to each worker once (workerData); a task
 * is three integers naming a chunk, so Piscina's per-task cost is paid per chunk, not per record.
 *
 * A worker never throws on a record (failures come back as data), but one can still die (out of memory
 * on a monstrous record, a bug). Piscina replaces it; the chunk is tried once more on the new worker, and
 * if that dies too every record of the chunk comes back as a failure (ENG_WORKER_FAILED), which the
 * pipeline's onRecordError handles one by one (dead-letter, skip or fail).
 */
export class DecodePool {
  private readonly pool: Piscina<DecodeTask, DecodeResult>;
  private readonly reader: FrameReader;

  constructor(workers: number, data: DecodeWorkerData, filename = path.join(__dirname, 'worker.js')) {
    this.pool = new Piscina({
      filename,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData: data,
    });
    this.reader = new FrameReader(data.ring);
  }

  async run(task: DecodeTask): Promise<DecodeResult> {
    try {
      return await this.pool.run(task);
    } catch (first) {
      log.warn(`a decode worker failed on the chunk at ring position ${task.start} (${messageOf(first)}); trying it once more`);
      try {
        return await this.pool.run(task);
      } catch (second) {
        const error: EngineErrorData = { code: ErrorCodes.WORKER_FAILED, message: `the decode worker failed twice on this record's chunk: ${messageOf(second)}`, retriable: false };
        return failEveryRecord(this.reader, task, error);
      }
    }
  }

  /** Chunks waiting for a free worker. */
  get waiting(): number {
    return this.pool.queueSize;
  }

  /** Share of the pool's time spent running tasks since it started (Piscina's utilization). */
  get busyRatio(): number {
    return this.pool.utilization;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** Every record of the chunk as a failure with `error` (tombstones stay tombstones). */
export function failEveryRecord(reader: FrameReader, task: DecodeTask, error: EngineErrorData): DecodeResult {
  const failures: RecordFailure[] = [];
  let tombstones = 0;
  let skipped = 0;
  reader.acquire();
  for (let pos = task.start, n = 0; n < task.frames && pos < task.end; n++, pos += reader.frameBytes) {
    reader.at(pos);
    if (reader.pipeline === PIPELINE_SKIP) skipped++;
    else if (reader.valueLength < 0) tombstones++;
    else failures.push({ pos, pipeline: reader.pipeline, topicId: reader.topicId, partition: reader.partition, offset: reader.offset, error });
  }
  return { outputs: [], failures, tombstones, skipped, transcoded: 0, generated: 0, decodeMs: 0, fatal: null };
}
