import { createWriteStream } from 'node:fs';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { order } from '../lib/orders';
import { runTimed, type Timed } from '../lib/measure';

/**
 * Contender "ceiling": `psql \copy` of the same rows from text files, one psql per connection, into
 * the same table: the server's own limit on this machine (no Kafka, no decoding).
 */
export async function writeCopyFiles(dir: string, count: number, files: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const paths = Array.from({ length: files }, (_, k) => path.join(dir, `rows-${k}.tsv`));
  const streams = paths.map((p) => createWriteStream(p));
  for (let i = 0; i < count; i++) {
    const o = order(i);
    const line = `${o.id}\t${o.user.id}\t${o.user.country ?? '\\N'}\t${o.sku}\t${o.amount}\t${new Date(o.created_at).toISOString()}\t{${o.tags.join(',')}}\t${JSON.stringify(o.attrs)}\n`;
    const s = streams[i % files];
    if (!s.write(line)) await new Promise<void>((resolve) => s.once('drain', () => resolve()));
  }
  await Promise.all(streams.map((s) => new Promise<void>((resolve) => s.end(() => resolve()))));
  return paths;
}

export async function runCeiling(files: string[], table: string, databaseUrl: string): Promise<Timed & { drainSeconds: number }> {
  const started = process.hrtime.bigint();
  const runs = await Promise.all(
    files.map((f) => runTimed('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-d', databaseUrl, '-c', `\\copy ${table} (id, user_id, country, sku, amount, created_at, tags, attrs) FROM '${f}'`])),
  );
  const drainSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const failed = runs.find((r) => r.code !== 0);
  if (failed) throw new Error(`psql \\copy failed: ${failed.stderr}`);
  return {
    code: 0, stdout: '', stderr: '', wallSeconds: drainSeconds, drainSeconds,
    cpuSeconds: runs.reduce((a, r) => a + r.cpuSeconds, 0), peakRssBytes: Math.max(...runs.map((r) => r.peakRssBytes)),
  };
}

export function removeCopyFiles(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
