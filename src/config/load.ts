import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { registerSecret } from '../log';
import { substituteEnv } from './env';
import type { EngineConfig } from './types';
import { validateConfig } from './validate';

/**
 * Reads, substitutes and validates a config file. Throws EngineError(ENG_CONFIG_INVALID) listing every
 * problem by path. Schema files are read by schema/load.ts (loadSchemas), after this.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): EngineConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EngineError(ErrorCodes.CONFIG_READ, `cannot read config file ${file}: ${messageOf(err)}`, { cause: err });
  }
  return parseConfig(text, path.dirname(path.resolve(file)), env, file);
}

export function parseConfig(text: string, baseDir: string, env: NodeJS.ProcessEnv, source = 'config'): EngineConfig {
  const problems: string[] = [];
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) problems.push(`YAML syntax: ${e.message.split('\n')[0]}${e.linePos ? ` (line ${e.linePos[0].line})` : ''}`);
    throw invalid(source, problems);
  }
  const substituted = substituteEnv(doc.toJS(), env, problems, baseDir);
  registerSecrets(substituted, problems);
  const config = validateConfig(substituted, baseDir, problems);
  if (!config) throw invalid(source, problems);
  return config;
}

function invalid(source: string, problems: string[]): EngineError {
  return new EngineError(ErrorCodes.CONFIG_INVALID, `invalid config ${source}:\n  ${problems.join('\n  ')}`);
}

/** librdkafka settings whose value is a secret: passwords, secrets, tokens, inline private keys. */
const SECRET_SETTING = /password|secret|token|oauthbearer\.config|ssl\.key\.pem|ssl_key/i;

/**
 * The config's secrets, before anything can print them (validation messages included): passwords in
 * URLs, and librdkafka settings that hold a password, secret or token.
 */
function registerSecrets(root: unknown, problems: string[]): void {
  const r = root as { postgres?: { url?: unknown }; kafka?: { config?: Record<string, unknown> }; pipelines?: Array<{ registry?: { url?: unknown; password?: unknown } }> } | null;
  // A malformed %-escape is a problem of postgres.url here (it is decoded only when connecting); a
  // registry URL's is reported where validation decodes its credentials.
  const urlPassword = (url: unknown, at: string | null) => {
    if (typeof url !== 'string') return;
    const m = /\/\/[^:/@\s]+:([^@/\s]+)@/.exec(url);
    if (!m) return;
    registerSecret(m[1]);
    try {
      registerSecret(decodeURIComponent(m[1]));
    } catch {
      if (at) problems.push(`${at}: the password has a malformed %-escape (a literal % is written %25)`);
    }
  };
  urlPassword(r?.postgres?.url, 'postgres.url');
  (r?.pipelines ?? []).forEach((p) => {
    urlPassword(p?.registry?.url, null);
    if (typeof p?.registry?.password === 'string') registerSecret(p.registry.password);
  });
  for (const [key, value] of Object.entries(r?.kafka?.config ?? {})) {
    if (SECRET_SETTING.test(key) && typeof value === 'string') registerSecret(value);
  }
}
