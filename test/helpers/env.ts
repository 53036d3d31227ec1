import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Kafka from 'node-rdkafka';
import { Client } from 'pg';
import { DEFAULT_BROKERS } from '../../bench/lib/kafka-tools';

/** Where the integration tests find the broker and database that `.ci/run` (or npm run kafka:start / pg:start) started. */
export const BROKERS = DEFAULT_BROKERS;
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const REPO = path.resolve(__dirname, '../../..');
export const CLI = path.join(REPO, 'dist/src/cli/main.js');

let counter = 0;
/** A name no earlier run used: tests never share topics, groups or tables. */
export function unique(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${process.pid.toString(36)}_${counter++}`;
}

export async function withPg<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: DATABASE_URL });
  // A server restart while the query runs rejects the query; without a listener it would also throw.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function sql<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return withPg(async (c) => (await c.query<T>(text, params)).rows);
}

/** Committed offsets of a consumer group, per partition (-1001 = none). */
export async function committedOffsets(groupId: string, topic: string, partitions: number): Promise<number[]> {
  const consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': BROKERS, 'group.id': groupId, 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const parts = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    const offsets = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
      consumer.committed(parts, 10_000, (err, tps) => (err ? reject(err) : resolve(tps))),
    );
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => o.offset ?? -1001);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** End offsets (high watermarks) per partition. */
export async function endOffsets(topic: string, partitions: number): Promise<number[]> {
  const consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': BROKERS, 'group.id': unique('probe') }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const out: number[] = [];
    for (let p = 0; p < partitions; p++) {
      out.push(
        await new Promise<number>((resolve, reject) =>
          consumer.queryWatermarkOffsets(topic, p, 10_000, (err, o) => (err ? reject(err) : resolve(o.highOffset))),
        ),
      );
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** Writes a config file into a fresh temp dir and returns its path. */
export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-test-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `engine` CLI as a child process; `during` gets the child (to signal it). */
export function runCli(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; during?: (child: ReturnType<typeof spawn>) => void } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    // Tests read the human-readable log (the JSON form has a test of its own).
    const child = spawn(process.execPath, [CLI, ...args], { env: { ENGINE_LOG_FORMAT: 'text', ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // KPE_TEST_LOG_DIR: every run's log is kept there too (to diagnose a failure seen in a loop).
    if (process.env.KPE_TEST_LOG_DIR) child.stderr.pipe(createWriteStream(path.join(process.env.KPE_TEST_LOG_DIR, `${Date.now()}-${args[0]}.log`)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`engine ${args.join(' ')} did not finish within ${options.timeoutMs ?? 120_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.during?.(child);
  });
}

/** The summary JSON line the CLI prints on stdout. */
export function summaryOf(run: CliRun): { records: number; rows: number; reason: string; recordsPerSecond: number } {
  const line = run.stdout.split('\n').find((l) => l.startsWith('{"event":"summary"'));
  if (!line) throw new Error(`no summary line (exit ${run.code})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(line);
}

/**
 * For runCli's `during`: runs `act` once, as soon as `table` holds at least `rows` rows (polled every
 * 50 ms; queries that fail, e.g. while PostgreSQL is down, are ignored). Resolves with act's result.
 */
export function whenRows<T>(table: string, rows: number, act: (child: ChildProcess) => Promise<T> | T): { during: (child: ChildProcess) => void; done: () => Promise<T> | null } {
  let result: Promise<T> | null = null;
  return {
    during: (child) => {
      const poll = setInterval(() => {
        sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`).then(
          ([r]) => {
            // Several queries may be in flight: act once.
            if (Number(r.n) < rows || result !== null) return;
            clearInterval(poll);
            result = Promise.resolve(act(child));
          },
          () => undefined,
        );
      }, 50);
      child.on('exit', () => clearInterval(poll));
    },
    done: () => result,
  };
}

/**
 * Waits until `check` gives a value other than null, undefined or false (polled every 100 ms; a throw
 * counts as not yet), and resolves with it; fails naming `what` after `ms`.
 */
export async function until<T>(what: string, check: () => T | null | undefined | false | Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: Error | null = null;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err as Error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}
