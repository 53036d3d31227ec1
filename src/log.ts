/** Minimal leveled logger to stderr; stdout is kept for command output (summaries, JSON lines). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold = rank[(process.env.ENGINE_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? rank.info;

export function setLogLevel(level: LogLevel): void {
  threshold = rank[level];
}

function write(level: LogLevel, msg: string): void {
  if (rank[level] < threshold) return;
  process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${msg}\n`);
}

export const log = {
  debug: (msg: string) => write('debug', msg),
  info: (msg: string) => write('info', msg),
  warn: (msg: string) => write('warn', msg),
  error: (msg: string) => write('error', msg),
};
