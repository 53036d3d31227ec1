import type { EngineConfig } from '../config/types';
import { copyTarget, planColumns, type WorkerPipeline } from '../decode/column-plan';
import { planRoutes } from '../decode/record-routes';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import type { Sink } from '../sink/pg-sink';
import { MergePlan } from '../sink/merge';
import { describeTable, uniqueKeys } from '../sink/table-columns';
import { createIfMissing, createStatements, createTableDdl, tableExists } from '../sink/create-table';
import { evolveTable, writerColumns, writerSchemaText } from '../sink/evolve-table';
import type { TableColumn } from '../sink/table-columns';
import { log } from '../log';
import type { EvolvedSchema } from './evolve';

export interface PipelinePlan {
  worker: WorkerPipeline;
  /** `table (col, ...)` for the COPY statement. */
  copyTarget: string;
  /** upsert and cdc: the staging table and the merge statement. */
  merge: MergePlan | null;
  /** The table's columns as planned (null: an evolve pipeline's table to be made from its first writer schema). */
  table: TableColumn[] | null;
}

/**
 * Reads every target table from the catalog and maps records onto it; all mismatches are reported at
 * once, before anything is consumed.
 */
export async function planPipelines(config: EngineConfig, sink: Sink, evolved: readonly EvolvedSchema[] = []): Promise<PipelinePlan[]> {
  const problems: string[] = [];
  const plans: PipelinePlan[] = [];
  const creates = createStatements(config);
  const client = await sink.acquire();
  try {
    const routedColumns = new Map<number, Set<string>>();
    for (const [i, p] of config.pipelines.entries()) {
      const at = p.routeOf === null ? `pipelines[${i}]` : `pipelines[${p.routeOf}] (routed to ${p.table})`;
      if (p.routes !== null) {
        // [Tables] Reads the topics; its route pipelines (after the configured ones) write the tables.
        plans.push({ ...noRows(p), worker: { ...noRows(p).worker, routes: planRoutes(p, at, problems) } });
        continue;
      }
      if (p.watchOnly) {
        // A table-template pattern kept to see new topics (config/table-template.ts): it never gets a row.
        plans.push(noRows(p));
        continue;
      }
      try {
        const schemas = evolved.filter((e) => e.pipeline === i);
        // [Tables] evolve + create without a schema file: the table is made from the first writer schema,
        // which the engine has not met yet: no rows until then (engine/evolve.ts starts it again).
        if (p.evolve && p.create !== null && p.schemaText === null && schemas.length === 0 && !(await tableExists(client, p.tableSql))) {
          plans.push(noRows(p));
          continue;
        }
        const statements = p.evolve && p.schemaText === null && schemas.length > 0 ? createTableDdl({ ...p, schemaText: writerSchemaText(schemas[0].registered) }, at, problems) : creates[i];
        // [Tables] create: the table from the schema when it is missing (once across the group: a lock).
        if (await createIfMissing(client, p, statements)) log.info(`pipeline ${p.name}: created table ${p.table}:\n${statements.join(';\n')}`);
        const fields = new Set<string>();
        for (const e of schemas) {
          const writer = writerColumns(p, e.registered);
          for (const f of writer) fields.add(f.name);
          const done = await evolveTable(client, p, writer);
          if (done.statements.length > 0) log.info(`pipeline ${p.name}: altered table ${p.table} for schema id ${e.id}:\n${done.statements.join(';\n')}`);
        }
        const columns = await describeTable(client, p.tableSql, p.table);
        // [Tables] A route pipeline writes the columns: entries its table has (the others are other tables').
        const own = p.routeOf === null ? p : { ...p, columns: Object.fromEntries(Object.entries(p.columns).filter(([c]) => columns.some((t) => t.name === c))) };
        if (p.routeOf !== null) for (const c of Object.keys(own.columns)) routedColumns.set(p.routeOf, (routedColumns.get(p.routeOf) ?? new Set()).add(c));
        const worker = planColumns(own, at, columns, problems, fields);
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
        plans.push({ worker, copyTarget: copyTarget(p.tableSql, worker.columns), merge, table: columns });
      } catch (err) {
        problems.push(`${at}.table: ${messageOf(err)}`);
      }
    }
    config.pipelines.forEach((p, i) => {
      if (p.routes === null) return;
      for (const c of Object.keys(p.columns)) {
        if (!routedColumns.get(i)?.has(c)) problems.push(`pipelines[${i}].columns.${c}: none of the routed tables (${Object.values(p.routes.tables).join(', ')}${p.routes.default === null ? '' : `, ${p.routes.default}`}) has a column "${c}"`);
      }
    });
  } finally {
    sink.release(client);
  }
  if (problems.length > 0) {
    throw new EngineError(ErrorCodes.TABLE_MAPPING, `the pipelines do not fit their tables:\n  ${problems.join('\n  ')}`);
  }
  return plans;
}

/** A pipeline that writes no rows (yet): a table-template pattern, a routed pipeline, or an evolve table to be created. */
function noRows(p: EngineConfig['pipelines'][number]): PipelinePlan {
  const worker: WorkerPipeline = { name: p.name, format: p.format, schemaText: p.schemaText, messageType: p.messageType, registry: p.registry !== null, columns: [], merge: null };
  return { worker, copyTarget: '', merge: null, table: null };
}
