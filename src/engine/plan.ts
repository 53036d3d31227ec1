import type { EngineConfig } from '../config/types';
import { copyTarget, planColumns, type WorkerPipeline } from '../decode/column-plan';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import type { PgSink } from '../sink/pg-sink';
import { describeTable } from '../sink/table-columns';

export interface PipelinePlan {
  worker: WorkerPipeline;
  /** `table (col, ...)` for the COPY statement. */
  copyTarget: string;
}

/**
 * Reads every target table from the catalog and maps records onto it; all mismatches are reported at
 * once, before anything is consumed.
 */
export async function planPipelines(config: EngineConfig, sink: PgSink): Promise<PipelinePlan[]> {
  const problems: string[] = [];
  const plans: PipelinePlan[] = [];
  const client = await sink.acquire();
  try {
    for (const [i, p] of config.pipelines.entries()) {
      const at = `pipelines[${i}]`;
      try {
        const columns = await describeTable(client, p.table);
        const worker = planColumns(p, at, columns, problems);
        plans.push({ worker, copyTarget: copyTarget(p.table, worker.columns) });
      } catch (err) {
        problems.push(`${at}.table: ${messageOf(err)}`);
      }
    }
  } finally {
    sink.release(client);
  }
  if (problems.length > 0) {
    throw new EngineError(ErrorCodes.TABLE_MAPPING, `the pipelines do not fit their tables:\n  ${problems.join('\n  ')}`);
  }
  return plans;
}
