import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTopic, DEFAULT_BROKERS, deleteTopic, produce } from './lib/kafka-tools';
import { order, orderType, ORDER_SCHEMA_PATH, ordersTableSql } from './lib/orders';
import { DATABASE_URL, flag, pgQuery, runEngine } from './lib/scenario';

/**
 * The drain rate with bad records in the stream, next to the clean rate: N reference Avro records with
 * 0, 0.1 % and 1 % poison, half of it bytes that do not decode (dead-lettered by the worker) and half rows
 * that violate a CHECK constraint (found by PostgreSQL; the batch is split). One engine process (2
 * workers, 2 connections) with a dead-letter topic; prints records/s, dead letters and COPY statements.
 *   node dist/bench/cli.js poison [--records 500000] [--partitions 8]
 */
const RATES = [0, 0.001, 0.01];

function encoder(rate: number): (i: number) => Buffer {
  const every = rate > 0 ? Math.round(1 / rate) : 0;
  return (i) => {
    if (every > 0 && i % every === every - 1) {
      return (i / every) % 2 < 1 ? Buffer.from([0xff, 0xfe, 0xfd, i & 0xff]) : orderType.toBuffer({ ...order(i), amount: -1 });
    }
    return orderType.toBuffer(order(i));
  };
}

async function main(): Promise<void> {
  const records = flag('records', 500_000);
  const partitions = flag('partitions', 8);
  const results = [];
  for (const rate of RATES) {
    const name = `bench_poison_${Date.now().toString(36)}`;
    await createTopic(name, partitions);
    await produce(name, records, encoder(rate), { partitions });
    await pgQuery(`DROP TABLE IF EXISTS ${name}`);
    await pgQuery(ordersTableSql(name).replace(/\)$/, `, CHECK (amount >= 0))`));
    await pgQuery('CHECKPOINT');
    const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-poison-')), 'config.yaml');
    writeFileSync(
      config,
      `kafka: { brokers: "${DEFAULT_BROKERS}", groupId: ${name} }
postgres: { url: "${DATABASE_URL}", connections: 2 }
engine: { workers: 2, ringBytes: 64MiB }
pipelines:
  - { name: orders, topics: [${name}], format: avro, schema: "${ORDER_SCHEMA_PATH}", table: ${name},
      columns: { user_id: user.id, country: user.country }, batch: { maxRows: 20000, maxBytes: 8MiB, maxWaitMs: 100 },
      deadLetter: { topic: ${name}.dlq } }
`,
    );
    const s = (await runEngine(config, { ENGINE_LOG_LEVEL: 'error' })) as Awaited<ReturnType<typeof runEngine>> & { deadLettered: number; copies: number };
    const [check] = await pgQuery<{ rows: string }>(`SELECT count(*) AS rows FROM ${name}`);
    const result = {
      bench: 'poison', rate, records, recordsPerSecond: Math.round(s.recordsPerSecond), drainSeconds: Number(s.drainSeconds.toFixed(3)),
      rows: Number(check.rows), deadLettered: s.deadLettered, copies: s.copies, correct: Number(check.rows) + s.deadLettered === records,
    };
    console.log(`poison ${(rate * 100).toFixed(1)} %: ${result.recordsPerSecond} records/s (drain ${result.drainSeconds} s), ${result.rows} rows, ${result.deadLettered} dead letters, ${result.copies} COPY statements, rows + dead letters = records: ${result.correct}`);
    console.log(JSON.stringify(result));
    results.push(result);
    await pgQuery(`DROP TABLE ${name}`);
    await deleteTopic(name);
    await deleteTopic(`${name}.dlq`);
    if (!result.correct) throw new Error(`poison ${rate}: ${result.rows} rows + ${result.deadLettered} dead letters != ${records}`);
  }
}

main().catch((err: Error) => {
  console.error(`bench poison failed: ${err.message}`);
  process.exit(1);
});
