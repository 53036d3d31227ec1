import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { REPO, sql } from './env';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The local Debian cluster (the one scripts/pg.sh starts). */
export function pgCluster(action: 'stop' | 'start' | 'restart'): void {
  const version = readdirSync('/etc/postgresql').sort().pop()!;
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action, ...(action !== 'start' ? ['-m', 'fast'] : [])], { stdio: 'inherit' });
}

export async function waitForPg(): Promise<void> {
  for (let i = 0; i < 60; i++) {
    try {
      await sql('SELECT 1');
      return;
    } catch {
      await sleep(500);
    }
  }
}

/** The local broker (scripts/kafka.sh). */
export function kafkaBroker(action: 'stop' | 'start'): void {
  execFileSync('bash', [`${REPO}/scripts/kafka.sh`, action], { stdio: 'inherit' });
}

/** Freezes (SIGSTOP) or thaws (SIGCONT) the local broker: it keeps its sockets open but answers nothing. */
export function freezeKafkaBroker(frozen: boolean): void {
  const status = execFileSync('bash', [`${REPO}/scripts/kafka.sh`, 'status'], { encoding: 'utf8' });
  const pid = /\(pid (\d+)\)/.exec(status)?.[1];
  if (!pid) throw new Error(`no broker pid in: ${status}`);
  process.kill(Number(pid), frozen ? 'SIGSTOP' : 'SIGCONT');
}
