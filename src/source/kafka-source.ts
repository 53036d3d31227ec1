import Kafka from 'node-rdkafka';
import type { TopicPartitionOffset } from '../commit/commit-tracker';
import type { EngineConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { log } from '../log';
import { consumerSettings, DEFAULT_BUFFERS, describeOffsets, finalKafkaProblem, kafkaConnectError, parseGroupState, RebalanceSteps, type ConsumerClient, type GroupState, type SourceEvents, type TopicPartition } from './source';

export type Message = Kafka.Message;

/**
 * Topic-level settings must go into node-rdkafka's topic config: its (always present) topic config
 * replaces librdkafka's default one, so a global `auto.offset.reset` would be silently ignored.
 */
const TOPIC_LEVEL = new Set(['auto.offset.reset', 'consume.callback.max.messages']);

function splitConfig(all: Record<string, string | number | boolean>): { global: Record<string, string | number | boolean>; topic: Kafka.ConsumerTopicConfig } {
  const global: Record<string, string | number | boolean> = {};
  const topic: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(all)) (TOPIC_LEVEL.has(key) ? topic : global)[key] = value;
  return { global, topic };
}

/**
 * The engine's KafkaConsumer through node-rdkafka's JS API (engine.source: node-rdkafka): batch consume
 * of JS message objects, explicit commits, and a rebalance callback that lets the engine settle revoked
 * partitions before they go.
 */
export class KafkaSource implements ConsumerClient {
  readonly kind = 'node-rdkafka';
  private readonly consumer: Kafka.KafkaConsumer;
  private disconnected = false;
  /** While connect() waits: true, or the final error (credentials, TLS) seen meanwhile. */
  private connecting: boolean | string = false;
  private readonly steps = new RebalanceSteps();
  private group: GroupState | null = null;

  constructor(
    private readonly kafka: EngineConfig['kafka'],
    pollTimeoutMs: number,
    private readonly events: SourceEvents,
    buffers: Pick<EngineConfig['engine'], 'fetchQueueKBytes' | 'fetchQueueMessages' | 'fetchMaxBytes'> = DEFAULT_BUFFERS,
  ) {
    const user = splitConfig(consumerSettings(kafka, buffers));
    const conf = {
      ...user.global,
      // librdkafka's error logs reach JS while connect() waits; its error events do not (see connect).
      event_cb: true,
      rebalance_cb: (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) => {
        this.rebalance(err, assignment);
      },
      offset_commit_cb: (err: Kafka.LibrdKafkaError | null, offsets: Kafka.TopicPartitionOffset[]) => {
        if (err && err.code !== Kafka.CODES.ERRORS.ERR__NO_OFFSET) {
          log.warn(`offset commit failed for ${describeOffsets(offsets)}: ${err.message}`);
          this.events.commitFailed?.(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
        }
      },
    } as Kafka.ConsumerGlobalConfig;
    this.consumer = new Kafka.KafkaConsumer(conf, user.topic);
    this.consumer.setDefaultConsumeTimeout(pollTimeoutMs);
    this.consumer.on('event.error', (err) => {
      const fatal = (err as { isFatal?: boolean }).isFatal === true;
      const final = finalKafkaProblem(err.code, err.message);
      // While connecting, a refused login or a TLS failure fails the connect (librdkafka would retry).
      if (final !== null && this.connecting !== false) return void (this.connecting = this.connecting === true ? err.message : this.connecting);
      const e = new EngineError(ErrorCodes.KAFKA_CONSUME, `Kafka client error (${kafka.brokers}): ${err.message}${final ? `; ${final}` : ''}`, { cause: err, retriable: !fatal && final === null });
      this.events.error(e);
    });
    this.consumer.on('event.stats', (stats: { message: string }) => {
      this.group = parseGroupState(stats.message) ?? this.group;
    });
    this.consumer.on('event.log', (entry: { severity: number; message: string }) => {
      // librdkafka's log line says more than its error event ("authentication failure"): it wins.
      if (entry.severity > 3 || this.connecting === false) return;
      if (finalKafkaProblem(null, entry.message) !== null) this.connecting = entry.message.replace(/^\[thrd:[^\]]*\]: /, '');
    });
  }

  /**
   * Waits for one metadata answer, in attempts of at most 2 s: node-rdkafka cannot cut an attempt short,
   * and a refused login or an untrusted certificate (seen in librdkafka's log meanwhile) ends the wait
   * after the attempt it happened in instead of after the whole timeout.
   */
  async connect(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.connecting = true;
    try {
      for (;;) {
        const step = Math.max(1, Math.min(2000, deadline - Date.now()));
        try {
          await new Promise<void>((resolve, reject) => this.consumer.connect({ timeout: step }, (err) => (err ? reject(err) : resolve())));
          return;
        } catch (err) {
          if (typeof this.connecting === 'string') throw kafkaConnectError(this.kafka.brokers, this.connecting, err);
          if (Date.now() >= deadline) throw kafkaConnectError(this.kafka.brokers, messageOf(err), err);
        }
      }
    } finally {
      this.connecting = false;
    }
  }

  subscribe(topics: string[]): void {
    this.consumer.subscribe(topics);
  }

