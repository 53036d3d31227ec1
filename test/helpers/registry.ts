import http from 'node:http';

/**
 * A small schema registry for tests, implementing the endpoints of Confluent's REST API that the
 * engine and the test producers use: POST /subjects/{subject}/versions, GET /schemas/ids/{id} and
 * GET /subjects/{subject}/versions/latest.
 * (No registry server can be installed on these machines; see docs/configuration.md, Formats and types.)
 */
export class TestRegistry {
  private readonly schemas: Array<{ schema: string; schemaType: string }> = [];
  /** Subject → the ids registered under it, in order (its versions). */
  private readonly subjects = new Map<string, number[]>();
  private server: http.Server | null = null;
  url = '';
  requests: string[] = [];
  /** Requests refused for want of the expected Authorization header. */
  unauthorized = 0;

  /** `server` makes the server (e.g. https with a certificate); `auth`: the Authorization header required. */
  async start(o: { server?: (handler: http.RequestListener) => http.Server; auth?: string } = {}): Promise<void> {
    const handler: http.RequestListener = (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (o.auth !== undefined && req.headers.authorization !== o.auth) {
          this.unauthorized++;
          return void res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end('{"error_code":401,"message":"Unauthorized"}');
        }
        this.handle(req, body, res);
      });
    };
    this.server = o.server ? o.server(handler) : http.createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `${o.server ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** Registers a schema (under `subject`, as its next version) and returns its id (ids start at 1, as Confluent's do). */
  register(schema: string, schemaType = 'AVRO', subject?: string): number {
    this.schemas.push({ schema, schemaType });
    const id = this.schemas.length;
    if (subject !== undefined) this.subjects.set(subject, [...(this.subjects.get(subject) ?? []), id]);
    return id;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    const json = (status: number, value: unknown): void => void res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify(value));
    const byId = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && byId) {
      const s = this.schemas[Number(byId[1]) - 1];
      if (!s) return json(404, { error_code: 40403, message: 'Schema not found' });
      // Confluent leaves schemaType out for Avro.
      return json(200, s.schemaType === 'AVRO' ? { schema: s.schema } : { schema: s.schema, schemaType: s.schemaType });
    }
    const versions = /^\/subjects\/([^/]+)\/versions(\/latest)?$/.exec(req.url ?? '');
    if (req.method === 'POST' && versions && !versions[2]) {
      const { schema, schemaType } = JSON.parse(body) as { schema: string; schemaType?: string };
      return json(200, { id: this.register(schema, schemaType ?? 'AVRO', decodeURIComponent(versions[1])) });
    }
    if (req.method === 'GET' && versions?.[2]) {
      const subject = decodeURIComponent(versions[1]);
      const ids = this.subjects.get(subject);
      if (!ids) return json(404, { error_code: 40401, message: `Subject '${subject}' not found.` });
      const id = ids[ids.length - 1];
      const s = this.schemas[id - 1];
      return json(200, { subject, version: ids.length, id, schema: s.schema, ...(s.schemaType === 'AVRO' ? {} : { schemaType: s.schemaType }) });
    }
    json(404, { error_code: 404, message: `no route ${req.method} ${req.url}` });
  }
}

/** Confluent wire format: magic byte 0, big-endian schema id, optional Protobuf message indexes, payload. */
export function frame(id: number, payload: Buffer, messageIndexes?: number[]): Buffer {
  const head = Buffer.alloc(5);
  head.writeInt32BE(id, 1);
  if (messageIndexes === undefined) return Buffer.concat([head, payload]);
  const zz = (n: number) => ((n << 1) ^ (n >> 31)) >>> 0;
  const varints = messageIndexes.length === 1 && messageIndexes[0] === 0 ? [0] : [zz(messageIndexes.length), ...messageIndexes.map(zz)];
  return Buffer.concat([head, Buffer.from(varints), payload]);
}
