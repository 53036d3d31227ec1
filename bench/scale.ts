import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_BROKERS, deleteTopic } from './lib/kafka-tools';
import { ORDER_SCHEMA_PATH } from './lib/orders';
import { DATABASE_URL, flag, pgQuery, prepareOrders, REPO } from './lib/scenario';

/**
 * `npm run bench -- scale [--records 3000000] [--partitions 12] [--runs 2]`: how rebalances stall a drain.
 * A backlog of reference Avro orders is drained by one engine (exactly-once, 1 worker, 1 connection); at
 * 15 % of the rows a 2nd engine joins, at 30 % a 3rd, at 55 % the 3rd gets SIGTERM, at 70 % the 2nd. For
 * each group protocol / strategy (eager range, cooperative-sticky, KIP-848 consumer; their order rotates
 * from run to run), per rebalance:
 *   - stopped: how many of the partitions that kept their owner the protocol revoked and gave back (an
 *     eager strategy stops them all), and for how long (revoke to claim, from the engines' logs);
 *   - gap: the longest time such a partition went without a committed row (from written_at), to compare
 *     with the longest gap before any rebalance (an engine with a backlog reads its partitions in turns);
 *   - resume: how long after the event (the joiner's start, the leaver's SIGTERM) the new owners first
 *     wrote a partition that moved;
 * and the records/s of the whole drain; exactly-once is checked at the end (rows = distinct = records).
 */

const MODES = [
  { name: 'range (eager)', kafka: '  assignmentStrategy: range\n  config: { heartbeat.interval.ms: 500 }' },
  { name: 'cooperative-sticky', kafka: '  assignmentStrategy: cooperative-sticky\n  config: { heartbeat.interval.ms: 500 }' },
  { name: 'consumer (KIP-848)', kafka: '  groupProtocol: consumer' },
] as const;

