import { EngineError, ErrorCodes, messageOf } from '../errors';
import { log } from '../log';
import { SchemaTable } from '../ring/schema-table';

/**
 * Fetches writer schemas from a Confluent-compatible schema registry (GET {url}/schemas/ids/{id}) the
 * first time a record names an id, and publishes them into the shared schema table before that record
 * enters the ring. An id the registry does not know is published as an error, so the worker fails just
 * the records that name it. An unreachable registry is retried with backoff; polling waits meanwhile.
 */
export class SchemaGate {
  readonly table = new SchemaTable();
  private readonly urls: Array<string | null>;
  private lastPipeline = -1;
  private lastId = -1;
  private pendingPipeline = -1;
  private pendingId = -1;
  private stopped = false;

  constructor(registries: ReadonlyArray<{ url: string } | null>) {
    this.urls = registries.map((r) => r?.url ?? null);
  }

  get enabled(): boolean {
    return this.urls.some((u) => u !== null);
  }

  /**
   * True when the record needs a schema that is not published yet (call fetchPending, then retry).
   * Records not in the wire format pass: the worker reports them as undecodable.
   */
  needs(pipeline: number, value: Buffer | null | undefined): boolean {
    if (this.urls[pipeline] === null || !value || value.length < 5 || value[0] !== 0) return false;
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

  /** Whether the pipeline's records are framed for a registry (their schema must be published first). */
  framed(pipeline: number): boolean {
    return this.urls[pipeline] !== null;
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
    const url = `${this.urls[pipeline]}/schemas/ids/${id}`;
    let delay = 200;
    for (;;) {
      try {
        this.table.publish(pipeline, id, await fetchSchema(url, id));
        log.info(`schema id ${id} fetched from ${url}`);
        return;
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof EngineError && !err.retriable) throw err;
        log.warn(`${messageOf(err)}; retrying in ${delay} ms (polling waits)`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  stop(): void {
    this.stopped = true;
  }
}

/** The registry's JSON for the id, or {error} when it answers that the id does not exist. */
async function fetchSchema(url: string, id: number): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new EngineError(ErrorCodes.REGISTRY, `schema registry ${url} is unreachable: ${messageOf(err)}`, { cause: err, retriable: true });
  }
  const body = await res.text();
  if (res.status === 404) return JSON.stringify({ error: `schema id ${id} is not in the registry (${url} answered 404: ${body.slice(0, 200)})` });
  if (!res.ok) throw new EngineError(ErrorCodes.REGISTRY, `schema registry ${url} answered ${res.status}: ${body.slice(0, 200)}`, { retriable: res.status >= 500 || res.status === 429 });
  try {
    const parsed = JSON.parse(body) as { schema?: unknown; schemaType?: unknown; references?: unknown };
    if (typeof parsed.schema !== 'string') throw new Error('no "schema" string in the answer');
    return JSON.stringify({ schema: parsed.schema, schemaType: parsed.schemaType ?? 'AVRO', references: parsed.references ?? [] });
  } catch (err) {
    throw new EngineError(ErrorCodes.REGISTRY, `schema registry ${url} sent an answer that is not a schema: ${messageOf(err)}`, { cause: err });
  }
}
