import type { ClientBase } from 'pg';
import type { EngineConfig } from '../config/types';
import type { WorkerPipeline } from '../decode/column-plan';
import { EngineError, ErrorCodes } from '../errors';
import { evolution, writerColumns } from '../sink/evolve-table';
import { describeTable, type TableColumn } from '../sink/table-columns';

/** A writer schema that made the engine start again, kept for the next start's plan. */
export interface EvolvedSchema {
  pipeline: number;
  id: number;
  /** The registry's JSON for it (schema-registry.ts). */
  registered: string;
}

/**
 * [Tables] evolve: a registry writer schema that the table or the running column plan does not fit. The
 * engine stops cleanly (the batches of earlier records land and commit), and cli/main.ts starts it again
 * with the schema: the plan runs the DDL under the lock (plan.ts) and writes the new columns. Not a
 * failure: like TopicsChanged.
 */
export class TablesChanged extends EngineError {
  constructor(
    /** null: nothing to apply, only to plan again (another engine altered the table). */
    readonly schema: EvolvedSchema | null,
    pipelineName: string,
    why: string,
  ) {
    super(ErrorCodes.TABLES_CHANGED, `pipeline ${pipelineName}: ${why}: starting again with the table evolved`);
  }
}

/**
 * Decides, for each writer schema the registry gives a pipeline with `evolve: true`, whether its records
 * can go on with this plan (SchemaGate's admit hook, before the first of them enters the ring), and
 * whether a COPY refused for its bytes means another engine of the group altered the table (BatchWriter).
 */
export class SchemaEvolution {
  constructor(
    private readonly config: EngineConfig,
    /** Each pipeline's column plan, and its table's columns as the plan read them (null: the table is to be created). */
    private readonly plans: ReadonlyArray<{ worker: WorkerPipeline; table: TableColumn[] | null }>,
  ) {}

  get enabled(): boolean {
    return this.config.pipelines.some((p) => p.evolve);
  }

  pipelineName(pipeline: number): string {
    return this.config.pipelines[pipeline].name;
  }

  watches(pipeline: number): boolean {
    return this.config.pipelines[pipeline].evolve;
  }

  /**
   * The schema table entry to publish for the schema: the registry's own, or an error its records fail
   * with (what cannot evolve without losing data, with the DDL it would need). Throws TablesChanged
   * when the table needs DDL or the plan misses a column the table has.
   */
  admit(pipeline: number, id: number, registered: string): string {
    const p = this.config.pipelines[pipeline];
    if (!p.evolve) return registered;
    let writer;
    try {
      writer = writerColumns(p, registered);
    } catch {
      return registered; // not a schema this can read: the worker reports it on the records that name it
    }
    // upsert/cdc with tombstones: the gate fetches the keys' schemas too; a key's fields are the merge key.
    if (p.merge !== null && writer.every((f) => p.merge!.key.includes(f.name))) return registered;
    const schema = { pipeline, id, registered };
    const { table, worker } = this.plans[pipeline];
    if (table === null) throw new TablesChanged(schema, p.name, `schema id ${id} is the first, and ${p.table} is to be created from it`);
    const wanted = evolution(p, table, writer);
    if (wanted.refused.length > 0) {
      const error = `schema id ${id} does not fit table ${p.table} without losing data (evolve): ${wanted.refused.join('; ')}`;
      return JSON.stringify({ error, code: ErrorCodes.SCHEMA_EVOLUTION });
    }
    if (wanted.statements.length > 0) throw new TablesChanged(schema, p.name, `schema id ${id} needs ${wanted.statements.join('; ')}`);
    const planned = new Set(worker.columns.map((c) => c.name));
    const unwritten = writer.filter((f) => !planned.has(f.name) && table.some((c) => c.name === f.name && !c.generated) && !Object.values(p.columns).includes(f.name));
    if (unwritten.length > 0) throw new TablesChanged(schema, p.name, `schema id ${id} has fields this engine does not write yet (${unwritten.map((f) => f.name).join(', ')})`);
    return registered;
  }

  /**
   * After a COPY of this pipeline's failed for its bytes (08P01, 22P03): true when the table's columns no
   * longer have the types the plan encodes (another engine altered it for a newer schema). Runs in the
   * caller's fresh transaction.
   */
  async changedUnder(client: ClientBase, pipeline: number): Promise<boolean> {
    const p = this.config.pipelines[pipeline];
    const now = new Map((await describeTable(client, p.tableSql, p.table)).map((c) => [c.name, c]));
    return this.plans[pipeline].worker.columns.some((c) => {
      const col = now.get(c.name);
      return col === undefined || col.typname !== c.type.typname || col.elemTypname !== c.type.elemTypname;
    });
  }
}

/** A COPY refused for the shape of its binary data: 08P01 (a value shorter than its type), 22P03 (malformed). */
export function isBinaryFormatError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '08P01' || code === '22P03';
}
