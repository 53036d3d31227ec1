import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder } from '../../bench/lib/orders';
import { committedOffsets, endOffsets, runCli, sql, summaryOf, unique, until, writeConfig } from '../helpers/env';
import { createOrdersTable, ordersConfig } from '../helpers/orders';

const N = 300_000;
const PARTITIONS = 8;

for (const strategy of ['range', 'cooperative-sticky']) {
test(`scale-out (${strategy} assignment): a second engine joins the group mid-run; partitions are shared, every record lands once, commits reach the end`, async () => {
  const topic = unique('rebalance');
  const table = unique('rebalance');
  const group = unique('rebalance');
  await createTopic(topic, PARTITIONS);
  await produce(topic, N, encodeOrder, { partitions: PARTITIONS });
  await createOrdersTable(table);
  // A small ring and small batches keep the run long enough for the second engine to join in the middle.
  const config = writeConfig(
    ordersConfig({ topic, table, group, engine: '  pollBatch: 200', extra: '    batch: { maxRows: 500, maxWaitMs: 5 }' })
      .replace('connections: 2', 'connections: 1')
      .replace('ringBytes: 32MiB', 'ringBytes: 2MiB')
      // Members learn of a rebalance at their next heartbeat (3 s by default): make it prompt.
      .replace(/groupId: .*\n/, (g) => `${g}  assignmentStrategy: ${strategy}\n  config: { heartbeat.interval.ms: 300 }\n`),
  );

  let second: ReturnType<typeof runCli> | null = null;
  const first = runCli(['start', config, '--until-caught-up'], {
    during: () => {
      const poll = setInterval(() => {
        void sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`).then(([r]) => {
          if (Number(r.n) >= 5_000 && second === null) {
            clearInterval(poll);
            second = runCli(['start', config, '--until-caught-up']);
          }
        });
      }, 20);
    },
  });
  const a = await first;
  // Wrapped: until() would await the run itself.
  const started = await until('the second engine to have started', () => (second ? { run: second } : null), 30_000);
  const b = await started.run;
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stderr, /revoked/, 'the first engine gave partitions up when the second joined');
  assert.ok(summaryOf(b).records > 0, `the second engine took a share\nfirst:\n${a.stderr}\nsecond:\n${b.stderr}`);

  const [r] = await sql<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  assert.equal(Number(r.ids), N, 'every record landed');
  // A revoke waits for the partition's work in flight and commits it before the partition moves.
  assert.equal(Number(r.rows), N, `${Number(r.rows) - N} duplicates\nfirst:\n${a.stderr}\nsecond:\n${b.stderr}`);
  assert.equal(summaryOf(a).records + summaryOf(b).records, Number(r.rows), 'every row came from a record one of them polled');
  assert.deepEqual(await committedOffsets(group, topic, PARTITIONS), await endOffsets(topic, PARTITIONS), `committed offsets\nfirst:\n${a.stderr}\nsecond:\n${b.stderr}`);
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});
}
