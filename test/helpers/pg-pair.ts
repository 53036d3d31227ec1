import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { REPO } from './env';

/** scripts/pg-pair.sh: a primary (node a, 25432) and its streaming replica (node b, 25433). */
export const PAIR_PORTS = { a: 25432, b: 25433 } as const;
export type PairNode = keyof typeof PAIR_PORTS;
export const PAIR_URL = `postgres://root@127.0.0.1:${PAIR_PORTS.a},127.0.0.1:${PAIR_PORTS.b}/test?target_session_attrs=read-write`;

const run = promisify(execFile);

/** Runs a pg-pair.sh command; resolves with its output, rejects with it. */
export async function pair(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('bash', [path.join(REPO, 'scripts/pg-pair.sh'), ...args], { timeout: 180_000 });
  return stdout + stderr;
}

/** One query on one node of the pair (a connection of its own). */
export async function onNode<T extends Record<string, unknown>>(node: PairNode, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: `postgres://root@127.0.0.1:${PAIR_PORTS[node]}/test`, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function rowsOn(node: PairNode, table: string): Promise<{ rows: number; ids: number }> {
  const [r] = await onNode<{ rows: string; ids: string }>(node, `SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  return { rows: Number(r.rows), ids: Number(r.ids) };
}
