import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder } from '../../bench/lib/orders';
import { committedOffsets, endOffsets, runCli, sql, summaryOf, unique, until, writeConfig } from '../helpers/env';
import { createOrdersTable, ordersConfig } from '../helpers/orders';

const N = 300_000;
const PARTITIONS = 4;

/** Sends `signal` to the child once the table holds at least `rows` rows. */
function signalWhenRows(table: string, rows: number, signal: NodeJS.Signals): (child: ChildProcess) => void {
  return (child) => {
    let sent = false;
    const poll = setInterval(() => {
      sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`).then(
        ([r]) => {
          // Several queries may be in flight: signal once (a second SIGTERM means "exit now").
          if (Number(r.n) >= rows && !sent) {
            sent = true;
            clearInterval(poll);
            child.kill(signal);
          }
        },
        () => undefined,
      );
    }, 20);
    child.on('exit', () => clearInterval(poll));
  };
}

async function setup(prefix: string, kafkaConfig = '') {
  const topic = unique(prefix);
  const table = unique(prefix);
  const group = unique(prefix);
  await createTopic(topic, PARTITIONS);
  await produce(topic, N, encodeOrder, { partitions: PARTITIONS });
  await createOrdersTable(table);
  // Small batches and one connection: the run lasts long enough to be interrupted in the middle.
  const config = writeConfig(
    ordersConfig({ topic, table, group, engine: '  pollBatch: 500\n  delivery: at-least-once', extra: '    batch: { maxRows: 2000, maxWaitMs: 20 }' }).replace('connections: 2', 'connections: 1').replace(/groupId: .*\n/, (g) => `${g}${kafkaConfig}`),
  );
  return { topic, table, group, config };
}

async function counts(table: string): Promise<{ rows: number; ids: number }> {
  const [r] = await sql<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table}`);
  return { rows: Number(r.rows), ids: Number(r.ids) };
}

test('SIGTERM in the middle stops cleanly; a restart lands every record with no duplicate', async () => {
  const { topic, table, group, config } = await setup('sigterm');
  const stopped = await runCli(['start', config], { during: signalWhenRows(table, 20_000, 'SIGTERM') });
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(summaryOf(stopped).reason, 'signal');
  const partial = await counts(table);
  assert.ok(partial.rows < N, `the stop came too late to test anything (${partial.rows} rows)`);
  // A graceful stop commits exactly what is durable.
  const committed = await committedOffsets(group, topic, PARTITIONS);
  assert.equal(committed.reduce((a, b) => a + Math.max(b, 0), 0), partial.rows);

  const resumed = await runCli(['start', config, '--until-caught-up']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(await counts(table), { rows: N, ids: N });
  assert.deepEqual(await committedOffsets(group, topic, PARTITIONS), await endOffsets(topic, PARTITIONS));
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});

// On the node-rdkafka fallback, exactly-once's three SIGKILLs cover a killed engine (exactly-once.test.ts).
const nativeOnly = process.env.ENGINE_SOURCE === 'node-rdkafka' ? { skip: 'exactly-once.test.ts kills the fallback three times' } : {};

test('SIGKILL in the middle loses nothing: a restart lands every record (duplicates only from the last commit interval)', nativeOnly, async () => {
  // The killed member never leaves the group: a short session timeout lets the restart take over soon.
  const { topic, table, group, config } = await setup('sigkill', '  config: { session.timeout.ms: 6000, heartbeat.interval.ms: 1000 }\n');
  const killed = await runCli(['start', config], { during: signalWhenRows(table, 20_000, 'SIGKILL') });
  assert.equal(killed.signal, 'SIGKILL');
  // A COMMIT the engine sent just before it died still commits: count once its sessions are gone.
  await until('the killed engine\'s PostgreSQL sessions to end', async () => {
    const [r] = await sql<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'kafka-pg-engine%'`);
    return Number(r.n) === 0 ? true : null;
  }, 30_000);
  const partial = await counts(table);
  const committedBefore = (await committedOffsets(group, topic, PARTITIONS)).reduce((a, b) => a + Math.max(b, 0), 0);
  assert.ok(committedBefore <= partial.rows, 'nothing is committed before its row is durable');

  const resumed = await runCli(['start', config, '--until-caught-up']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const after = await counts(table);
  assert.equal(after.ids, N, 'every record landed');
  assert.equal(after.rows - after.ids, partial.rows - committedBefore, 'duplicates are exactly the rows durable but not yet committed at the kill');
  assert.deepEqual(await committedOffsets(group, topic, PARTITIONS), await endOffsets(topic, PARTITIONS));
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});
