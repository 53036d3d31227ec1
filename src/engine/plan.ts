import type { EngineConfig } from '../config/types';
import { copyTarget, planColumns, type WorkerPipeline } from '../decode/column-plan';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import type { Sink } from '../sink/pg-sink';
import { MergePlan } from '../sink/merge';
import { describeTable, uniqueKeys } from '../sink/table-columns';
import { createIfMissing, createStatements } from '../sink/create-table';
import { log } from '../log';

export interface PipelinePlan {
  worker: WorkerPipeline;
  /** `table (col, ...)` for the COPY statement. */
  copyTarget: string;
  /** upsert and cdc: the staging table and the merge statement. */
  merge: MergePlan | null;
}

/**
 * Reads every target table from the catalog and maps records onto it; all mismatches are reported at
 * once, before anything is consumed.
 */
export async function planPipelines(config: EngineConfig, sink: Sink): Promise<PipelinePlan[]> {
  const problems: string[] = [];
  const plans: PipelinePlan[] = [];
  const creates = createStatements(config);
  const client = await sink.acquire();
  try {
    for (const [i, p] of config.pipelines.entries()) {
      const at = `pipelines[${i}]`;
      if (p.watchOnly) {
        // A table-template pattern kept to see new topics (config/table-template.ts): it never gets a row.
        const worker: WorkerPipeline = { name: p.name, format: p.format, schemaText: p.schemaText, messageType: p.messageType, registry: p.registry !== null, columns: [], merge: null };
        plans.push({ worker, copyTarget: '', merge: null });
        continue;
      }
      try {
        // [Tables] create: the table from the schema when it is missing (once across the group: a lock).
        if (await createIfMissing(client, p, creates[i])) log.info(`pipeline ${p.name}: created table ${p.table}:\n${creates[i].join(';\n')}`);
        const columns = await describeTable(client, p.tableSql, p.table);
        const worker = planColumns(p, at, columns, problems);
        let merge: MergePlan | null = null;
        if (p.merge !== null) {
          const keys = await uniqueKeys(client, p.tableSql);
          const wanted = [...p.merge.key].sort().join(',');
          if (!keys.some((k) => [...k].sort().join(',') === wanted)) {
            const known = keys.length === 0 ? 'it has none' : `its keys: ${keys.map((k) => `(${k.join(', ')})`).join(', ')}`;
            problems.push(`${at}.key: (${p.merge.key.join(', ')}) is not the primary key or a unique constraint of ${p.table} (${known}); mode ${p.merge.mode} merges by it`);
          }
          merge = new MergePlan(p.tableSql, worker.columns.map((c) => c.name), p.merge, i);
        }
        plans.push({ worker, copyTarget: copyTarget(p.tableSql, worker.columns), merge });
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