interface Engine {
  id: number;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

interface Rebalance {
  event: string;
  at: number;
  /** Longest gap between rows of a partition that kept its owner (ms; null: no such partition). */
  stallMs: number | null;
  /**
   * When the new owners first wrote a partition that moved, after the event (ms; null: none moved). The
   * earliest: with a backlog, an engine reads its partitions in turns, so the last of them waits anyway.
   */
  resumeMs: number | null;
  unmoved: number;
  /** Unmoved partitions the rebalance revoked and gave back (eager), and the longest such stop (ms). */
  stopped: number;
  stoppedMs: number | null;
  moved: number;
}

function startEngine(id: number, config: string): Engine {
  const child = spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), 'start', config], {
    env: { ...process.env, ENGINE_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const engine: Engine = { id, child, log: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stderr?.on('data', (d: Buffer) => (engine.log += d.toString()));
  return engine;
}

/**
 * Rows inserted so far, from the statistics (flushed about once a second): count(*) on a table of millions
 * of rows, ten times a second, would take the CPU the engines are measured on. Exact counts come at the end.
 */
async function rows(table: string, exact = false): Promise<number> {
  if (exact) return Number((await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
  return Number((await pgQuery<{ n: string }>(`SELECT n_tup_ins AS n FROM pg_stat_user_tables WHERE relid = '${table}'::regclass`))[0]?.n ?? 0);
}

async function untilRows(table: string, n: number, exact = false): Promise<void> {
  const deadline = Date.now() + 600_000;
  while ((await rows(table, exact)) < n) {
    if (Date.now() > deadline) throw new Error(`${table}: fewer than ${n} rows after 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, exact ? 1_000 : 100));
  }
}

/** Who owned each partition when: "claimed t[p]@…" and "revoked t[p]" lines of every engine, by time. */
function ownership(engines: Engine[]): {
  owner: (partition: number, at: number) => number | null;
  claimedAt: (partition: number, engine: number, after: number) => number | null;
  revokedAt: (partition: number, engine: number, after: number, before: number) => number | null;
} {
  const events: Array<{ at: number; engine: number; partition: number; owns: boolean }> = [];
  for (const e of engines) {
    for (const m of e.log.matchAll(/"time":(\d+)[^\n]*"msg":"(claimed|revoked) ([^"]*)"/g)) {
      for (const p of m[3].matchAll(/\[(\d+)\]/g)) events.push({ at: Number(m[1]), engine: e.id, partition: Number(p[1]), owns: m[2] === 'claimed' });
    }
  }
  events.sort((a, b) => a.at - b.at);
  return {
    owner: (partition, at) => {
      let owner: number | null = null;
      for (const e of events) {
        if (e.at > at) break;
        if (e.partition !== partition) continue;
        if (e.owns) owner = e.engine;
        else if (owner === e.engine) owner = null;
      }
      return owner;
    },
    claimedAt: (partition, engine, after) => events.find((e) => e.owns && e.partition === partition && e.engine === engine && e.at > after)?.at ?? null,
    revokedAt: (partition, engine, after, before) => events.find((e) => !e.owns && e.partition === partition && e.engine === engine && e.at > after && e.at < before)?.at ?? null,
  };
}

/** The last claim of any engine after `from` and before `until`: when the group settled. */
function settledAt(engines: Engine[], from: number, until: number): number {
  let last = from;
  for (const e of engines) {
    for (const m of e.log.matchAll(/"time":(\d+)[^\n]*"msg":"claimed /g)) {
      const at = Number(m[1]);
      if (at > from && at < until) last = Math.max(last, at);
    }
  }
  return last;
}

async function measure(table: string, partitions: number, engines: Engine[], events: Array<{ event: string; at: number }>, end: number): Promise<Rebalance[]> {
  const { owner, claimedAt, revokedAt } = ownership(engines);
  const out: Rebalance[] = [];
  for (let i = 0; i < events.length; i++) {
    const { event, at } = events[i];
    const next = events[i + 1]?.at ?? end;
    const settled = settledAt(engines, at, next);
    const unmoved: number[] = [];
    const moved: number[] = [];
    for (let p = 0; p < partitions; p++) {
      const before = owner(p, at);
      if (before !== null && before === owner(p, settled)) unmoved.push(p);
      else moved.push(p);
    }
    // What the protocol itself stops: an unmoved partition revoked and given back to the same engine (eager).
    let stopped = 0;
    let stoppedMs: number | null = null;
    for (const p of unmoved) {
      const k = owner(p, at)!;
      const revoked = revokedAt(p, k, at, next);
      const back = revoked === null ? null : claimedAt(p, k, revoked);
      if (revoked === null || back === null) continue;
      stopped++;
      stoppedMs = Math.max(stoppedMs ?? 0, back - revoked);
    }
    const [stall] = await pgQuery<{ ms: string | null }>(
      `SELECT max(gap) AS ms FROM (
         SELECT extract(epoch FROM written_at - lag(written_at) OVER (PARTITION BY kafka_partition ORDER BY written_at)) * 1000 AS gap
           FROM ${table} WHERE kafka_partition = ANY('{${unmoved.join(',')}}'::int[])
            AND written_at BETWEEN to_timestamp(${at} / 1000.0) AND to_timestamp(${settled + 2_000} / 1000.0)) g`,
    );
    // A moved partition resumes with its new owner's first row after that owner claimed it (the leaver's
    // own last batches, written after its SIGTERM, do not count).
    let resume: number | null = null;
    for (const p of moved) {
      const to = owner(p, settled);
      const claimed = to === null ? null : claimedAt(p, to, at);
      if (claimed === null) continue;
      const [first] = await pgQuery<{ ms: string | null }>(
        `SELECT extract(epoch FROM min(written_at) - to_timestamp(${at} / 1000.0)) * 1000 AS ms FROM ${table}
          WHERE kafka_partition = ${p} AND written_at > to_timestamp(${claimed} / 1000.0)`,
      );
      if (first?.ms !== null && first?.ms !== undefined) resume = Math.min(resume ?? Infinity, Math.round(Number(first.ms)));
    }
    const ms = (v: string | null | undefined) => (v === null || v === undefined ? null : Math.round(Number(v)));
    out.push({ event, at, stallMs: unmoved.length > 0 ? ms(stall?.ms) : null, resumeMs: resume, unmoved: unmoved.length, stopped, stoppedMs, moved: moved.length });
  }
  return out;
}

async function runMode(runId: string, mode: (typeof MODES)[number], index: number, records: number, partitions: number) {
  const name = `${runId}_${index}`;
  const { topic, table } = await prepareOrders(name, records, partitions, false);
  await pgQuery(`ALTER TABLE ${table} ADD COLUMN kafka_partition int, ADD COLUMN written_at timestamptz NOT NULL DEFAULT clock_timestamp()`);
  const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-scale-')), 'config.yaml');
  writeFileSync(
    config,
    `kafka:
  brokers: "${DEFAULT_BROKERS}"
  groupId: ${name}
${mode.kafka}
postgres: { url: "${DATABASE_URL}", connections: 1 }
engine: { workers: 1, memory: 64MiB }
pipelines:
  - { name: orders, topics: [${topic}], format: avro, schema: "${ORDER_SCHEMA_PATH}", table: ${table},
      columns: { user_id: user.id, country: user.country, kafka_partition: $partition }, batch: { maxRows: 1000, maxWaitMs: 20 } }
`,
  );
  const engines = [startEngine(1, config)];
  const events: Array<{ event: string; at: number }> = [];
  const steps: Array<[number, string, () => void]> = [
    [0.15, 'join 2', () => engines.push(startEngine(2, config))],
    [0.3, 'join 3', () => engines.push(startEngine(3, config))],
    [0.55, 'leave 3', () => engines[2].child.kill('SIGTERM')],
    [0.7, 'leave 2', () => engines[1].child.kill('SIGTERM')],
  ];
  for (const [share, event, act] of steps) {
    await untilRows(table, Math.round(records * share));
    events.push({ event, at: Date.now() });
    act();
  }
  await untilRows(table, records);
  await untilRows(table, records, true);
  engines[0].child.kill('SIGTERM');
  const codes = await Promise.all(engines.map((e) => e.exited));
  for (const e of engines) writeFileSync(path.join(os.tmpdir(), `${name}_engine${e.id}.log`), e.log);
  const [check] = await pgQuery<{ rows: string; ids: string; seconds: string }>(
    `SELECT count(*) AS rows, count(DISTINCT id) AS ids, extract(epoch FROM max(written_at) - min(written_at)) AS seconds FROM ${table}`,
  );
  const rebalances = await measure(table, partitions, engines, events, Date.now());
  // What a partition waits between its batches anyway: the longest gap in the 3 s before the first join.
  const [base] = await pgQuery<{ ms: string | null }>(
    `SELECT max(gap) AS ms FROM (
       SELECT extract(epoch FROM written_at - lag(written_at) OVER (PARTITION BY kafka_partition ORDER BY written_at)) * 1000 AS gap
         FROM ${table} WHERE written_at BETWEEN to_timestamp(${events[0].at - 3_000} / 1000.0) AND to_timestamp(${events[0].at} / 1000.0)) g`,
  );
  const result = {
    bench: 'scale', runId, mode: mode.name, records, partitions,
    recordsPerSecond: Math.round(records / Number(check.seconds)),
    baselineGapMs: base?.ms === null || base?.ms === undefined ? null : Math.round(Number(base.ms)),
    exactlyOnce: Number(check.rows) === records && Number(check.ids) === records,
    exitCodes: codes, rebalances,
  };
  await pgQuery(`DROP TABLE ${table}`);
  await deleteTopic(topic);
  return result;
}

function spread(values: number[]): string {
  if (values.length === 0) return '—';
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return values.length === 1 ? `${Math.round(mean)}` : `${Math.round(mean)} (${Math.min(...values)}–${Math.max(...values)})`;
}

async function main(): Promise<void> {
  const records = flag('records', 3_000_000);
  const partitions = flag('partitions', 12);
  const runs = flag('runs', 2);
  const runId = `sc${Date.now().toString(36)}`;
  console.error(`bench scale ${runId}: ${records} Avro orders, ${partitions} partitions, ${runs} run(s) of ${MODES.map((m) => m.name).join(', ')}`);
  const results: Array<Awaited<ReturnType<typeof runMode>>> = [];
  let index = 0;
  for (let run = 0; run < runs; run++) {
    // Rotated: each mode goes first, second and third in turn (the machine's state drifts within a run).
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(k + run) % MODES.length];
      const r = await runMode(runId, mode, index++, records, partitions);
      console.log(JSON.stringify(r));
      console.error(`  ${mode.name}: ${r.recordsPerSecond} records/s, exactly once: ${r.exactlyOnce}, longest gap between a partition's rows before any rebalance ${r.baselineGapMs} ms; ${r.rebalances.map((b) => `${b.event}: ${b.stopped} of ${b.unmoved} unmoved stopped by the protocol (${b.stoppedMs ?? 0} ms), longest gap ${b.stallMs ?? '—'} ms; ${b.moved} moved, resumed after ${b.resumeMs ?? '—'} ms`).join('; ')} (engine logs: ${os.tmpdir()}/${r.runId}_*_engine*.log)`);
      results.push(r);
    }
  }
  console.log(`\nbench scale ${runId}: ${records} records, ${partitions} partitions, ${runs} run(s); mean (min–max) over runs`);
  console.log('Per rebalance: unmoved partitions the protocol stopped (revoked and given back, per run) and for how long (ms) · longest gap between an unmoved partition\'s rows (ms) · when the new owners first wrote a moved partition, from the event (ms)');
  console.log('| protocol / strategy | records/s | gap without rebalance (ms) | ' + results[0].rebalances.map((b) => `${b.event}: stopped · gap · resume`).join(' | ') + ' | exactly once |');
  console.log('|---|---|---|' + results[0].rebalances.map(() => '---|').join('') + '---|');
  for (const mode of MODES) {
    const mine = results.filter((r) => r.mode === mode.name);
    const cells = mine[0].rebalances.map((_, i) => {
      const stall = mine.map((r) => r.rebalances[i].stallMs).filter((v): v is number => v !== null);
      const resume = mine.map((r) => r.rebalances[i].resumeMs).filter((v): v is number => v !== null);
      const stopped = mine.map((r) => r.rebalances[i]);
      const stops = `${stopped.map((b) => `${b.stopped}/${b.unmoved}`).join(', ')} ${spread(stopped.map((b) => b.stoppedMs ?? 0))}`;
      return `${stops} · ${spread(stall)} · ${spread(resume)}`;
    });
    console.log(`| ${mode.name} | ${spread(mine.map((r) => r.recordsPerSecond))} | ${spread(mine.map((r) => r.baselineGapMs).filter((v): v is number => v !== null))} | ${cells.join(' | ')} | ${mine.every((r) => r.exactlyOnce) ? 'yes' : 'NO'} |`);
  }
  if (!results.every((r) => r.exactlyOnce)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
