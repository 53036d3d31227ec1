import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetsTable } from '../../src/commit/offsets-table';
import { unique, withPg } from '../helpers/env';

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
