import type { ChildProcess } from 'node:child_process';
import { afterEach } from 'node:test';
import { runCli, until } from './env';

const running = new Set<ChildProcess>();

// A test that fails leaves no engine behind to write into the next test's tables.
afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
});

/**
 * `engine start <config>` as a child process that keeps its log; `waitFor` is until() that fails at once,
 * with the log, if the engine exits first; `stop()` sends SIGTERM and resolves with the exit.
 */
export function startEngine(config: string, env: NodeJS.ProcessEnv = {}) {
  let log = '';
  let child: ChildProcess | null = null;
  const done = runCli(['start', config], {
    timeoutMs: 600_000,
    env,
    during: (c) => {
      child = c;
      running.add(c);
      c.on('exit', () => running.delete(c));
      c.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    },
  });
  const waitFor = <T>(what: string, check: () => Promise<T | null | false>, ms: number) =>
    Promise.race([
      until(what, check, ms).catch((err: Error) => {
        throw new Error(`${err.message}\nthe engine's log:\n${log.split('\n').slice(-40).join('\n')}`);
      }),
      done.then((r): never => {
        throw new Error(`the engine exited (${r.code ?? r.signal}) while waiting for ${what}\n${log}`);
      }),
    ]);
  return {
    log: () => log,
    done,
    waitFor,
    stop: async () => {
      child?.kill('SIGTERM');
      return done;
    },
  };
}
