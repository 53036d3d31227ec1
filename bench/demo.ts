import path from 'node:path';
import { flag, pgQuery, prepareOrders, REPO, runEngine } from './lib/scenario';

/**
 * The README demo: sample orders into Kafka, the engine (schemas/orders.yaml) drains them into
 * PostgreSQL, then what landed and how fast. Expects the local broker and database (scripts/demo.sh).
 */
async function main(): Promise<void> {
  const records = flag('records', 200_000);
  const partitions = flag('partitions', 4);
  const name = `demo_orders_${Date.now().toString(36)}`;
  console.log(`1. producing ${records} Avro orders (schemas/order.avsc) to Kafka topic ${name}`);
  const { topic, table } = await prepareOrders(name, records, partitions);
  console.log(`2. engine start schemas/orders.yaml --until-caught-up  (topic ${topic} → table ${table})`);
  const summary = await runEngine(path.join(REPO, 'schemas/orders.yaml'), {
    ORDERS_TOPIC: topic,
    ORDERS_TABLE: table,
    ORDERS_GROUP: `${name}_sink`,
    METRICS_PORT: '0',
  });
  const [landed] = await pgQuery<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  const sample = await pgQuery(`SELECT id, user_id, country, sku, amount, created_at, tags, attrs FROM ${table} ORDER BY id LIMIT 3`);
  console.log(`3. landed in ${table}: ${landed.rows} rows, ${landed.ids} distinct ids (of ${records} produced)`);
  console.table(sample);
  console.log(
    `   ${summary.records} records drained in ${summary.drainSeconds.toFixed(2)} s = ${Math.round(summary.recordsPerSecond)} records/s ` +
      `(whole run incl. group join ${summary.seconds.toFixed(1)} s), engine peak RSS ${Math.round(summary.peakRssBytes / 2 ** 20)} MiB`,
  );
  if (Number(landed.rows) !== records || Number(landed.ids) !== records) {
    throw new Error(`expected ${records} rows with distinct ids`);
  }
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.message}`);
  process.exit(1);
});
