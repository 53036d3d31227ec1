/**
 * libpq's connection URI with several hosts, read as libpq and psql read it (node-postgres reads one host
 * only, and throws on `h1:5432,h2:5433`):
 *
 *   postgres://user:password@h1:5432,h2:5433,[::1]:5434/db?target_session_attrs=read-write&connect_timeout=5
 *
 * A host without a port takes the `port` parameter or 5432. A host that is a directory (`%2Fvar%2Frun%2Fpostgresql`,
 * or `?host=/var/run/postgresql`, which as in libpq replaces the URL's hosts) is a Unix-domain socket:
 * `<dir>/.s.PGSQL.<port>` on this machine, without TLS (libpq ignores sslmode there too); it costs the
 * engine less CPU per COPY byte than loopback TCP. The hosts are tried in order by every new connection
 * (sink/pg-connection.ts); `target_session_attrs` says which server is acceptable:
 *   any             the first that accepts the connection (libpq's default)
 *   read-write      one that accepts writes (not in recovery, default_transaction_read_only off)
 *   primary         one not in recovery
 *   read-only, standby, prefer-standby   accepted as libpq reads them; the engine writes, so they are
 *                   refused at validation
 * `connect_timeout` is per host, in seconds (libpq: 0 or absent waits forever; the engine: 10 s).
 */
export const SESSION_ATTRS = ['any', 'read-write', 'primary', 'read-only', 'standby', 'prefer-standby'] as const;
export type SessionAttrs = (typeof SESSION_ATTRS)[number];

export interface PgHost {
  /** A name or address, or (starting with /) the directory of a Unix-domain socket. */
  host: string;
  port: number;
}

/** libpq reads a host that starts with / as the directory of a Unix-domain socket. */
export function isSocketHost(h: PgHost): boolean {
  return h.host.startsWith('/');
}

export interface PgHostList {
  hosts: PgHost[];
  targetSessionAttrs: SessionAttrs;
  connectTimeoutMs: number;
  /** One single-host URL per host, in order: the same user, password, database and other parameters. */
  urls: string[];
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const ABSTRACT = 'Linux abstract-namespace sockets are not supported; give the socket\'s directory (postgres://user@%2Fvar%2Frun%2Fpostgresql/db) or a TCP host';

/** The hosts of a postgres:// URL, or a message saying what is wrong with it (never its password). */
export function parsePgHosts(url: string): PgHostList | string {
  const m = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/.exec(url);
  if (!m) return 'must be a postgres:// or postgresql:// URL';
  const [, scheme, userinfo, hostspec, rest] = m;
  const q = rest.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const defaultPort = params.get('port');
  if (defaultPort !== null && !validPort(defaultPort)) return `port=${defaultPort} is not a port number`;
  const hosts: PgHost[] = [];
  // libpq: a host parameter replaces the hosts before the path.
  const hostParam = params.get('host');
  const specs = hostParam !== null ? hostParam.split(',').map(encodeURIComponent) : hostspec === '' ? [] : hostspec.split(',');
  for (const spec of specs) {
    const h = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d*))?$/.exec(spec);
    if (!h) return `"${spec}" is not host[:port]`;
    const port = h[2] === undefined || h[2] === '' ? (defaultPort ?? '5432') : h[2];
    if (!validPort(port)) return `"${spec}": ${port} is not a port number`;
    const host = decodeHost(h[1]);
    if (host.startsWith('@')) return `host ${host}: ${ABSTRACT}`;
    hosts.push({ host, port: Number(port) });
  }
  if (hosts.length === 0) return 'names no host (postgres://user@host:port/db, or a socket directory: postgres://user@%2Fvar%2Frun%2Fpostgresql/db)';
  const attrs = params.get('target_session_attrs') ?? 'any';
  if (!(SESSION_ATTRS as readonly string[]).includes(attrs)) return `target_session_attrs=${attrs} is not one of ${SESSION_ATTRS.join(', ')}`;
  const timeout = params.get('connect_timeout');
  if (timeout !== null && !/^\d+$/.test(timeout)) return `connect_timeout=${timeout} is not a number of seconds`;
  // libpq: at least 2 s; 0 means no limit, which the engine never wants when a host can vanish.
  const connectTimeoutMs = timeout === null || Number(timeout) === 0 ? DEFAULT_CONNECT_TIMEOUT_MS : Math.max(2, Number(timeout)) * 1000;
  // Parameters libpq reads but node-postgres would misread or not know are left out of each host's URL.
  for (const p of ['target_session_attrs', 'connect_timeout', 'port', 'host', 'hostaddr', 'load_balance_hosts']) params.delete(p);
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = params.toString();
  // node-postgres reads a percent-encoded host that decodes to /… as a socket directory.
  const urls = hosts.map((h) => `${scheme}${userinfo === undefined ? '' : `${userinfo}@`}${urlHost(h)}:${h.port}${path}${query ? `?${query}` : ''}`);
  return { hosts, targetSessionAttrs: attrs as SessionAttrs, connectTimeoutMs, urls };
}

/** `host:port` as messages write it; a socket as its file, as libpq names it. */
export function hostName(h: PgHost): string {
  if (isSocketHost(h)) return `${h.host.replace(/\/+$/, '')}/.s.PGSQL.${h.port}`;
  return `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;
}

function urlHost(h: PgHost): string {
  if (isSocketHost(h)) return encodeURIComponent(h.host);
  return h.host.includes(':') ? `[${h.host}]` : h.host;
}

function validPort(p: string): boolean {
  return /^\d+$/.test(p) && Number(p) > 0 && Number(p) < 65536;
}

function decodeHost(h: string): string {
  if (h.startsWith('[')) return h.slice(1, -1);
  try {
    return decodeURIComponent(h);
  } catch {
    return h;
  }
}
