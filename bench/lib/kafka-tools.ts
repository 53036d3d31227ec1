import Kafka from 'node-rdkafka';

export const DEFAULT_BROKERS = process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`;

/** Creates a topic (an existing one is an error, so callers use fresh names). */
export async function createTopic(name: string, partitions: number, brokers = DEFAULT_BROKERS): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'engine-tools' });
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic: name, num_partitions: partitions, replication_factor: 1 }, 30_000, (err) =>
        err ? reject(new Error(`creating topic ${name} on ${brokers}: ${err.message}`)) : resolve(),
      ),
    );
  } finally {
    admin.disconnect();
  }
}

/** Grows a topic to `total` partitions (Kafka never shrinks one). */
export async function addPartitions(name: string, total: number, brokers = DEFAULT_BROKERS): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'engine-tools' });
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createPartitions(name, total, 30_000, (err) => (err ? reject(new Error(`growing topic ${name} to ${total} partitions on ${brokers}: ${err.message}`)) : resolve())),
    );
  } finally {
    admin.disconnect();
  }
}

export async function deleteTopic(name: string, brokers = DEFAULT_BROKERS): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'engine-tools' });
  try {
    await new Promise<void>((resolve) => admin.deleteTopic(name, 30_000, () => resolve()));
  } finally {
    admin.disconnect();
  }
}

export interface ProduceOptions {
  brokers?: string;
  partitions: number;
  /** Called every `progressEvery` messages. */
  onProgress?: (sent: number) => void;
  progressEvery?: number;
  /** Message i's key and partition (default: the text of i, and i % partitions). */
  key?: (i: number) => Buffer;
  partition?: (i: number) => number;
  /** Message i's headers (default: none). */
  headers?: (i: number) => Array<Record<string, string | Buffer>>;
}

/**
 * Produces `count` messages, message i = make(i) (null: a tombstone), keyed by i, to partition
 * i % partitions unless options say otherwise; resolves when every message is acknowledged by the broker.
 */
export async function produce(topic: string, count: number, make: (i: number) => Buffer | null, options: ProduceOptions): Promise<void> {
  const producer = new Kafka.HighLevelProducer({
    'metadata.broker.list': options.brokers ?? DEFAULT_BROKERS,
    'linger.ms': 20,
    'batch.num.messages': 10000,
    'queue.buffering.max.messages': 200000,
    'queue.buffering.max.kbytes': 262144,
    // Uncompressed: KafkaJS, a contender of bench throughput, cannot read lz4 batches.
    'compression.codec': 'none',
    dr_cb: true,
  });
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(10);
  let acked = 0;
  let failed: Error | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      let i = 0;
      const done = () => {
        if (failed) reject(failed);
        else if (acked === count) resolve();
      };
      const pump = () => {
        while (i < count) {
          if (i - acked > 150000) {
            setTimeout(pump, 5);
            return;
          }
          const n = i++;
          const partition = options.partition ? options.partition(n) : n % options.partitions;
          const key = options.key ? options.key(n) : Buffer.from(String(n));
          const onAck = (err: Error | null) => {
            if (err) failed ??= new Error(`producing to ${topic}: ${err.message}`);
            acked++;
            if (options.onProgress && acked % (options.progressEvery ?? 100000) === 0) options.onProgress(acked);
            if (acked === count || failed) done();
          };
          if (options.headers) producer.produce(topic, partition, make(n), key, Date.now(), options.headers(n), onAck);
          else producer.produce(topic, partition, make(n), key, Date.now(), onAck);
        }
      };
      if (count === 0) resolve();
      else pump();
    });
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