  /** Up to `max` messages; resolves with what arrived within the poll timeout (possibly none). */
  consume(max: number): Promise<Message[]> {
    return new Promise((resolve, reject) => {
      this.consumer.consume(max, (err, messages) => {
        if (err) reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `consume failed: ${err.message}`, { cause: err, retriable: true }));
        else resolve(messages);
      });
    });
  }

  /** Asynchronous commit of next-offsets to read (the engine coalesces these). */
  commit(offsets: TopicPartitionOffset[]): void {
    if (offsets.length === 0 || this.disconnected) return;
    try {
      this.consumer.commit(offsets);
    } catch (err) {
      log.warn(`commit failed: ${messageOf(err)}`);
    }
  }

  /**
   * node-rdkafka's commitSync would block the main thread until the broker answers (a minute when it
   * does not), and its commit callback needs a poll that may not be running (shutdown). So: an
   * asynchronous commit, then the group's committed offsets read back (off the main thread) until they
   * reach it, for up to 10 s.
   */
  async commitAndWait(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0 || this.disconnected) return;
    const failed = (why: string, cause?: unknown) => new EngineError(ErrorCodes.KAFKA_COMMIT, `commit of ${describeOffsets(offsets)} failed: ${why}`, { cause, retriable: true });
    try {
      this.consumer.commit(offsets);
    } catch (err) {
      throw failed(messageOf(err), err);
    }
    const deadline = Date.now() + 10_000;
    let last = 'not confirmed';
    while (Date.now() < deadline && !this.disconnected) {
      try {
        const now = await this.committed(offsets, Math.max(1, Math.min(5_000, deadline - Date.now())));
        if (offsets.every((o, i) => (now[i]?.offset ?? -1) >= o.offset)) return;
        last = `the group holds ${describeOffsets(now)}`;
      } catch (err) {
        last = messageOf(err);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw failed(`${last} after 10 s`);
  }

  committed(parts: TopicPartition[], timeoutMs: number): Promise<TopicPartitionOffset[]> {
    return new Promise((resolve, reject) => {
      this.consumer.committed(parts, timeoutMs, (err, offsets) => {
        if (err) reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `reading committed offsets failed: ${err.message}`, { cause: err, retriable: true }));
        else resolve(offsets);
      });
    });
  }

  watermarks(topic: string, partition: number, timeoutMs: number): Promise<{ low: number; high: number }> {
    return new Promise((resolve, reject) => {
      this.consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (err, offsets) => {
        if (err) reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `reading end offsets of ${topic}[${partition}] failed: ${err.message}`, { cause: err, retriable: true }));
        else resolve({ low: offsets.lowOffset, high: offsets.highOffset });
      });
    });
  }

  async seek(offsets: TopicPartitionOffset[]): Promise<void> {
    // With a timeout, node-rdkafka answers once librdkafka has moved the partition (its fetch queue purged).
    await Promise.all(
      offsets.map(
        (o) =>
          new Promise<void>((resolve, reject) => {
            this.consumer.seek({ topic: o.topic, partition: o.partition, offset: o.offset }, 10_000, (err) => {
              if (err) reject(new EngineError(ErrorCodes.KAFKA_CONSUME, `seek of ${o.topic}[${o.partition}] to ${o.offset} failed: ${err.message}`, { cause: err, retriable: true }));
              else resolve();
            });
          }),
      ),
    );
  }

  /** librdkafka's fetch position (next offset it will hand out) per partition; negative when unknown. */
  positions(parts: TopicPartition[]): TopicPartitionOffset[] {
    try {
      return this.consumer.position(parts);
    } catch {
      return [];
    }
  }

  groupState(): GroupState | null {
    return this.disconnected ? null : this.group;
  }

  cachedHighWatermarks(parts: TopicPartition[]): TopicPartitionOffset[] {
    if (this.disconnected) return [];
    const out: TopicPartitionOffset[] = [];
    for (const p of parts) {
      try {
        out.push({ topic: p.topic, partition: p.partition, offset: this.consumer.getWatermarkOffsets(p.topic, p.partition).highOffset ?? -1 });
      } catch {
        out.push({ topic: p.topic, partition: p.partition, offset: -1 });
      }
    }
    return out;
  }

  serve(timeoutMs: number): Promise<void> {
    if (this.disconnected) return Promise.resolve();
    this.consumer.setDefaultConsumeTimeout(timeoutMs);
    return this.consume(1).then(() => undefined);
  }

  /** node-rdkafka always leaves the group (its disconnect has no other way); a dead coordinator costs the 10 s. */
  disconnect(): Promise<void> {
    if (this.disconnected) return Promise.resolve();
    this.disconnected = true;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      this.consumer.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private rebalance(err: Kafka.LibrdKafkaError, assignment: TopicPartition[]): void {
    const parts = assignment.map((a) => ({ topic: a.topic, partition: a.partition }));
    try {
      const cooperative = this.consumer.rebalanceProtocol() === 'COOPERATIVE';
      if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
        this.steps.run((done) => this.events.assigned(parts, (starts) => {
          try {
            const list = starts ?? parts;
            if (this.disconnected) return;
            if (cooperative) this.consumer.incrementalAssign(list);
            else this.consumer.assign(list);
          } catch (e) {
            this.events.error(new EngineError(ErrorCodes.KAFKA_CONSUME, `assign failed: ${messageOf(e)}`, { cause: e, retriable: true }));
          } finally {
            done();
          }
        }));
      } else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
        // node-rdkafka does not expose rd_kafka_assignment_lost: a lost assignment looks like a revoke here.
        const lost = false;
        this.steps.run((done) => {
          this.events.revoked(parts, () => {
            try {
              if (cooperative) this.consumer.incrementalUnassign(assignment);
              else this.consumer.unassign();
            } catch (e) {
              if (!this.disconnected) this.events.error(new EngineError(ErrorCodes.KAFKA_CONSUME, `unassign failed: ${messageOf(e)}`, { cause: e, retriable: true }));
            }
          }, lost);
          done();
        });
      } else {
        log.warn(`rebalance error: ${err.message}`);
        this.consumer.unassign();
      }
    } catch (e) {
      if (!this.disconnected) this.events.error(new EngineError(ErrorCodes.KAFKA_CONSUME, `rebalance failed: ${messageOf(e)}`, { cause: e, retriable: true }));
    }
  }
}
