import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { DEFAULT_MEMORY } from '../src/config/memory';
import { DEFAULT_BROKERS, deleteTopic } from './lib/kafka-tools';
import { ORDER_SCHEMA_PATH } from './lib/orders';
import { DATABASE_URL, pgQuery, prepareOrders, runEngine } from './lib/scenario';

/**
 * [Operate] memory: the engine at default settings (engine.memory, default 128MiB) draining a backlog of each
 * size in --records, and once more with the target table locked for --lock-seconds in the middle. RSS of
 * the engine process is sampled every 250 ms from /proc. Prints a table and a JSON line.
 *   npm run bench -- memory [--records 1000000,5000000] [--partitions 8] [--lock-seconds 20] [--lock-records 1000000] [--memory 256MiB]
 */
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
}

function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Run {
  scenario: string;
  records: number;
  peakRssMiB: number;
  recordsPerSecond: number;
  /** Lock runs: the highest RSS before the lock and during it. */
  beforeLockMiB?: number;
  duringLockMiB?: number;
}

const MiB = 2 ** 20;

async function drain(records: number, partitions: number, lockSeconds: number, memory: string | null): Promise<Run> {
  const name = `bench_mem_${Date.now().toString(36)}`;
  const { topic, table } = await prepareOrders(name, records, partitions);
  const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-mem-')), 'config.yaml');
  // Default engine settings: only what the pipeline needs.
  writeFileSync(
    config,
    `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${name} }
postgres: { url: "${DATABASE_URL}" }
${memory ? `engine: { memory: ${memory} }\n` : ''}pipelines:
  - { name: orders, topics: [${topic}], format: avro, schema: "${ORDER_SCHEMA_PATH}", table: ${table}, columns: { user_id: user.id, country: user.country } }
`,
  );
  const samples: Array<{ at: number; bytes: number; phase: 'before' | 'lock' | 'after' }> = [];
  let phase: 'before' | 'lock' | 'after' = 'before';
  let locker: Promise<void> = Promise.resolve();
  const summary = await runEngine(config, { ENGINE_LOG_LEVEL: 'warn' }, (child) => {
    const timer = setInterval(() => samples.push({ at: Date.now(), bytes: rss(child.pid!), phase }), 250);
    child.on('exit', () => clearInterval(timer));
    if (lockSeconds > 0) {
      locker = (async () => {
        // Lock in the middle of the backlog: the engine has run at full speed for a while (the "before" that
        // the lock is compared with) and half of it is still in Kafka.
        for (;;) {
          const [r] = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
          if (Number(r.n) >= records / 2) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        const c = new Client({ connectionString: DATABASE_URL });
        await c.connect();
        await c.query('BEGIN');
        await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
        phase = 'lock';
        await new Promise((res) => setTimeout(res, lockSeconds * 1000));
        phase = 'after';
        await c.query('COMMIT');
        await c.end();
      })();
    }
  });
  await locker;
  await pgQuery(`DROP TABLE ${table}`);
  await deleteTopic(topic);
  const max = (phaseName?: string) => Math.round(Math.max(0, ...samples.filter((s) => !phaseName || s.phase === phaseName).map((s) => s.bytes)) / MiB);
  const run: Run = {
    scenario: lockSeconds > 0 ? `${records} records, table locked ${lockSeconds} s` : `${records} records`,
    records,
    peakRssMiB: Math.max(max(), Math.round(summary.peakRssBytes / MiB)),
    recordsPerSecond: Math.round(summary.recordsPerSecond),
  };
  if (lockSeconds > 0) {
    run.beforeLockMiB = max('before');
    run.duringLockMiB = max('lock');
  }
  return run;
}

async function main(): Promise<void> {
  // --records 0 runs only the lock scenario.
  const sizes = arg('records', '1000000,5000000').split(',').map(Number).filter((n) => n > 0);
  const partitions = Number(arg('partitions', '8'));
  const lockSeconds = Number(arg('lock-seconds', '20'));
  const lockRecords = Number(arg('lock-records', '1000000'));
  const memory = process.argv.includes('--memory') ? arg('memory', '256MiB') : null;
  const runs: Run[] = [];
  for (const n of sizes) {
    process.stderr.write(`- ${n} records\n`);
    runs.push(await drain(n, partitions, 0, memory));
  }
  if (lockSeconds > 0) {
    process.stderr.write(`- ${lockRecords} records with a ${lockSeconds} s table lock\n`);
    runs.push(await drain(lockRecords, partitions, lockSeconds, memory));
  }
  const rows = runs.map((r) => [r.scenario, String(r.peakRssMiB), String(r.recordsPerSecond), r.beforeLockMiB === undefined ? '-' : String(r.beforeLockMiB), r.duringLockMiB === undefined ? '-' : String(r.duringLockMiB), r.duringLockMiB === undefined ? '-' : String(r.duringLockMiB - r.beforeLockMiB!)]);
  const header = [`scenario (${memory ? `engine.memory ${memory}` : `default settings, engine.memory ${DEFAULT_MEMORY >> 20}MiB`})`, 'peak RSS MiB', 'records/s', 'max before lock', 'max during lock', 'lock growth MiB'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log([line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n'));
  console.log(JSON.stringify({ bench: 'memory', at: new Date().toISOString(), partitions, runs }));
}

main().catch((err: Error) => {
  console.error(`bench memory failed: ${err.message}`);
  process.exit(1);
});
