import pino from 'pino';
import pretty from 'pino-pretty';

/**
 * The engine's log, on stderr (stdout is kept for command output: summaries, JSON lines). JSON lines
 * (pino) when stderr is not a terminal, human-readable lines on a terminal; `ENGINE_LOG_FORMAT=json|text`
 * overrides, `ENGINE_LOG_LEVEL=debug|info|warn|error` filters. Every message goes through `redact`: no
 * password from a URL or a secret of the config is ever written.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const secrets = new Set<string>();
/** Secrets of one or two characters: replaced only where they stand alone (replacing every "a" would garble the log). */
let shortSecrets: RegExp | null = null;

/** A value that must never be printed (a password, a token); registered when the config is read. */
export function registerSecret(value: string | undefined | null): void {
  if (!value) return;
  if (value.length >= 3) secrets.add(value);
  else {
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const alone = `(?<![\\w%])${escaped}(?![\\w%])`;
    shortSecrets = new RegExp(shortSecrets ? `${shortSecrets.source}|${alone}` : alone, 'g');
  }
}

/** The text with URL passwords and registered secrets replaced by `***`. */
export function redact(text: string): string {
  let out = text.replace(/\/\/([^:/@\s]+):[^@/\s]+@/g, '//$1:***@');
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  if (shortSecrets) out = out.replace(shortSecrets, '***');
  return out;
}

function makeLogger(): pino.Logger {
  const level = process.env.ENGINE_LOG_LEVEL ?? 'info';
  const format = process.env.ENGINE_LOG_FORMAT ?? (process.stderr.isTTY ? 'text' : 'json');
  const options: pino.LoggerOptions = { level, base: { pid: process.pid }, formatters: { level: (label) => ({ level: label }) } };
  if (format === 'text') {
    return pino(options, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
}

const logger = makeLogger();

export function setLogLevel(level: LogLevel): void {
  logger.level = level;
}

export const log = {
  debug: (msg: string) => logger.debug(redact(msg)),
  info: (msg: string) => logger.info(redact(msg)),
  warn: (msg: string) => logger.warn(redact(msg)),
  error: (msg: string) => logger.error(redact(msg)),
};
