import Kafka from 'node-rdkafka';
import { BROKERS, unique } from './env';

/** Every message of a topic from the start (a fresh group), polling a little past `count` so a duplicate would show. */
export async function readTopic(topic: string, count: number): Promise<Kafka.Message[]> {
  const consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': BROKERS, 'group.id': unique('dlq_reader'), 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  consumer.subscribe([topic]);
  const out: Kafka.Message[] = [];
  const deadline = Date.now() + 60_000;
  try {
    for (let extra = 0; Date.now() < deadline && extra < 5; ) {
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))));
      out.push(...batch);
      if (out.length >= count && batch.length === 0) extra++;
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return out;
}

/** A Kafka message header's value as text. */
export function header(m: Kafka.Message, name: string): string | undefined {
  for (const h of m.headers ?? []) if (name in h) return Buffer.from(h[name] as Buffer).toString();
  return undefined;
}
