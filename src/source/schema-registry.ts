import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { RegistryConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { log } from '../log';
import { DEFAULT_RETRY, retry, type RetryPolicy } from '../retry';
import { SchemaTable } from '../ring/schema-table';

/**
 * Fetches writer schemas from a Confluent-compatible schema registry (GET {url}/schemas/ids/{id}) the
 * first time a record names an id, and publishes them into the shared schema table before that record
 * enters the ring. An id the registry does not know is published as an error, so the worker fails just
 * the records that name it. An unreachable registry is retried with backoff; polling waits meanwhile.
 */
export class SchemaGate {
  readonly table = new SchemaTable();
  private readonly clients: Array<RegistryClient | null>;
  private lastPipeline = -1;
  private lastId = -1;
  private pendingPipeline = -1;
  private pendingId = -1;
  private stopped = false;
  /**
   * Looks at each writer schema before it is published: returns the entry to publish (the schema, or an
   * error its records fail with), or throws to stop polling ([Tables] evolve, engine/evolve.ts).
   */
  admit: ((pipeline: number, id: number, registered: string) => string) | null = null;

  /** `deletesByKey[p]`: pipeline p (upsert, cdc) deletes by the keys of tombstones, whose schemas are needed too. */
  constructor(
    registries: ReadonlyArray<RegistryConfig | null>,
    private readonly deletesByKey: readonly boolean[] = [],
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.clients = registries.map((r) => (r === null ? null : new RegistryClient(r)));
  }

  get enabled(): boolean {
    return this.clients.some((u) => u !== null);
  }

  /**
   * True when the record needs a schema that is not published yet (call fetchPending, then retry).
   * Records not in the wire format pass: the worker reports them as undecodable.
   */
  needs(pipeline: number, value: Buffer | null | undefined): boolean {
    if (this.clients[pipeline] === null || !value || value.length < 5 || value[0] !== 0) return false;
    const id = value.readInt32BE(1);
    if (id === this.lastId && pipeline === this.lastPipeline) return false;
    if (this.table.has(pipeline, id)) {
      this.lastPipeline = pipeline;
      this.lastId = id;
      return false;
    }
    this.pendingPipeline = pipeline;
    this.pendingId = id;
    return true;
  }

  /** Whether the keys of the pipeline's tombstones are framed too (their schema must be published first). */
  keysFramed(pipeline: number): boolean {
    return this.clients[pipeline] !== null && this.deletesByKey[pipeline] === true;
  }

  /** Whether the pipeline's records are framed for a registry (their schema must be published first). */
  framed(pipeline: number): boolean {
    return this.clients[pipeline] !== null;
  }

  /** Fetches and publishes the schema `id` of `pipeline` (the native poller found a record that needs it). */
  request(pipeline: number, id: number): Promise<void> {
    this.pendingPipeline = pipeline;
    this.pendingId = id;
    return this.fetchPending();
  }

  async fetchPending(): Promise<void> {
    const pipeline = this.pendingPipeline;
    const id = this.pendingId;
    const client = this.clients[pipeline]!;
    const url = client.schemaUrl(id);
    let text: string;
    try {
      text = await retry(() => client.fetchSchema(id), this.policy, {
        retriable: (err) => !(err instanceof EngineError) || err.retriable,
        stopped: () => this.stopped,
        onRetry: (err, wait) => log.warn(`${messageOf(err)}; retrying in ${wait} ms (polling waits)`),
        exhausted: (err, p) =>
          new EngineError(ErrorCodes.REGISTRY, `schema id ${id} from ${url}: kept failing for ${Math.round(p.maxElapsedMs / 1000)} s (retry.maxElapsed): ${messageOf(err)}`, { cause: err }),
      });
    } catch (err) {
      if (this.stopped) return;
      throw err;
    }
    log.info(`schema id ${id} fetched from ${url}`);
    this.table.publish(pipeline, id, this.admit === null ? text : this.admit(pipeline, id, text));
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.clients) c?.close();
  }
}

