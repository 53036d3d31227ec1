import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, type ClientConfig } from 'pg';
import type { PgTls } from '../config/postgres-tls';
import { EngineError, ErrorCodes, messageOf } from '../errors';

/** Where the engine's PostgreSQL is: the URL (without TLS parameters) and its TLS settings. */
export interface PgTarget {
  url: string;
  tls: PgTls | null;
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

/** A connected client; `prefer` and `allow` fall back to a plain connection when the server has no TLS. */
export async function connectPg(target: PgTarget, extra: Omit<ClientConfig, 'connectionString' | 'ssl'>, onError?: (err: Error) => void): Promise<Client> {
  const ssl = tlsOptions(target.tls);
  const client = new Client({ ...extra, connectionString: target.url, ssl });
  if (onError) client.on('error', onError);
  try {
    await client.connect();
    return client;
  } catch (err) {
    const opportunistic = target.tls?.mode === 'prefer' || target.tls?.mode === 'allow';
    if (!opportunistic || !/does not support SSL/i.test(messageOf(err))) throw err;
  }
  const plain = new Client({ ...extra, connectionString: target.url, ssl: false });
  if (onError) plain.on('error', onError);
  await plain.connect();
  return plain;
}
