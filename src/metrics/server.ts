import http from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { log, redact } from '../log';

/** One readiness condition, as /readyz reports it. */
export interface Check {
  ok: boolean;
  detail: string;
}

/** What /readyz asks of the engine: Kafka and PostgreSQL reachable, an assignment received, no retry loop. */
export type ReadinessChecks = () => Record<string, Check>;

/** The event loop counts as stuck when its delay over the last interval exceeds this. */
const STUCK_LOOP_MS = 5_000;

/**
 * The operator's HTTP endpoints on `metrics.host:metrics.port`:
 *   /metrics  Prometheus text format (refreshed by `beforeScrape`)
 *   /healthz  200 while the process runs and its event loop answers in time, else 503
 *   /readyz   200 when every readiness check passes, else 503; the JSON body says which failed and why
 */
export class MetricsServer {
  private server: http.Server | null = null;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });

  constructor(
    private readonly registry: Registry,
    private readonly checks: ReadinessChecks,
    private readonly beforeScrape: () => void,
  ) {}

  /** Listens (port 0 picks a free one); resolves with the bound port. */
  serve(host: string, port: number): Promise<number> {
    this.loop.enable();
    this.server = http.createServer((req, res) => this.handle(req.url ?? '/', res));
    return new Promise((resolve, reject) => {
      this.server!.once('error', (err) => reject(new Error(`metrics.host/port ${host}:${port}: ${err.message}`)));
      this.server!.listen(port, host, () => {
        const bound = (this.server!.address() as { port: number }).port;
        log.info(`metrics on http://${host}:${bound}/metrics, health on /healthz and /readyz`);
        resolve(bound);
      });
    });
  }

  private handle(url: string, res: http.ServerResponse): void {
    const path = url.split('?')[0];
    if (path === '/metrics') {
      this.beforeScrape();
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === '/healthz') {
      const delayMs = this.loop.max / 1e6;
      this.loop.reset();
      json(res, delayMs < STUCK_LOOP_MS ? 200 : 503, { status: delayMs < STUCK_LOOP_MS ? 'ok' : 'event loop stuck', eventLoopDelayMaxMs: Math.round(delayMs) });
    } else if (path === '/readyz') {
      const checks = this.checks();
      const ready = Object.values(checks).every((c) => c.ok);
      json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    } else res.writeHead(404).end();
  }

  close(): Promise<void> {
    this.loop.disable();
    const server = this.server;
    this.server = null;
    return server ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve();
  }
}

/** Bodies pass through the log's redaction: a check's detail may quote an error that holds a secret. */
function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${redact(JSON.stringify(body))}\n`);
}
