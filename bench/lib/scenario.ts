import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { createTopic, produce } from './kafka-tools';
import { encodeOrder, ordersTableSql } from './orders';

export const REPO = path.resolve(__dirname, '../../..');
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';

export interface EngineSummary {
  reason: string;
  records: number;
  rows: number;
  seconds: number;
  drainSeconds: number;
  recordsPerSecond: number;
  /** CPU seconds of the engine process over the drain (all its threads). */
  drainCpuSeconds: number;
  peakRssBytes: number;
}

export async function pgQuery<T extends Record<string, unknown>>(text: string): Promise<T[]> {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** A fresh topic holding `records` reference orders and a fresh, empty table for them. */
export async function prepareOrders(name: string, records: number, partitions: number, progress = true, encode: (i: number) => Buffer = encodeOrder): Promise<{ topic: string; table: string }> {
  const topic = name;
  const table = name.replace(/[^a-z0-9_]/gi, '_');
  await createTopic(topic, partitions);
  const t0 = Date.now();
  await produce(topic, records, encode, {
    partitions,
    progressEvery: 100_000,
    onProgress: progress ? (n) => process.stderr.write(`  produced ${n}/${records}\r`) : undefined,
  });
  if (progress) process.stderr.write(`  produced ${records} records to ${topic} (${partitions} partitions) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  await pgQuery(`DROP TABLE IF EXISTS ${table}`);
  await pgQuery(ordersTableSql(table));
  return { topic, table };
}

/**
 * Runs `engine start <config> --until-caught-up` as its own process; its log goes to our stderr. `during`
 * gets the child; `nodeArgs` go to node before the script (e.g. --cpu-prof).
 */
export function runEngine(config: string, env: NodeJS.ProcessEnv, during?: (child: ChildProcess) => void, nodeArgs: string[] = []): Promise<EngineSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, path.join(REPO, 'dist/src/cli/main.js'), 'start', config, '--until-caught-up'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    during?.(child);
    child.on('exit', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('{"event":"summary"'));
      if (code !== 0 || !line) reject(new Error(`engine exited with ${code}`));
      else resolve(JSON.parse(line) as EngineSummary);
    });
  });
}

export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} needs a whole number`);
  return n;
}

/** A TCP port free on loopback right now (for an engine's metrics.port). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** An engine's /metrics as samples by `name{labels}` (labels as printed). */
export async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
