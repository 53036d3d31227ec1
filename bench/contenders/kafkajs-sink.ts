import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import protobuf from 'protobufjs';
import { readFileSync } from 'node:fs';
import { ORDER_PROTO_PATH, orderType, type Order } from '../lib/orders';
import type { BenchFormat } from '../lib/records';

/**
 * Contender "KafkaJS": what a Node developer would write: eachBatch, decode, one multi-row INSERT per
 * 1000 rows over a pg Pool, resolveOffset and an offset commit after each batch. Prints one JSON line.
 *   kafkajs-sink.js <brokers> <topic> <table> <count> <format> <connections> <databaseUrl>
 */
const COLUMNS = ['id', 'user_id', 'country', 'sku', 'amount', 'created_at', 'tags', 'attrs'];
const ROWS_PER_INSERT = 1000;

function decoder(format: BenchFormat): (b: Buffer) => Order {
  if (format === 'avro') return (b) => (orderType).fromBuffer(b) as Order;
  if (format === 'json') return (b) => JSON.parse(b.toString()) as Order;
  const root = protobuf.parse(readFileSync(ORDER_PROTO_PATH, 'utf8'), { keepCase: true }).root;
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
  const T = root.lookupType('shop.Order');
  return (b) => {
    const o = T.toObject(T.decode(b), { longs: Number, defaults: true }) as Order & { created_at: { seconds: number; nanos: number } };
    return { ...o, created_at: o.created_at.seconds * 1000 + Math.floor(o.created_at.nanos / 1e6) };
  };
}

async function main(): Promise<void> {
  const [brokers, topic, table, countArg, format, connections, databaseUrl] = process.argv.slice(2);
  const count = Number(countArg);
  const decode = decoder(format as BenchFormat);
  const pool = new Pool({ connectionString: databaseUrl, max: Number(connections) });
  const kafka = new Kafka({ brokers: brokers.split(','), clientId: 'bench-kafkajs', logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: `kafkajs-${table}`, maxBytesPerPartition: 4 << 20 });
  consumer.on(consumer.events.CRASH, (e) => {
    console.error(`KafkaJS consumer crashed: ${String(e.payload.error)}`);
    process.exit(1);
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let written = 0;
  let first = 0n;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Number(connections),
    eachBatch: async (payload) => {
      const batch = payload.batch;
      if (batch.messages.length === 0) return;
      if (first === 0n) first = process.hrtime.bigint();
      const rows = batch.messages.map((m) => decode(m.value!));
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const slice = rows.slice(i, i + ROWS_PER_INSERT);
        const params: unknown[] = [];
        const tuples = slice.map((o, r) => {
          params.push(o.id, o.user.id, o.user.country, o.sku, o.amount, new Date(o.created_at), o.tags, o.attrs);
          return `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`;
        });
        await pool.query(`INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, params);
        await payload.heartbeat();
      }
      payload.resolveOffset(batch.messages[batch.messages.length - 1].offset);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
      written += rows.length;
      if (written >= count) finish();
    },
  });
  await done;
  const seconds = Number(process.hrtime.bigint() - first) / 1e9;
  console.log(JSON.stringify({ records: written, drainSeconds: seconds }));
  await consumer.disconnect();
  await pool.end();
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
