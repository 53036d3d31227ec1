import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';

/** The processes GNU time started (signalling time itself would lose its report). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
import os from 'node:os';
import path from 'node:path';

export interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the process, from spawn to exit. */
  wallSeconds: number;
  /** User + system CPU of the process and its children (GNU time). */
  cpuSeconds: number;
  peakRssBytes: number;
}

export interface TimedOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Polled every pollMs; when it resolves true the process is sent SIGTERM (for servers such as Kafka Connect). */
  stopWhen?: () => Promise<boolean>;
  pollMs?: number;
}

/** Runs a command under GNU time: wall time, CPU seconds and peak RSS of that process. */
export function runTimed(command: string, args: string[], options: TimedOptions = {}): Promise<Timed> {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-time-')), 'time.txt');
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', out, command, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let stopping = false;
    // One check at a time: a check slower than pollMs (a count over a table the contender is writing) must
    // not start another beside it. Checks piling up (12 at once, each a parallel scan) once slowed the
    // contender being measured to a fifth of its speed.
    let checking = false;
    const poll = options.stopWhen
      ? setInterval(() => {
          if (stopping || checking) return;
          checking = true;
          options.stopWhen!().then(
            (stop) => {
              checking = false;
              if (stop && !stopping) {
                stopping = true;
                for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGTERM');
              }
            },
            () => (checking = false),
          );
        }, options.pollMs ?? 250)
      : null;
    const timer = setTimeout(() => {
      for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs ?? 600_000} ms\n${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const line = readFileSync(out, 'utf8').trim().split('\n').pop() ?? '';
      const [, user, sys, rssKb] = line.split(' ').map(Number);
      resolve({ code, stdout, stderr, wallSeconds, cpuSeconds: (user || 0) + (sys || 0), peakRssBytes: (rssKb || 0) * 1024 });
    });
  });
}
