import { writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync } from 'node:fs';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { BROKERS, DATABASE_URL, runCli, sql, unique, type CliRun } from './env';

export interface PipelineCase {
  format: 'avro' | 'protobuf' | 'json';
  /** Schema file text and its extension (written next to the config). */
  schema?: { text: string; ext: 'avsc' | 'proto' | 'json' };
  messageType?: string;
  registryUrl?: string;
  /** Column definitions of the target table (it gets a fresh name); null: not created here (create: does it). */
  tableColumns: string | null;
  /** Extra YAML lines under the pipeline (columns:, onRecordError: ...), indented by four spaces. */
  extra?: string;
  values: Buffer[];
  /** Headers of record i. */
  headers?: (i: number) => Array<Record<string, string | Buffer>>;
}

/** Produces the values to a fresh 1-partition topic, runs `engine start --until-caught-up`, returns the table name and the run. */
export async function runPipeline(c: PipelineCase): Promise<{ table: string; run: CliRun; topic: string }> {
  const topic = unique(`fmt_${c.format}`);
  const table = unique(`fmt_${c.format}`);
  await createTopic(topic, 1);
  await produce(topic, c.values.length, (i) => c.values[i], { partitions: 1, headers: c.headers });
  if (c.tableColumns !== null) await sql(`CREATE TABLE ${table} (${c.tableColumns})`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-fmt-'));
  if (c.schema) writeFileSync(path.join(dir, `schema.${c.schema.ext}`), c.schema.text);
  const config = path.join(dir, 'config.yaml');
  writeFileSync(
    config,
    `kafka: { brokers: "${BROKERS}", groupId: ${unique('fmt')} }
postgres: { url: "${DATABASE_URL}", connections: 1 }
engine: { workers: 1, ringBytes: 8MiB }
pipelines:
  - name: ${c.format}
    topics: [${topic}]
    format: ${c.format}
${c.schema ? `    schema: schema.${c.schema.ext}\n` : ''}${c.messageType ? `    messageType: ${c.messageType}\n` : ''}${c.registryUrl ? `    registry: { url: "${c.registryUrl}" }\n` : ''}    table: ${table}
${c.extra ?? ''}
`,
  );
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 60_000 });
  return { table, run, topic };
}
