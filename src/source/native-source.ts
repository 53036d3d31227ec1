import type { TopicPartitionOffset } from '../commit/commit-tracker';
import type { EngineConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { log } from '../log';
import { DATA_START } from '../ring/layout';
import { loadNative, nativeUnavailableReason, OUT_EVENTS, OUT_PART0, type NativeConsumerHandle, type NativeEvent } from './native-binding';
import type { TopicRoutes } from './routes';
import { consumerSettings, DEFAULT_BUFFERS, describeOffsets, finalKafkaProblem, kafkaConnectError, parseGroupState, RebalanceSteps, type ConsumerClient, type GroupState, type SourceEvents, type TopicPartition } from './source';

/** Room in fill()'s report for this many partitions per call; more in one batch wait for the next fill. */
export const FILL_REPORT_PARTITIONS = 1024;

/**
 * The engine's Kafka consumer through the native/ addon (engine.source: native). Messages never become
 * JS objects: NativePoller asks fill() to write them into the ring. Rebalances arrive as events after a
 * fill; this class tells the addon each assigned topic's route (the ids its frames carry) and which
 * partitions to accept, then applies the assignment, so librdkafka waits for the engine exactly as with
 * node-rdkafka's rebalance callback.
 */
export class NativeSource implements ConsumerClient {
  readonly kind = 'native';
  readonly handle: NativeConsumerHandle;
  private closed = false;
  private readonly steps = new RebalanceSteps();

  constructor(
    private readonly kafka: EngineConfig['kafka'],
    private readonly routes: TopicRoutes,
    private readonly events: SourceEvents,
    buffers: Pick<EngineConfig['engine'], 'fetchQueueKBytes' | 'fetchQueueMessages' | 'fetchMaxBytes'> = DEFAULT_BUFFERS,
  ) {
    const addon = loadNative();
    if (!addon) throw new EngineError(ErrorCodes.NATIVE_UNAVAILABLE, `engine.source native: the addon cannot be loaded: ${nativeUnavailableReason()}`);
    const settings: Record<string, string> = {};
    for (const [key, value] of Object.entries(consumerSettings(kafka, buffers))) settings[key] = String(value);
    try {
      this.handle = new addon.NativeConsumer(settings);
    } catch (err) {
      throw new EngineError(ErrorCodes.CONFIG_INVALID, `kafka.config: ${messageOf(err)}`, { cause: err });
    }
  }

  connect(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.handle.connect(timeoutMs, (err) => {
        if (err) reject(kafkaConnectError(this.kafka.brokers, err.message, err));
        else resolve();
      });
    });
  }

  subscribe(topics: string[]): void {
    this.handle.subscribe(topics);
  }

  /** Runs one fill (see NativePoller); resolves when its report is in `out`. Events are dispatched after. */
  fill(pos: number, limit: number, maxMessages: number, timeoutMs: number, out: Float64Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.handle.fill(pos, limit, maxMessages, timeoutMs, out, (err) => {
        if (err) reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `native consume failed: ${err.message}`, { cause: err, retriable: true }));
        else resolve();
      });
    });
  }

  /** Hands the rebalances and client errors that arrived during the last fill to the engine. */
  dispatchEvents(out: Float64Array): void {
    if (out[OUT_EVENTS] === 0) return;
    for (const e of this.handle.takeEvents()) {
      try {
        this.dispatch(e);
      } catch (err) {
        this.events.error(new EngineError(ErrorCodes.KAFKA_CONSUME, `rebalance failed: ${messageOf(err)}`, { cause: err, retriable: true }));
      }
    }
  }

  private dispatch(e: NativeEvent): void {
    if (e.type === 'error') {
      if (e.partitions.length > 0 && e.message.startsWith('offset commit failed')) this.events.commitFailed?.(e.partitions);
      const where = e.partitions.length > 0 ? ` (${describeOffsets(e.partitions)})` : '';
      const final = finalKafkaProblem(e.code, e.message);
      this.events.error(new EngineError(ErrorCodes.KAFKA_CONSUME, `Kafka client error (${this.kafka.brokers}): ${e.message}${where}${final ? `; ${final}` : ''}`, { retriable: !e.fatal && final === null }));
      return;
    }
    const parts: TopicPartition[] = e.partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
    const cooperative = this.handle.rebalanceProtocol() === 'COOPERATIVE';
    if (e.type === 'assign') {
      this.steps.run((done) => this.events.assigned(parts, (starts) => {
        try {
          this.assign(parts, starts, cooperative);
        } catch (err) {
          this.events.error(new EngineError(ErrorCodes.KAFKA_CONSUME, `assign failed: ${messageOf(err)}`, { cause: err, retriable: true }));
        }
        done();
      }));
      return;
    }
    this.steps.run((done) => {
      for (const p of parts) if (this.routes.get(p.topic)) this.handle.accept(p.topic, p.partition, false);
      this.events.revoked(parts, () => {
        if (this.closed) return;
        try {
          if (cooperative) this.handle.incrementalUnassign(parts);
          else this.handle.unassign();
        } catch (err) {
          this.events.error(new EngineError(ErrorCodes.KAFKA_CONSUME, `unassign failed: ${messageOf(err)}`, { cause: err, retriable: true }));
        }
      }, e.lost);
      done();
    });
  }

  private assign(parts: TopicPartition[], starts: TopicPartitionOffset[] | null, cooperative: boolean): void {
    if (this.closed) return;
    for (const p of parts) {
      const route = this.routes.get(p.topic);
      if (!route) continue; // the engine failed on it; the partition is assigned but never written
      this.handle.route(p.topic, route.id, route.pipeline);
      this.handle.accept(p.topic, p.partition, true);
    }
    const list = starts ?? parts;
    if (cooperative) this.handle.incrementalAssign(list);
    else this.handle.assign(list);
  }

  commit(offsets: TopicPartitionOffset[]): void {
    if (offsets.length === 0 || this.closed) return;
    try {
      this.handle.commit(offsets);
    } catch (err) {
      log.warn(`commit of ${describeOffsets(offsets)} failed: ${messageOf(err)}`);
    }
  }

  commitAndWait(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const failed = (err: unknown) => reject(new EngineError(ErrorCodes.KAFKA_COMMIT, `commit of ${describeOffsets(offsets)} failed: ${messageOf(err)}`, { cause: err, retriable: true }));
      try {
        this.handle.commitAndWait(offsets, (err) => (err ? failed(err) : resolve()));
      } catch (err) {
        failed(err);
      }
    });
  }

  committed(parts: TopicPartition[], timeoutMs: number): Promise<TopicPartitionOffset[]> {
    if (this.closed) return Promise.reject(new EngineError(ErrorCodes.KAFKA_CONSUME, 'reading committed offsets: the consumer is closed'));
    return new Promise((resolve, reject) => {
      this.handle.committed(parts, timeoutMs, (err, offsets) => {
        if (err) reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `reading committed offsets failed: ${err.message}`, { cause: err, retriable: true }));
        else resolve(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset ?? -1 })));
      });
    });
  }

  watermarks(topic: string, partition: number, timeoutMs: number): Promise<{ low: number; high: number }> {
    if (this.closed) return Promise.reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `reading end offsets of ${topic}[${partition}]: the consumer is closed`));
    return new Promise((resolve, reject) => {
      this.handle.watermarks(topic, partition, timeoutMs, (err, marks) => {
        if (err) reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `reading end offsets of ${topic}[${partition}] failed: ${err.message}`, { cause: err, retriable: true }));
        else resolve(marks);
      });
    });
  }

  seek(offsets: TopicPartitionOffset[]): Promise<void> {
    if (this.closed || offsets.length === 0) return Promise.resolve();
    // An asynchronous seek reports each partition as "in progress": accepted, not failed.
    const failed = this.handle.seek(offsets).filter((p) => p.error && !/in progress/i.test(p.error));
    if (failed.length > 0) {
      return Promise.reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `seek failed: ${failed.map((p) => `${p.topic}[${p.partition}]: ${p.error}`).join(', ')}`, { retriable: true }));
    }
    return Promise.resolve();
  }

  positions(parts: TopicPartition[]): TopicPartitionOffset[] {
    if (this.closed) return [];
    try {
      return this.handle.position(parts).map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset ?? -1 }));
    } catch {
      return [];
    }
  }

  groupState(): GroupState | null {
    if (this.closed) return null;
    const json = this.handle.groupState();
    return json === null ? null : parseGroupState(json);
  }

  cachedHighWatermarks(parts: TopicPartition[]): TopicPartitionOffset[] {
    if (this.closed || parts.length === 0) return [];
    try {
      return this.handle.highWatermarks(parts).map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset ?? -1 }));
    } catch {
      return [];
    }
  }

  async serve(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    // A fill with no room: a message that arrives is held in the addon (and freed at close), callbacks run.
    const out = new Float64Array(OUT_PART0 + 3);
    await this.fill(DATA_START, DATA_START, 1, timeoutMs, out);
    this.dispatchEvents(out);
  }

  /** Leaves the group and frees the client; no fill may be running (the poller has stopped). */
  disconnect(leaveGroup = true): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      try {
        this.handle.close(() => {
          clearTimeout(timer);
          resolve();
        }, leaveGroup);
      } catch (err) {
        log.warn(`closing the Kafka consumer failed: ${messageOf(err)}`);
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
