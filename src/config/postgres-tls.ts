import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * TLS to PostgreSQL, written as libpq users write it: `sslmode`, `sslrootcert`, `sslcert`, `sslkey` in
 * the URL (`postgres://u@db/x?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem`), or the same under
 * `postgres.ssl` (`{ mode, rootCert, cert, key }`, paths relative to the config file), not both. The
 * parameters are taken out of the URL so that node-postgres's own reading of them (which differs from
 * libpq's: its `require` verifies the certificate) never applies; sink/pg-connection.ts builds the TLS
 * options with libpq's meaning.
 */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface PgTls {
  mode: SslMode;
  /** CA file that signs the server's certificate; `system` for the system's trusted roots; null = system. */
  rootCert: string | null;
  /** Client certificate and key, for servers that authenticate clients by certificate. */
  cert: string | null;
  key: string | null;
}

const URL_PARAMS = { sslmode: 'mode', sslrootcert: 'rootCert', sslcert: 'cert', sslkey: 'key' } as const;

/** The URL without libpq's TLS parameters, and the TLS settings from the URL or `postgres.ssl`. */
export function readPgTls(url: string, ssl: Partial<Record<keyof PgTls, string | number>> | null, baseDir: string, problems: string[]): { url: string; tls: PgTls | null } {
  // Not `new URL`: it cannot read libpq's several hosts (`h1:5432,h2:5433`).
  const q = url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const given: Partial<Record<keyof PgTls, string>> = {};
  let where = 'postgres.ssl';
  for (const [param, field] of Object.entries(URL_PARAMS) as Array<[keyof typeof URL_PARAMS, keyof PgTls]>) {
    const value = params.get(param);
    if (value === null) continue;
    given[field] = value;
    params.delete(param);
    where = 'postgres.url';
  }
  if (ssl !== null) {
    if (where === 'postgres.url') {
      problems.push('postgres.ssl: the URL already has sslmode/sslrootcert/sslcert/sslkey; give TLS settings in one place');
    } else {
      // config/schema.ts has checked the keys and their types.
      for (const [key, value] of Object.entries(ssl)) if (value !== undefined) given[key as keyof PgTls] = String(value);
    }
  }
  const cleanUrl = where === 'postgres.url' ? url.slice(0, q) + (params.size > 0 ? `?${params.toString()}` : '') : url;
  if (Object.keys(given).length === 0) return { url: cleanUrl, tls: null };

  const field = (name: keyof PgTls) => (where === 'postgres.url' ? Object.entries(URL_PARAMS).find(([, f]) => f === name)![0] : `ssl.${name}`);
  const mode = (given.mode ?? 'prefer') as SslMode;
  if (!SSL_MODES.includes(mode)) problems.push(`${where}: ${field('mode')} "${mode}" is not one of ${SSL_MODES.join(', ')}`);
  const file = (name: 'rootCert' | 'cert' | 'key'): string | null => {
    const value = given[name];
    if (value === undefined || value === '') return null;
    if (name === 'rootCert' && value === 'system') return 'system';
    const resolved = where === 'postgres.ssl' ? path.resolve(baseDir, value) : path.resolve(value);
    if (!existsSync(resolved)) problems.push(`${where}: ${field(name)} ${resolved} does not exist`);
    return resolved;
  };
  const tls: PgTls = { mode, rootCert: file('rootCert'), cert: file('cert'), key: file('key') };
  if ((tls.cert === null) !== (tls.key === null)) problems.push(`${where}: ${field('cert')} and ${field('key')} go together (a client certificate needs its key)`);
  return { url: cleanUrl, tls };
}
