import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, type ClientConfig } from 'pg';
import type { PgTls } from '../config/postgres-tls';
import { hostName, isSocketHost, parsePgHosts, type PgHost, type PgHostList, type SessionAttrs } from '../config/postgres-url';
import { EngineError, ErrorCodes, messageOf } from '../errors';

/** Where the engine's PostgreSQL is: its hosts (config/postgres-url.ts) and TLS settings. */
export interface PgTarget {
  hosts: PgHostList;
  tls: PgTls | null;
}

/** A target from a URL alone (tests, benchmarks); a URL the config would refuse throws. */
export function pgTargetOf(url: string, tls: PgTls | null = null): PgTarget {
  const hosts = parsePgHosts(url);
  if (typeof hosts === 'string') throw new EngineError(ErrorCodes.CONFIG_INVALID, `postgres URL: ${hosts}`);
  return { hosts, tls };
}

/** The server a connection reached, as the host list saw it when choosing. */
export interface PgServer {
  /** `host:port` from postgres.url. */
  host: string;
  role: 'primary' | 'standby';
  readOnly: boolean;
  /** pg_control_system()'s system_identifier: a promoted replica keeps its primary's, a new cluster has its own. */
  systemId: string;
  timeline: number;
  /** Which URL of the host list reached it (not for messages: it may hold a password). */
  urlIndex: number;
}

/**
 * node-postgres TLS options with libpq's meaning of each sslmode:
 *   disable             no TLS
 *   allow, prefer       TLS without verification, plain if the server does not offer TLS (see connectPg)
 *   require             TLS, no verification; with a root certificate, like verify-ca (as libpq does)
 *   verify-ca           TLS, the server's chain must lead to the root certificate; the host name is not checked
 *   verify-full         verify-ca, and the certificate must name the host connected to
 * Without a root certificate (or with `system`), the verifying modes trust the system's roots.
 * Without any TLS setting the engine connects without TLS, as node-postgres does (libpq would try TLS first).
 */
export function tlsOptions(tls: PgTls | null): ConnectionOptions | false {
  if (tls === null || tls.mode === 'disable') return false;
  const verify = tls.mode === 'verify-ca' || tls.mode === 'verify-full' || (tls.mode === 'require' && tls.rootCert !== null && tls.rootCert !== 'system');
  const options: ConnectionOptions = { rejectUnauthorized: verify };
  if (verify && tls.rootCert !== null && tls.rootCert !== 'system') options.ca = readTlsFile(tls.rootCert, 'sslrootcert');
  if (verify && tls.mode !== 'verify-full') options.checkServerIdentity = () => undefined;
  if (tls.cert !== null && tls.key !== null) {
    options.cert = readTlsFile(tls.cert, 'sslcert');
    options.key = readTlsFile(tls.key, 'sslkey');
  }
  return options;
}

function readTlsFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new EngineError(ErrorCodes.PG_CONNECT, `postgres ${what} ${file} cannot be read: ${messageOf(err)}`, { cause: err });
  }
}

const servers = new WeakMap<Client, PgServer>();

/** The server `client` was connected to by connectPg. */
export function serverOf(client: Client): PgServer | undefined {
  return servers.get(client);
}

/**
 * Connects to the first host of the list that target_session_attrs accepts, trying them in order as
 * libpq does: each with the URL's connect timeout and TCP keepalive. With several hosts and a session
 * that must write, the hosts after the chosen one are asked too (a short probe each): a second primary is
 * split brain, and the engine refuses to write to either (retriable: an orchestrator may be fencing one).
 * The error of a list where no host will do names every host and why it was passed over.
 */
