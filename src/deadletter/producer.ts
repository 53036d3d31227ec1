import Kafka from 'node-rdkafka';
import type { EngineConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { connectionSettings } from '../source/source';
import { log } from '../log';
import { retry, type RetryPolicy } from '../retry';
import { loadNative, nativeUnavailableReason, type NativeProducerHandle } from '../source/native-binding';

/** One record for a dead-letter topic; headers in the ring's encoding (src/ring/headers.ts). */
export interface DeadLetter {
  topic: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  timestamp: number;
  headers: Uint8Array | null;
}

/**
 * Produces dead-lettered records with acks=all and an idempotent producer, so a record counts as handled
 * only once the topic has it. Uses the native addon's producer: node-rdkafka's writes header values as C
 * strings and would cut binary headers short. Rare traffic: one promise per record.
 */
/** librdkafka's answer when its local queue (queue.buffering.max.*) is full: retriable. */
const QUEUE_FULL = /Queue full/i;

export class DeadLetterProducer {
  private readonly handle: NativeProducerHandle;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: EngineError) => void; topic: string }>();
  private nextId = 1;
  private polling = false;
  private closed = false;

  constructor(
    kafka: EngineConfig['kafka'],
    private readonly policy: RetryPolicy,
  ) {
    const addon = loadNative();
    if (!addon) throw new EngineError(ErrorCodes.NATIVE_UNAVAILABLE, `deadLetter needs the native addon's producer: ${nativeUnavailableReason()}`);
    const settings: Record<string, string> = {
      'client.id': 'kafka-pg-engine-dlq',
      'enable.idempotence': 'true',
      acks: 'all',
      'linger.ms': '5',
      // librdkafka retries an unreachable broker by itself; past the retry budget the record fails.
      'message.timeout.ms': String(Math.max(1000, Math.round(policy.maxElapsedMs))),
    };
    for (const [key, value] of Object.entries(connectionSettings(kafka))) settings[key] = String(value);
    try {
      this.handle = new addon.NativeProducer(settings);
    } catch (err) {
      throw new EngineError(ErrorCodes.CONFIG_INVALID, `dead-letter producer: ${messageOf(err)}`, { cause: err });
    }
  }

  /**
   * Resolves when the broker acknowledged the record; rejects (ENG_DEAD_LETTER) when it cannot be written.
   * A full local queue (a burst of bad records while the broker is slow) is waited out on the retry policy.
   */
  async send(record: DeadLetter): Promise<void> {
    if (this.closed) throw new EngineError(ErrorCodes.DEAD_LETTER, `dead-letter producer is closed (record for ${record.topic})`);
    const id = this.nextId++;
    const acked = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject, topic: record.topic }));
    try {
      await retry(() => this.handle.produce(record.topic, -1, record.key, record.value, record.timestamp, record.headers, id), this.policy, {
        retriable: (err) => QUEUE_FULL.test(messageOf(err)) && !this.closed,
        onRetry: (err, wait) => {
          this.poll();
          log.warn(`dead-lettering to ${record.topic}: ${messageOf(err)}; retrying in ${wait} ms`);
        },
      });
    } catch (err) {
      this.pending.delete(id);
      throw new EngineError(ErrorCodes.DEAD_LETTER, `cannot dead-letter to ${record.topic}: ${messageOf(err)}`, { cause: err });
    }
    this.poll();
    return acked;
  }

  private poll(): void {
    if (this.polling || this.pending.size === 0) return;
    this.polling = true;
    this.handle.poll(100, (err, reports) => {
      this.polling = false;
      if (err) log.warn(`dead-letter producer poll: ${err.message}`);
      for (const r of reports ?? []) {
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        if (r.code === 0) p.resolve();
        else p.reject(new EngineError(ErrorCodes.DEAD_LETTER, `the dead-letter topic ${p.topic} did not take a record: ${r.message}`, { retriable: false }));
      }
      this.poll();
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.handle.close(10_000, () => resolve()));
  }
}

/**
 * Creates a dead-letter topic that does not exist yet, with as many partitions as `partitionsOf` has
 * (one for a topic pattern). An existing topic is left as it is.
 */
export async function ensureDeadLetterTopic(kafka: EngineConfig['kafka'], topic: string, partitionsOf: string | null): Promise<void> {
  const admin = Kafka.AdminClient.create({ ...connectionSettings(kafka), 'client.id': 'kafka-pg-engine-admin' });
  const consumer = new Kafka.KafkaConsumer({ ...connectionSettings(kafka), 'group.id': 'kafka-pg-engine-metadata' }, {});
  try {
    let partitions = 1;
    if (partitionsOf !== null) {
      await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000, topic: partitionsOf }, (err) => (err ? reject(err) : resolve())));
      const md = await new Promise<Kafka.Metadata>((resolve, reject) => consumer.getMetadata({ topic: partitionsOf, timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m))));
      partitions = Math.max(1, md.topics.find((t) => t.name === partitionsOf)?.partitions.length ?? 1);
    }
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: -1 }, 10_000, (err) => {
        if (!err || err.code === Kafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) resolve();
        else reject(err);
      }),
    );
  } catch (err) {
    throw new EngineError(ErrorCodes.DEAD_LETTER, `cannot create the dead-letter topic ${topic}: ${messageOf(err)}`, { cause: err, retriable: true });
  } finally {
    admin.disconnect();
    if (consumer.isConnected()) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
