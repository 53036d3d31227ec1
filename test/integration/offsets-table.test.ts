import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActiveCluster } from '../../src/commit/active-cluster';
import { OffsetsTable } from '../../src/commit/offsets-table';
import { Client } from 'pg';
import { DATABASE_URL, unique, withPg } from '../helpers/env';

test('offsets table: finished() says whether a batch committed; a re-claim after a failover lifts the epoch above the one written with', async () => {
  await withPg(async (c) => {
    const offsets = new OffsetsTable(`eo_test.${unique('offsets')}`, 'g', 'test:1');
    await offsets.ensure(c);
    const [claimed] = await offsets.claim(c, [{ topic: 't', partition: 0, start: 100 }]);
    assert.deepEqual({ epoch: claimed.epoch, resume: claimed.resume }, { epoch: 1, resume: 100 });
    const batch = [{ topic: 't', partition: 0, from: 100, to: 150, epoch: 1 }];
    assert.equal(await offsets.finished(c, batch), false);
    await offsets.markDone(c, batch);
    assert.equal(await offsets.finished(c, batch), true);
    assert.equal(await offsets.finished(c, [...batch, { topic: 't', partition: 1, from: 0, to: 5, epoch: 1 }]), false, 'a partition with no row has finished nothing');
    assert.equal(await offsets.finished(c, [{ topic: 't', partition: 0, from: 120, to: 160, epoch: 1 }]), false, 'partly finished is not finished');
    // The table's epoch rolled back to 1 with a lost tail, but this engine wrote with epoch 5 there.
    const [again] = await offsets.claim(c, [{ topic: 't', partition: 0, start: 100, epochAbove: 5 }]);
    assert.deepEqual({ epoch: again.epoch, resume: again.resume }, { epoch: 6, resume: 150 });
    const [fresh] = await offsets.claim(c, [{ topic: 't', partition: 2, start: 7, epochAbove: 5 }]);
    assert.deepEqual({ epoch: fresh.epoch, resume: fresh.resume }, { epoch: 6, resume: 7 }, 'a row the new server lacks starts where the assignment started');
    await c.query(`DROP TABLE ${offsets.table}`);
  });
});

test('offsets table: engines that start together on a fresh database all create it (no duplicate-key race in CREATE … IF NOT EXISTS)', async () => {
  // Two sessions creating the same table or schema at once: without a lock the slower one fails with a
  // unique violation on pg_type or pg_namespace (found by the deploy test: an engine of two exited).
  for (let round = 0; round < 5; round++) {
    const schema = unique('eo_race');
    const table = `${schema}.offsets`;
    const clients = await Promise.all(Array.from({ length: 6 }, () => connect()));
    try {
      await Promise.all(
        clients.map(async (c, i) => {
          await c.query('BEGIN');
          await new OffsetsTable(table, 'g', `test:${i}`).ensure(c);
          await new ActiveCluster(table, 'g').ensure(c);
          await c.query('COMMIT');
        }),
      );
      const rows = await clients[0].query(`SELECT count(*)::int AS n FROM ${table}`);
      assert.equal(rows.rows[0].n, 0);
      const active = await clients[0].query(`SELECT cluster FROM ${table}_cluster`);
      assert.deepEqual(active.rows, [{ cluster: 'primary' }]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    }
  }
});

async function connect(): Promise<Client> {
  const c = new Client({ connectionString: DATABASE_URL });
  await c.connect();
  return c;
}

test('offsets table: an engine that starts while others write takes no lock that waits for their transactions', async () => {
  const table = `eo_test.${unique('offsets')}`;
  const [writer, starter] = await Promise.all([connect(), connect()]);
  try {
    await new OffsetsTable(table, 'g', 'test:1').ensure(writer);
    // A running engine's batch transaction: it holds the table's ROW EXCLUSIVE lock until it commits.
    await writer.query('BEGIN');
    await writer.query(`UPDATE ${table} SET owner = owner WHERE false`);
    await starter.query(`SET lock_timeout = '1s'`);
    await starter.query('BEGIN');
    await new OffsetsTable(table, 'g', 'test:2').ensure(starter);
    await starter.query('COMMIT');
    await writer.query('COMMIT');
  } finally {
    await Promise.all([writer.end(), starter.end()]);
    await withPg((c) => c.query(`DROP TABLE IF EXISTS ${table}`));
  }
});
