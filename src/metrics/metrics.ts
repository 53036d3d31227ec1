import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { log } from '../log';

/**
 * The engine's Prometheus metrics. Counters are bumped per chunk or per batch, never per record.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  readonly recordsPolled = new Counter({ name: 'engine_records_polled_total', help: 'Records written into the ring', registers: [this.registry] });
  readonly rowsWritten = new Counter({ name: 'engine_rows_written_total', help: 'Rows made durable by COPY', labelNames: ['pipeline'], registers: [this.registry] });
  readonly batchesWritten = new Counter({ name: 'engine_batches_written_total', help: 'COPY statements that succeeded', labelNames: ['pipeline'], registers: [this.registry] });
  readonly recordFailures = new Counter({ name: 'engine_record_failures_total', help: 'Records that produced no row', labelNames: ['pipeline', 'code'], registers: [this.registry] });
  readonly ringUsedBytes = new Gauge({ name: 'engine_ring_used_bytes', help: 'Bytes of the ring held by chunks not yet durable', registers: [this.registry] });
  readonly ringCapacityBytes = new Gauge({ name: 'engine_ring_capacity_bytes', help: 'Size of the ring', registers: [this.registry] });
  readonly assignedPartitions = new Gauge({ name: 'engine_assigned_partitions', help: 'Partitions assigned to this engine', registers: [this.registry] });
  private server: http.Server | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Serves /metrics on the port (0 picks a free one); resolves with the bound port. */
  serve(port: number): Promise<number> {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', (err) => reject(new Error(`metrics.port ${port}: ${err.message}`)));
      this.server!.listen(port, () => {
        const bound = (this.server!.address() as { port: number }).port;
        log.info(`metrics on http://0.0.0.0:${bound}/metrics`);
        resolve(bound);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    return server ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve();
  }
}
