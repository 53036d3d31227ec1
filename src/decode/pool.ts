import path from 'node:path';
import Piscina from 'piscina';
import type { DecodeResult, DecodeTask, DecodeWorkerData } from './task';

/**
 * The decode worker pool. The ring and the pipeline specs go to each worker once (workerData); a task
 * is three integers naming a chunk, so Piscina's per-task cost is paid per chunk, not per record.
 */
export class DecodePool {
  private readonly pool: Piscina<DecodeTask, DecodeResult>;

  constructor(workers: number, data: DecodeWorkerData) {
    this.pool = new Piscina({
      filename: path.join(__dirname, 'worker.js'),
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData: data,
    });
  }

  run(task: DecodeTask): Promise<DecodeResult> {
    return this.pool.run(task);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
