import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric name starts with this. */
export const PREFIX = 'kpe_';

const SIZE_BUCKETS = [100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000];
const BYTE_BUCKETS = [64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20, 64 << 20];
const SECOND_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * The engine's Prometheus metrics (docs/operations.md lists them). Everything is counted per chunk or per
 * batch, never per record: the hot path pays a few map lookups per batch of thousands of rows.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  private readonly r = [this.registry];

  readonly recordsConsumed = new Counter({ name: `${PREFIX}records_consumed_total`, help: 'Records polled from Kafka into the ring', registers: this.r });
  readonly rowsWritten = new Counter({ name: `${PREFIX}records_written_total`, help: 'Records made durable as rows', labelNames: ['pipeline'], registers: this.r });
  readonly recordFailures = new Counter({ name: `${PREFIX}records_failed_total`, help: 'Records that produced no row, by error code', labelNames: ['pipeline', 'code'], registers: this.r });
  readonly deadLettered = new Counter({ name: `${PREFIX}records_dead_lettered_total`, help: 'Records the dead-letter topic acknowledged', labelNames: ['pipeline'], registers: this.r });
  readonly skipped = new Counter({ name: `${PREFIX}records_skipped_total`, help: 'Records skipped (onRecordError: skip)', labelNames: ['pipeline'], registers: this.r });
  readonly batches = new Counter({ name: `${PREFIX}batches_total`, help: 'Batches made durable', labelNames: ['pipeline'], registers: this.r });
  readonly copies = new Counter({ name: `${PREFIX}copy_statements_total`, help: 'COPY statements sent, including those that split refused batches', registers: this.r });
  readonly batchRows = new Histogram({ name: `${PREFIX}batch_rows`, help: 'Rows per batch', labelNames: ['pipeline'], buckets: SIZE_BUCKETS, registers: this.r });
  readonly batchBytes = new Histogram({ name: `${PREFIX}batch_bytes`, help: 'Binary COPY bytes per batch', labelNames: ['pipeline'], buckets: BYTE_BUCKETS, registers: this.r });
  readonly copySeconds = new Histogram({ name: `${PREFIX}copy_duration_seconds`, help: 'A batch transaction (COPY and, exactly-once, its offsets), from start to commit', labelNames: ['pipeline'], buckets: SECOND_BUCKETS, registers: this.r });
  readonly rowsEncoded = new Counter({ name: `${PREFIX}rows_encoded_total`, help: '[Transcode] Rows the decode workers wrote, by path: generated (an Avro record by the function generated for its schema), transcoder (Avro or Protobuf bytes straight to the row by the transcoder closures) or object (decoded to a JS value first)', labelNames: ['path'], registers: this.r });
  readonly decodeSeconds = new Histogram({ name: `${PREFIX}decode_duration_seconds`, help: 'Decoding and encoding one chunk in a worker', buckets: SECOND_BUCKETS, registers: this.r });
  readonly latencySeconds = new Histogram({ name: `${PREFIX}end_to_end_latency_seconds`, help: 'Row durable minus the Kafka timestamp of the first record of its chunk', labelNames: ['pipeline'], buckets: LATENCY_BUCKETS, registers: this.r });
  readonly recordsInFlight = new Gauge({ name: `${PREFIX}records_in_flight`, help: 'Records polled and not yet durable', registers: this.r });
  readonly ringUsedBytes = new Gauge({ name: `${PREFIX}ring_used_bytes`, help: 'Bytes of the ring held by records in flight', registers: this.r });
  readonly ringCapacityBytes = new Gauge({ name: `${PREFIX}ring_capacity_bytes`, help: 'Size of the ring', registers: this.r });
  readonly chunksWaiting = new Gauge({ name: `${PREFIX}chunks_waiting_for_worker`, help: 'Chunks queued for a decode worker', registers: this.r });
  readonly workerBusy = new Gauge({ name: `${PREFIX}worker_busy_ratio`, help: 'Share of time the decode workers were busy since start', registers: this.r });
  readonly consumedOffset = new Gauge({ name: `${PREFIX}partition_consumed_offset`, help: 'Next offset after the last record polled', labelNames: ['topic', 'partition'], registers: this.r });
  readonly committedOffset = new Gauge({ name: `${PREFIX}partition_committed_offset`, help: 'Next offset after the last durable record (what is committed)', labelNames: ['topic', 'partition'], registers: this.r });
  readonly highWatermark = new Gauge({ name: `${PREFIX}partition_high_watermark`, help: "The partition's end offset, from the broker", labelNames: ['topic', 'partition'], registers: this.r });
  readonly lag = new Gauge({ name: `${PREFIX}partition_lag`, help: 'High watermark minus the committed offset', labelNames: ['topic', 'partition'], registers: this.r });
  readonly rebalances = new Counter({ name: `${PREFIX}rebalances_total`, help: 'Partition assignments and revocations', labelNames: ['kind'], registers: this.r });
  readonly assignedPartitions = new Gauge({ name: `${PREFIX}assigned_partitions`, help: 'Partitions assigned to this engine', registers: this.r });
  readonly reclaims = new Counter({ name: `${PREFIX}position_rereads_total`, help: 'Exactly-once: times every owned partition was claimed again after a lost PostgreSQL connection', registers: this.r });
  readonly pgFailovers = new Counter({ name: `${PREFIX}postgres_failovers_total`, help: 'Reconnects that reached another PostgreSQL server (host, system or timeline) than before', registers: this.r });
  readonly pgServer = new Gauge({ name: `${PREFIX}postgres_server`, help: '1 for the PostgreSQL host the engine writes to', labelNames: ['host', 'role'], registers: this.r });
  readonly pgUnwritableSeconds = new Gauge({ name: `${PREFIX}postgres_unwritable_seconds`, help: 'How long no PostgreSQL host could be connected to (0 while one can)', registers: this.r });
  readonly kafkaCluster = new Gauge({ name: `${PREFIX}kafka_cluster`, help: '[DR] 1 for the Kafka cluster the group reads (primary or dr; engine failover moves it)', labelNames: ['cluster', 'brokers'], registers: this.r });
  readonly retries = new Counter({ name: `${PREFIX}retries_total`, help: 'Retried failures, by cause (SQLSTATE or error code)', labelNames: ['stage', 'cause'], registers: this.r });
  readonly ready = new Gauge({ name: `${PREFIX}ready`, help: '1 while the /readyz check passes, 0 while it fails, per check (the alert rules read it)', labelNames: ['check'], registers: this.r });
  readonly paused = new Gauge({ name: `${PREFIX}paused`, help: '1 while polling waits, by reason (ring_full: PostgreSQL or the workers behind)', labelNames: ['reason'], registers: this.r });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Forgets a revoked partition's gauges (they would report a stale lag forever). */
  forgetPartition(topic: string, partition: number): void {
    const labels = { topic, partition: String(partition) };
    for (const g of [this.consumedOffset, this.committedOffset, this.highWatermark, this.lag]) g.remove(labels);
  }
}
