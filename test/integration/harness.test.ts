import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Kafka from 'node-rdkafka';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { BROKERS, REPO, sql, unique } from '../helpers/env';

// Proves the ground every other test stands on: the local broker started by scripts/kafka.sh and the
// local PostgreSQL started by scripts/pg.sh.

test('the local broker takes 10,000 messages on a 4-partition topic and gives all of them back', async () => {
  const topic = unique('harness');
  await createTopic(topic, 4);
  await produce(topic, 10_000, (i) => Buffer.from(`message-${i}`), { partitions: 4 });

  const consumer = new Kafka.KafkaConsumer(
    { 'metadata.broker.list': BROKERS, 'group.id': unique('harness'), 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  consumer.subscribe([topic]);
  consumer.setDefaultConsumeTimeout(200);
  const seen = new Set<string>();
  const partitions = new Set<number>();
  const deadline = Date.now() + 60_000;
  try {
    while (seen.size < 10_000 && Date.now() < deadline) {
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))));
      for (const m of batch) {
        seen.add(m.value!.toString());
        partitions.add(m.partition);
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  assert.equal(seen.size, 10_000);
  assert.ok(seen.has('message-0') && seen.has('message-9999'));
  assert.deepEqual([...partitions].sort(), [0, 1, 2, 3]);
});

test('the local PostgreSQL round-trips a row', async () => {
  const table = unique('harness_pg');
  await sql(`CREATE TABLE ${table} (id bigint, doc jsonb)`);
  await sql(`INSERT INTO ${table} VALUES ($1, $2)`, [42, { a: [1, 'two'] }]);
  const rows = await sql<{ id: string; doc: unknown }>(`SELECT id, doc FROM ${table}`);
  assert.deepEqual(rows, [{ id: '42', doc: { a: [1, 'two'] } }]);
  await sql(`DROP TABLE ${table}`);
});

// CI keeps only the tail of a run: a test file whose process crashes is listed by node only as 'test
// failed'. The suite's exit reporter (test/helpers/exit-reporter.ts) must name its signal or exit code.
test('a test file whose process dies is reported with its signal and its exit code', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exit-reporter-'));
  writeFileSync(path.join(dir, 'crash.test.js'), "require('node:test').test('dies', () => process.kill(process.pid, 'SIGSEGV'));\n");
  writeFileSync(path.join(dir, 'exits.test.js'), "require('node:test').test('passes', () => {});\nsetTimeout(() => process.exit(3), 50);\nrequire('node:test').test('waits', () => new Promise((r) => setTimeout(r, 2000)));\n");
  const reporter = path.join(REPO, 'dist/test/helpers/exit-reporter.js');
  // Without the variable node sets in test processes: the inner runner runs its files itself.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const run = spawnSync(process.execPath, ['--test', '--test-reporter', reporter, '--test-reporter-destination', 'stdout', path.join(dir, 'crash.test.js'), path.join(dir, 'exits.test.js')], { encoding: 'utf8', timeout: 60_000, env, cwd: dir });
  assert.notEqual(run.status, 0);
  assert.match(run.stdout, /the process of \S*crash\.test\.js ended outside its tests: exit code none, signal SIGSEGV/, run.stdout + run.stderr);
  assert.match(run.stdout, /the process of \S*exits\.test\.js ended outside its tests: exit code 3, signal none/, run.stdout + run.stderr);
});
