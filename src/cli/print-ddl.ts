import type { ClientBase } from 'pg';
import type { EngineConfig, PipelineConfig } from '../config/types';
import { messageOf } from '../errors';
import { createTableDdl, tableExists } from '../sink/create-table';
import { evolution, writerColumns, writerSchemaText } from '../sink/evolve-table';
import { connectPg } from '../sink/pg-connection';
import { describeTable } from '../sink/table-columns';
import { RegistryClient } from '../source/schema-registry';

/**
 * `engine validate config.yaml --print-ddl`: what `start` would create (for a table that is missing;
 * nothing runs for one that exists) and, for `evolve:` pipelines, what the registry's latest writer schema
 * of each topic (subject TOPIC-value) would make it alter in the table as it is now. Never connects to
 * Kafka; reads the registry and PostgreSQL only for evolve pipelines.
 */
export async function printDdl(config: EngineConfig, creates: readonly string[][], out: (text: string) => void): Promise<void> {
  for (const [i, statements] of creates.entries()) {
    const p = config.pipelines[i];
    const which = p.tableTemplate === null ? `when ${p.table} is missing` : `per topic, when its table ${p.tableTemplate} is missing; for a topic named TOPIC`;
    if (statements.length > 0) out(`-- pipeline ${p.name}: ${which}\n${statements.join(';\n')};\n\n`);
  }
  const evolving = config.pipelines.filter((p) => p.evolve && p.registry !== null);
  if (evolving.length === 0) return;
  let client;
  try {
    client = await connectPg(config.postgres, { application_name: 'kafka-pg-engine validate' });
  } catch (err) {
    return out(`-- evolve: the tables cannot be read (${messageOf(err)}), so what evolve would alter is not shown\n`);
  }
  try {
    for (const p of evolving) await previewEvolve(client, p, out);
  } finally {
    await client.end();
  }
}

async function previewEvolve(client: ClientBase, p: PipelineConfig, out: (text: string) => void): Promise<void> {
  if (p.topicPattern !== null) out(`-- pipeline ${p.name}: topicPattern: its topics' schemas are compared with ${p.table} when the engine meets them\n\n`);
  const registry = new RegistryClient(p.registry!);
  try {
    for (const topic of p.topics ?? []) {
      const subject = `${topic}-value`;
      let latest;
      let writer;
      try {
        latest = await registry.fetchLatest(subject);
        writer = writerColumns(p, latest.registered);
      } catch (err) {
        out(`-- pipeline ${p.name}: the latest schema of subject ${subject} cannot be read: ${messageOf(err)}\n\n`);
        continue;
      }
      const what = `for schema id ${latest.id} (subject ${subject}, version ${latest.version})`;
      if (!(await tableExists(client, p.tableSql))) {
        const problems: string[] = [];
        const statements = p.create === null ? [] : createTableDdl({ ...p, schemaText: p.schemaText ?? writerSchemaText(latest.registered) }, p.name, problems);
        if (statements.length > 0) out(`-- pipeline ${p.name}: ${p.table} is missing; ${what} the engine would run\n${statements.join(';\n')};\n\n`);
        else out(`-- pipeline ${p.name}: ${p.table} is missing${problems.length > 0 ? `: ${problems.join('; ')}` : ' and create: is off'}\n\n`);
        continue;
      }
      const wanted = evolution(p, await describeTable(client, p.tableSql, p.table), writer);
      if (wanted.refused.length > 0) out(`-- pipeline ${p.name}: ${what} is refused (its records would fail with ENG_SCHEMA_EVOLUTION):\n${wanted.refused.map((r) => `--   ${r}`).join('\n')}\n\n`);
      else if (wanted.statements.length > 0) out(`-- pipeline ${p.name}: ${what} the engine would run\n${wanted.statements.join(';\n')};\n\n`);
      else out(`-- pipeline ${p.name}: ${what}: ${p.table} fits it, nothing to alter\n\n`);
    }
  } finally {
    registry.close();
  }
}
