import type { Client, ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { log, redact } from '../log';
import { Backoff, DEFAULT_RETRY, type RetryPolicy } from '../retry';
import { connectPg, probeServer, serverOf, type PgServer, type PgTarget } from './pg-connection';
import { patchCopyFlush } from './pg-copy-streams-patch';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from '../copy/copy-binary';

// A refused COPY must not crash the process on a late 'drain' (see the module).
patchCopyFlush();

/** One COPY: the tuples of several chunks, written to one table in one statement. */
export interface CopyBatch {
  /** `COPY <target> FROM STDIN (FORMAT binary)`, e.g. `public.orders ("id","name")`. */
  target: string;
  /** Binary COPY tuples (see copy-binary.ts), in the order they are sent. */
  parts: readonly Uint8Array[];
  rows: number;
}

export interface SinkOptions {
  /** The hosts (libpq's multi-host URL) and TLS; every new connection picks the host as connectPg says. */
  target: PgTarget;
  connections: number;
  /**
   * Backoff for retriable failures (connection lost, server shutting down), and how long one batch may
   * keep failing before the sink gives up (ENG_PG_WRITE). Default: the config's defaults.
   */
  retry?: RetryPolicy;
  /** Called for each retry, with the cause (SQLSTATE or connection error code). */
  onRetry?: (cause: string) => void;
  /**
   * A connection lost by a failure was replaced: `server` is where the new one writes, `changed` whether
   * that is another server than before (a failover: another host, system or timeline). Exactly-once
   * re-reads its positions then: a promoted asynchronous replica may lack transactions it had committed.
   */
  onReconnect?: (server: PgServer, changed: boolean) => void;
}

/**
 * What the engine needs of the database it writes to: connections for its own transactions (pipeline
 * planning, claims), retried transactions (batches), and whether it is retrying an outage. PgSink is the
 * one implementation; [PG-HA]'s host list and tests stand behind this.
 */
export interface Sink {
  open(): Promise<void>;
  /** A connection of the sink's, for work outside a retried transaction; give it back with release. */
  acquire(): Promise<Client>;
  release(client: Client): void;
  /**
   * `work` in BEGIN … COMMIT, retried from the start on a retriable failure (see PgSink.transaction).
   * `attempt` counts from 1: from 2 on, an earlier attempt may have committed (its COMMIT got no answer).
   */
  transaction<T>(what: string, work: (client: Client, attempt: number) => Promise<T>): Promise<T>;
  /** Null, or what the sink is retrying (for readiness and the watchdog). */
  readonly retrying: string | null;
  /** The server the last connection reached; null before the first. */
  readonly server: PgServer | null;
  /** Since when no connection could be made (ms since the epoch), or null while one can. */
  readonly unwritableSince: number | null;
  /** Retry loops give up (ENG_SHUTDOWN) instead of waiting out an outage. */
  stopRetrying(): void;
  close(): Promise<void>;
}

/**
 * Writes batches into PostgreSQL with binary COPY over a fixed set of connections. A batch waits for a
 * free connection; retriable failures reconnect and retry with backoff until they succeed or the sink is
 * closed; a batch the server rejects (bad data, missing column) fails with ENG_PG_REJECTED.
 */
export class PgSink implements Sink {
  private readonly idle: Client[] = [];
  private readonly waiters: Array<{ resolve: (c: Client) => void; reject: (e: Error) => void }> = [];
  private closing = false;
  private opened = 0;
  /** Transactions waiting out a retriable failure, and the last cause. */
  private retryingNow = 0;
  private lastRetryCause = '';
  server: PgServer | null = null;
  unwritableSince: number | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly options: SinkOptions) {}

  async open(): Promise<void> {
    for (let i = 0; i < this.options.connections; i++) this.idle.push(await this.connect(false));
    this.opened = this.options.connections;
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /**
   * An idle engine still notices a lost server within seconds (and exactly-once re-reads its positions
   * from the one it reconnects to, rows lost in a promotion included), not at its next batch: every
   * HEARTBEAT_MS the longest-idle connection is asked `SELECT 1` and replaced if that fails.
   */
  private async beat(): Promise<void> {
    const client = this.idle.shift();
    if (!client) return;
    try {
      await client.query('SELECT 1');
      this.release(client);
    } catch {
      try {
        this.release(await this.reconnect(client, new Backoff(this.policy)));
      } catch {
        this.lose();
      }
    }
  }

  /** A connection for catalog queries; give it back with `release`. */
  async acquire(): Promise<Client> {
    const c = this.idle.pop();
    if (c) return c;
    if (this.closing && this.opened === 0) throw this.shutdownError();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(client: Client): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(client);
    else this.idle.push(client);
  }

  /** A connection could not be replaced while closing: with none left, nobody waiting can be served. */
  private lose(): void {
    this.opened--;
    if (this.opened === 0) for (const w of this.waiters.splice(0)) w.reject(this.shutdownError());
  }

  private shutdownError(): EngineError {
    return new EngineError(ErrorCodes.SHUTDOWN, 'the PostgreSQL sink is shutting down', { retriable: true });
  }

  /** One COPY in its own transaction (see `transaction`). */
  write(batch: CopyBatch): Promise<void> {
    return this.transaction(`COPY into ${batch.target} (${batch.rows} rows)`, (client) => copyRows(client, batch));
  }

  /**
   * Runs `work` inside BEGIN … COMMIT on a pooled connection. A retriable failure (connection lost, the
   * server shutting down or refusing connections, a serialization failure) rolls back, waits with backoff
   * and runs `work` again from the start, until retry.maxElapsed (then ENG_PG_WRITE); any other failure
   * rolls back and is thrown (a server error becomes ENG_PG_REJECTED). `what` names the work in errors.
   */
  async transaction<T>(what: string, work: (client: Client, attempt: number) => Promise<T>): Promise<T> {
    let retrying = false;
    try {
      return await this.attempts(what, work, () => {
        if (!retrying) this.retryingNow++;
        retrying = true;
      });
    } finally {
      if (retrying) this.retryingNow--;
    }
  }

  /** Null, or what the sink is retrying (for readiness). */
  get retrying(): string | null {
    return this.retryingNow > 0 ? `${this.retryingNow} batch${this.retryingNow > 1 ? 'es' : ''} retrying PostgreSQL: ${this.lastRetryCause}` : null;
  }

  private async attempts<T>(what: string, work: (client: Client, attempt: number) => Promise<T>, retrying: () => void): Promise<T> {
    let client = await this.acquire();
    const backoff = new Backoff(this.policy);
    for (let attempt = 1; ; attempt++) {
      const watch = this.watchLiveness(client);
      try {
        await client.query('BEGIN');
        const result = await work(client, attempt);
        await client.query('COMMIT');
        this.release(client);
        return result;
      } catch (err) {
        const retriable = isRetriable(err);
        if (!retriable || this.closing) {
          if (!retriable) await client.query('ROLLBACK').catch(() => undefined);
          await this.resetOrReplace(client).then(
            (c) => this.release(c),
            () => this.lose(),
          );
          if (err instanceof EngineError) throw err;
          throw new EngineError(retriable ? ErrorCodes.SHUTDOWN : ErrorCodes.PG_REJECTED, `${what} failed: ${pgMessage(err)}`, { cause: err, retriable });
        }
        const wait = backoff.next();
        if (wait === null) {
          await this.resetOrReplace(client, backoff).then((c) => this.release(c), () => this.lose());
          throw this.exhausted(what, err);
        }
        retrying();
        this.lastRetryCause = pgMessage(err);
        this.options.onRetry?.((err as { code?: string }).code ?? 'connection');
        log.warn(`${what} failed (attempt ${attempt}, retrying in ${wait} ms): ${pgMessage(err)}`);
        await sleep(wait);
        try {
          client = await this.reconnect(client, backoff);
        } catch (e) {
          this.lose();
          if (e instanceof EngineError && e.code === ErrorCodes.PG_WRITE) throw this.exhausted(what, err);
          throw new EngineError(ErrorCodes.SHUTDOWN, `${what} abandoned at shutdown: ${pgMessage(err)}`, { cause: e, retriable: true });
        }
      } finally {
        clearInterval(watch);
      }
    }
  }

  /**
   * A server that vanishes mid-transaction (powered off, cut off) sends no reset: the socket would wait for
   * the kernel's TCP timeout, many minutes. So while a transaction runs, every LIVENESS_MS a fresh
   * connection asks its server `SELECT 1`; if that fails, the transaction's socket is destroyed and the
   * batch is retried elsewhere. A server that is slow but alive (a lock held for a while) answers the
   * probe and is waited for, however long the statement takes.
   */
  private watchLiveness(client: Client): NodeJS.Timeout {
    let probing = false;
    const timer = setInterval(() => {
      const server = serverOf(client);
      if (probing || !server) return;
      probing = true;
      void probeServer(server, this.options.target, LIVENESS_MS).then((problem) => {
        probing = false;
        if (problem === null) return;
        log.warn(`PostgreSQL ${server.host} does not answer a new connection (${problem}): abandoning the transaction in progress there`);
        // ETIMEDOUT: a connection failure, retried like the others (isRetriable).
        const gone = Object.assign(new Error(`${server.host} stopped answering`), { code: 'ETIMEDOUT' });
        (client as unknown as { connection: { stream: { destroy(err: Error): void } } }).connection.stream.destroy(gone);
      });
    }, LIVENESS_MS);
    timer.unref();
    return timer;
  }

  private get policy(): RetryPolicy {
    return this.options.retry ?? DEFAULT_RETRY;
  }

  private exhausted(what: string, err: unknown): EngineError {
    const budget = Math.round(this.policy.maxElapsedMs / 1000);
    return new EngineError(ErrorCodes.PG_WRITE, `${what} kept failing for ${budget} s (retry.maxElapsed): ${pgMessage(err)}; nothing past the last durable row is committed`, { cause: err });
  }

  /** Retry loops give up (ENG_SHUTDOWN) instead of waiting out an outage; COPYs in progress finish. */
  stopRetrying(): void {
    this.closing = true;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const clients = this.idle.splice(0);
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }

  private async connect(afterLoss: boolean): Promise<Client> {
    let client: Client;
    try {
      client = await connectPg(this.options.target, {
        application_name: 'kafka-pg-engine',
        // A process frozen inside a transaction (SIGSTOP, a swapped-out VM) would hold its row locks in the
        // offsets table forever and stop the partition's next owner; the server ends such a session instead.
        idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
      }, (err) => log.warn(`postgres connection error: ${err.message}`));
    } catch (err) {
      this.unwritableSince ??= Date.now();
      if (err instanceof EngineError) throw err;
      throw new EngineError(ErrorCodes.PG_CONNECT, `cannot connect to PostgreSQL at ${redact(this.options.target.hosts.urls[0] ?? '')}: ${pgMessage(err)}`, {
        cause: err,
        retriable: true,
      });
    }
    this.unwritableSince = null;
    const server = serverOf(client)!;
    const before = this.server;
    const changed = before !== null && (before.host !== server.host || before.systemId !== server.systemId || before.timeline !== server.timeline);
    this.server = server;
    if (changed) log.warn(`PostgreSQL: now writing to ${server.host} (${server.role}, system ${server.systemId}, timeline ${server.timeline}); was ${before.host} (system ${before.systemId}, timeline ${before.timeline})`);
    if (afterLoss) this.options.onReconnect?.(server, changed);
    return client;
  }

  /** Replaces a broken connection, waiting out the outage on the batch's backoff (then ENG_PG_WRITE). */
  private async reconnect(old: Client, backoff: Backoff): Promise<Client> {
    await old.end().catch(() => undefined);
    for (;;) {
      try {
        return await this.connect(true);
      } catch (err) {
        if (this.closing) throw err;
        const wait = backoff.next();
        if (wait === null) throw new EngineError(ErrorCodes.PG_WRITE, messageOf(err), { cause: err });
        log.warn(`${messageOf(err)} (retrying in ${wait} ms)`);
        await sleep(wait);
      }
    }
  }

  private async resetOrReplace(client: Client, backoff = new Backoff(this.policy)): Promise<Client> {
    try {
      await client.query('SELECT 1');
      return client;
    } catch {
      return this.reconnect(client, backoff);
    }
  }
}

/** How often an idle connection is checked (PgSink.beat) and a running transaction's server probed (watchLiveness). */
const HEARTBEAT_MS = 2_000;
const LIVENESS_MS = 5_000;

/** How long a session may sit idle inside a transaction before the server ends it (and its locks). */
export const IDLE_IN_TRANSACTION_MS = 30_000;

/**
 * Sends one binary COPY on `client` (inside the caller's transaction). A batch without rows sends nothing.
 * Errors are the server's, raw: the transaction decides what they mean.
 */
export async function copyRows(client: ClientBase, batch: CopyBatch): Promise<void> {
  if (batch.rows === 0) return;
  const stream = client.query(copyFrom(`COPY ${batch.target} FROM STDIN (FORMAT binary)`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  stream.write(COPY_BINARY_HEADER);
  for (const part of batch.parts) stream.write(part);
  stream.end(COPY_BINARY_TRAILER);
  await done;
}

/**
 * Runs `work` under a savepoint of the open transaction: if it fails, what it did is undone and the
 * transaction stays usable (the rows that landed before it stay). The error is rethrown.
 */
export async function underSavepoint<T>(client: ClientBase, work: () => Promise<T>): Promise<T> {
  await client.query('SAVEPOINT kpe');
  try {
    const result = await work();
    await client.query('RELEASE SAVEPOINT kpe');
    return result;
  } catch (err) {
    if (!isRetriable(err)) await client.query('ROLLBACK TO SAVEPOINT kpe');
    throw err;
  }
}

/** Connection-level and server-availability failures are worth retrying; data and schema errors are not. */
export function isRetriable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  // 25P03: the server ended a session left idle in a transaction (see IDLE_IN_TRANSACTION_MS). 25006: a
  // write reached a server that is read-only now (demoted, or a standby that a failover left us on).
  if (/^(08|53|57P0|40001|40P01|25P03|25006)/.test(code)) return true;
  // No host of the list will do yet (a promotion under way), or two claim to be primary: wait it out.
  if (err instanceof EngineError) return err.code === ErrorCodes.PG_CONNECT || err.code === ErrorCodes.PG_SPLIT_BRAIN;
  if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTCONN)$/.test(code)) return true;
  const message = e?.message ?? '';
  return /Connection terminated|not queryable|Client has encountered a connection error/i.test(message);
}

function pgMessage(err: unknown): string {
  const e = err as { code?: string; detail?: string; where?: string };
  const parts = [messageOf(err)];
  if (e?.code) parts.push(`[${e.code}]`);
  if (e?.where) parts.push(`at ${e.where}`);
  if (e?.detail) parts.push(`(${e.detail})`);
  return parts.join(' ');
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