export async function connectPg(target: PgTarget, extra: Omit<ClientConfig, 'connectionString' | 'ssl'>, onError?: (err: Error) => void): Promise<Client> {
  const { hosts, urls, targetSessionAttrs: attrs, connectTimeoutMs } = target.hosts;
  const options: Omit<ClientConfig, 'connectionString' | 'ssl'> = { connectionTimeoutMillis: connectTimeoutMs, keepAlive: true, keepAliveInitialDelayMillis: 5_000, ...extra };
  const passedOver: string[] = [];
  let lastError: unknown = null;
  for (let i = 0; i < urls.length; i++) {
    let client: Client;
    try {
      client = await connectOne(urls[i], tlsFor(hosts[i], target.tls), options, onError);
    } catch (err) {
      passedOver.push(`${hostName(hosts[i])}: ${messageOf(err)}`);
      lastError = err;
      continue;
    }
    try {
      const server = await describe(client, hostName(hosts[i]), i);
      const refusal = refuses(attrs, server);
      if (refusal === null) {
        if (urls.length > i + 1 && (attrs === 'read-write' || attrs === 'primary')) await refuseSplitBrain(target, i, server, options);
        servers.set(client, server);
        return client;
      }
      passedOver.push(`${server.host}: ${refusal}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      if (err instanceof EngineError) throw err;
      passedOver.push(`${hostName(hosts[i])}: ${messageOf(err)}`);
      lastError = err;
      continue;
    }
    await client.end().catch(() => undefined);
  }
  // One host: its own error, as before there were host lists (its code says whether to retry).
  if (urls.length === 1 && lastError instanceof Error) throw lastError;
  const err = new EngineError(
    ErrorCodes.PG_CONNECT,
    `no host of postgres.url is a server for target_session_attrs=${attrs}: ${passedOver.join('; ')}`,
    { cause: lastError ?? undefined, retriable: true },
  );
  throw err;
}

async function describe(client: Client, host: string, urlIndex: number): Promise<PgServer> {
  const r = await client.query<{ recovery: boolean; ro: string; sysid: string; tli: number }>(
    `SELECT pg_is_in_recovery() AS recovery, current_setting('default_transaction_read_only') AS ro,
            (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
            CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
                 -- A promoted server's checkpoint still names its old timeline for a while; its WAL does not.
                 ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS tli`,
  );
  const row = r.rows[0];
  return { host, role: row.recovery ? 'standby' : 'primary', readOnly: row.recovery || row.ro === 'on', systemId: row.sysid, timeline: Number(row.tli), urlIndex };
}

/** Null when `server` accepts a new connection and answers `SELECT 1` within `timeoutMs`; else why not. */
export async function probeServer(server: PgServer, target: PgTarget, timeoutMs: number): Promise<string | null> {
  const held: { probe: Client | null } = { probe: null };
  const work = (async () => {
    held.probe = await connectOne(target.hosts.urls[server.urlIndex], tlsFor(target.hosts.hosts[server.urlIndex], target.tls), { connectionTimeoutMillis: timeoutMs, application_name: 'kafka-pg-engine liveness' }, () => undefined);
    await held.probe.query('SELECT 1');
  })();
  // However the probe ends, even after the timeout gave up on it, its connection is closed.
  void work.catch(() => undefined).then(() => held.probe?.end().catch(() => undefined));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)))]);
    return null;
  } catch (err) {
    return messageOf(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Why target_session_attrs passes over this server, or null when it will do (libpq's meanings). */
function refuses(attrs: SessionAttrs, server: PgServer): string | null {
  if (attrs === 'read-write' && server.readOnly) return server.role === 'standby' ? 'a standby (in recovery)' : 'read-only (default_transaction_read_only = on)';
  if (attrs === 'primary' && server.role === 'standby') return 'a standby (in recovery)';
  return null;
}

/** Asks the hosts after the chosen one; a second writable primary means split brain: write to neither. */
async function refuseSplitBrain(target: PgTarget, chosen: number, server: PgServer, options: Omit<ClientConfig, 'connectionString' | 'ssl'>): Promise<void> {
  const { hosts, urls } = target.hosts;
  const probes = urls.slice(chosen + 1).map(async (url, k) => {
    let probe: Client | null = null;
    try {
      probe = await connectOne(url, tlsFor(hosts[chosen + 1 + k], target.tls), { ...options, connectionTimeoutMillis: Math.min(options.connectionTimeoutMillis ?? SPLIT_BRAIN_PROBE_MS, SPLIT_BRAIN_PROBE_MS) }, () => undefined);
      const other = await describe(probe, hostName(hosts[chosen + 1 + k]), chosen + 1 + k);
      return other.role === 'primary' ? other : null;
    } catch {
      return null; // unreachable: not a primary anyone can write to
    } finally {
      await probe?.end().catch(() => undefined);
    }
  });
  const primaries = (await Promise.all(probes)).filter((p): p is PgServer => p !== null);
  if (primaries.length === 0) return;
  throw new EngineError(
    ErrorCodes.PG_SPLIT_BRAIN,
    `split brain: ${[server, ...primaries].map((p) => `${p.host} (system ${p.systemId}, timeline ${p.timeline})`).join(' and ')} all answer as primaries; the engine writes to none of them until one is fenced (stopped or made a standby)`,
    { retriable: true },
  );
}

const SPLIT_BRAIN_PROBE_MS = 2_000;

/** A Unix-domain socket carries no TLS: libpq ignores sslmode there, and so does the engine. */
function tlsFor(host: PgHost, tls: PgTls | null): PgTls | null {
  return isSocketHost(host) ? null : tls;
}

/** A connected client to one host; `prefer` and `allow` fall back to a plain connection when the server has no TLS. */
async function connectOne(url: string, tls: PgTls | null, extra: Omit<ClientConfig, 'connectionString' | 'ssl'>, onError?: (err: Error) => void): Promise<Client> {
  const ssl = tlsOptions(tls);
  const client = new Client({ ...extra, connectionString: url, ssl });
  if (onError) client.on('error', onError);
  try {
    await client.connect();
    return client;
  } catch (err) {
    const opportunistic = tls?.mode === 'prefer' || tls?.mode === 'allow';
    if (!opportunistic || !/does not support SSL/i.test(messageOf(err))) throw err;
  }
  const plain = new Client({ ...extra, connectionString: url, ssl: false });
  if (onError) plain.on('error', onError);
  await plain.connect();
  return plain;
}