/**
 * GET {url}/schemas/ids/{id} with node:http(s), which (unlike fetch) takes a CA and a client certificate;
 * credentials go in an Authorization header, never in the URL that messages print.
 */
export class RegistryClient {
  private readonly agent: http.Agent;
  private readonly auth: string | null;

  constructor(private readonly config: RegistryConfig) {
    const tls = config.url.startsWith('https:');
    const read = (file: string | null) => (file === null ? undefined : readFileSync(file));
    this.agent = tls ? new https.Agent({ keepAlive: true, ca: read(config.ca), cert: read(config.cert), key: read(config.key) }) : new http.Agent({ keepAlive: true });
    this.auth = config.username === null ? null : `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`;
  }

  close(): void {
    this.agent.destroy();
  }

  schemaUrl(id: number): string {
    return `${this.config.url}/schemas/ids/${id}`;
  }

  /** The registry's JSON for the id, or {error} when it answers that the id does not exist. */
  async fetchSchema(id: number): Promise<string> {
    const url = this.schemaUrl(id);
    let res: { status: number; body: string };
    try {
      res = await this.get(url);
    } catch (err) {
      throw new EngineError(ErrorCodes.REGISTRY, `schema registry ${url} is unreachable: ${messageOf(err)}`, { cause: err, retriable: !/certificate|self.signed|CERT_|unable to verify/i.test(messageOf(err)) });
    }
    if (res.status === 404) return JSON.stringify({ error: `schema id ${id} is not in the registry (${url} answered 404: ${res.body.slice(0, 200)})` });
    return this.schemaOf(url, res).registered;
  }

  /** [Tables] The latest version registered under `subject` (evolve's preview in `engine validate --print-ddl`). */
  async fetchLatest(subject: string): Promise<{ id: number; version: number; registered: string }> {
    const url = `${this.config.url}/subjects/${encodeURIComponent(subject)}/versions/latest`;
    let res: { status: number; body: string };
    try {
      res = await this.get(url);
    } catch (err) {
      throw new EngineError(ErrorCodes.REGISTRY, `schema registry ${url} is unreachable: ${messageOf(err)}`, { cause: err });
    }
    if (res.status === 404) throw new EngineError(ErrorCodes.REGISTRY, `subject ${subject} is not in the registry (${url} answered 404)`);
    return this.schemaOf(url, res);
  }

  /** The registry's answer as the schema table's JSON ({schema, schemaType, references}), with its id and version when it gives them. */
  private schemaOf(url: string, { status, body }: { status: number; body: string }): { id: number; version: number; registered: string } {
    if (status === 401 || status === 403) throw new EngineError(ErrorCodes.REGISTRY, `schema registry ${url} refused the credentials (${status}${this.auth === null ? ', and the config gives none: set registry.username and password' : ''})`);
    if (status < 200 || status >= 300) throw new EngineError(ErrorCodes.REGISTRY, `schema registry ${url} answered ${status}: ${body.slice(0, 200)}`, { retriable: status >= 500 || status === 429 });
    try {
      const parsed = JSON.parse(body) as { schema?: unknown; schemaType?: unknown; references?: unknown; id?: unknown; version?: unknown };
      if (typeof parsed.schema !== 'string') throw new Error('no "schema" string in the answer');
      const registered = JSON.stringify({ schema: parsed.schema, schemaType: parsed.schemaType ?? 'AVRO', references: parsed.references ?? [] });
      return { id: typeof parsed.id === 'number' ? parsed.id : -1, version: typeof parsed.version === 'number' ? parsed.version : -1, registered };
    } catch (err) {
      throw new EngineError(ErrorCodes.REGISTRY, `schema registry ${url} sent an answer that is not a schema: ${messageOf(err)}`, { cause: err });
    }
  }

  private get(url: string): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
    if (this.auth !== null) headers.authorization = this.auth;
    const request = url.startsWith('https:') ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(url, { headers, agent: this.agent, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', reject);
      req.end();
    });
  }
}
