import Kafka from 'node-rdkafka';

/**
 * Contender "raw consume": a node-rdkafka loop that only counts messages, with the engine's consumer
 * settings: the client's own limit. Prints one JSON line.   raw-consume.js <brokers> <topic> <count>
 */
async function main(): Promise<void> {
  const [brokers, topic, countArg] = process.argv.slice(2);
  const count = Number(countArg);
  const consumer = new Kafka.KafkaConsumer(
    { 'metadata.broker.list': brokers, 'group.id': `raw-${topic}-${Date.now()}`, 'enable.auto.commit': false, 'fetch.queue.backoff.ms': 10, 'queued.max.messages.kbytes': 32768 },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
  consumer.setDefaultConsumeTimeout(100);
  consumer.subscribe([topic]);
  let seen = 0;
  let first = 0n;
  while (seen < count) {
    const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))));
    if (batch.length > 0 && first === 0n) first = process.hrtime.bigint();
    seen += batch.length;
  }
  const seconds = Number(process.hrtime.bigint() - first) / 1e9;
  console.log(JSON.stringify({ records: seen, drainSeconds: seconds }));
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
