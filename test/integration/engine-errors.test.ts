import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder } from '../../bench/lib/orders';
import { committedOffsets, runCli, sql, summaryOf, unique, writeConfig } from '../helpers/env';
import { createOrdersTable, ordersConfig } from '../helpers/orders';

async function topicWith(count: number, partitions: number, make: (i: number) => Buffer): Promise<string> {
  const topic = unique('errors');
  await createTopic(topic, partitions);
  await produce(topic, count, make, { partitions });
  return topic;
}

test('malformed configs fail before anything connects, naming the path, and consume nothing', async (t) => {
  const topic = await topicWith(100, 1, encodeOrder);
  const table = unique('errors');
  await createOrdersTable(table);
  const group = unique('errors');
  const good = ordersConfig({ topic, table, group });
  const cases: Array<[string, string, RegExp]> = [
    ['missing key', good.replace(/ {4}table: .*\n/, ''), /pipelines\[0\]\.table: required/],
    ['wrong type', good.replace('connections: 2', 'connections: lots'), /postgres\.connections: must be an integer/],
    ['unknown format', good.replace('format: avro', 'format: xml'), /pipelines\[0\]\.format: must be one of avro, protobuf, json/],
    ['missing schema file', good.replace(/schema: .*\n/, 'schema: /nonexistent/order.avsc\n'), /pipelines\[0\]\.schema: cannot read schema file \/nonexistent\/order\.avsc/],
    ['bad env substitution', good.replace(/groupId: .*\n/, 'groupId: ${ENGINE_TEST_UNSET_VARIABLE}\n'), /kafka\.groupId: environment variable ENGINE_TEST_UNSET_VARIABLE is not set/],
    ['duplicate pipeline', good + good.slice(good.indexOf('  - name: orders')), /pipelines\[1\]\.name: duplicate pipeline name "orders"/],
    ['YAML syntax', `${good}\n  - : : [`, /YAML syntax/],
  ];
  for (const [name, yaml, expected] of cases) {
    await t.test(name, async () => {
      const run = await runCli(['start', writeConfig(yaml), '--until-caught-up'], { timeoutMs: 30_000 });
      assert.equal(run.code, 3, run.stderr);
      // A schema file is read after the config is valid: its own code, the same exit status.
      assert.match(run.stderr, name === 'missing schema file' ? /ENG_SCHEMA_LOAD/ : /ENG_CONFIG_INVALID/);
      assert.match(run.stderr, expected);
      const validate = await runCli(['validate', writeConfig(yaml)], { timeoutMs: 30_000 });
      assert.equal(validate.code, 3);
    });
  }
  assert.deepEqual(await committedOffsets(group, topic, 1), [-1001], 'nothing was consumed or committed');
  const [rows] = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  assert.equal(rows.n, '0');
});

test('a table that does not fit the records is refused at start with the column named', async () => {
  const topic = await topicWith(10, 1, encodeOrder);
  const table = unique('errors');
  await sql(`CREATE TABLE ${table} (id bigint NOT NULL, user_id int NOT NULL, must_have text NOT NULL, attrs int)`);
  const group = unique('errors');
  const run = await runCli(['start', writeConfig(ordersConfig({ topic, table, group })), '--until-caught-up'], { timeoutMs: 30_000 });
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stderr, /ENG_TABLE_MAPPING/);
  assert.match(run.stderr, /column "must_have" .* NOT NULL without a default/);
  assert.match(run.stderr, /field "attrs" \(map\) cannot go into column "attrs" \(int4\)/);
  assert.match(run.stderr, /columns\.country: table .* has no column "country"/);
  assert.deepEqual(await committedOffsets(group, topic, 1), [-1001]);
});

test('a record that does not decode stops the pipeline (onRecordError: fail) with topic, partition and offset; nothing past it is committed', async () => {
  const topic = await topicWith(1000, 1, (i) => (i === 700 ? Buffer.from([0xff, 0xff, 0xff]) : encodeOrder(i)));
  const table = unique('errors');
  await createOrdersTable(table);
  const group = unique('errors');
  const run = await runCli(['start', writeConfig(ordersConfig({ topic, table, group })), '--until-caught-up'], { timeoutMs: 60_000 });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`ENG_RECORD_DECODE: pipeline orders: record ${topic}\\[0\\]@700: cannot decode avro value`));
  const [committed] = await committedOffsets(group, topic, 1);
  assert.ok(committed <= 700, `committed ${committed} is past the bad record`);
  const [rows] = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE id = 700`);
  assert.equal(rows.n, '0');
});

test('onRecordError: skip writes every good record and commits past the bad one', async () => {
  const topic = await topicWith(1000, 2, (i) => (i === 500 ? Buffer.from('not avro') : encodeOrder(i)));
  const table = unique('errors');
  await createOrdersTable(table);
  const group = unique('errors');
  const config = writeConfig(ordersConfig({ topic, table, group, extra: '    onRecordError: skip' }));
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`record ${topic}\\[0\\]@250: .*\\(skipped\\)`));
  assert.equal(summaryOf(run).records, 1000);
  const [rows] = await sql<{ n: string; bad: string }>(`SELECT count(*) AS n, count(*) FILTER (WHERE id = 500) AS bad FROM ${table}`);
  assert.deepEqual(rows, { n: '999', bad: '0' });
  assert.deepEqual(await committedOffsets(group, topic, 2), [500, 500]);
});
