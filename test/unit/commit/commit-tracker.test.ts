import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitTracker } from '../../../src/commit/commit-tracker';

test('the watermark moves only over a contiguous run of finished pieces', () => {
  const tracker = new CommitTracker();
  const t = tracker.assign('orders', 0, 100);
  const a = t.open(199);
  const b = t.open(299);
  const c = t.open(399);
  assert.equal(tracker.complete([b]), false);
  assert.equal(t.watermark, 100);
  assert.deepEqual(tracker.takeCommits(), [{ topic: 'orders', partition: 0, offset: 100 }]);
  assert.equal(tracker.complete([a]), true);
  assert.equal(t.watermark, 300);
  assert.deepEqual(tracker.takeCommits(), [{ topic: 'orders', partition: 0, offset: 300 }]);
  assert.deepEqual(tracker.takeCommits(), [], 'nothing new to commit');
  tracker.complete([c]);
  assert.equal(t.watermark, 400);
  assert.equal(t.inFlight, 0);
});

test('partitions are independent', () => {
  const tracker = new CommitTracker();
  const p0 = tracker.assign('t', 0);
  const p1 = tracker.assign('t', 1);
  const x = p0.open(10);
  const y = p1.open(20);
  p0.open(30);
  tracker.complete([x, y]);
  assert.deepEqual(tracker.takeCommits().sort((m, n) => m.partition - n.partition), [
    { topic: 't', partition: 0, offset: 11 },
    { topic: 't', partition: 1, offset: 21 },
  ]);
});

test('completions of a revoked partition change nothing, even after it is assigned again (epochs)', () => {
  const tracker = new CommitTracker();
  const old = tracker.assign('t', 0, 0);
  const late = old.open(50);
  tracker.revoke('t', 0);
  const fresh = tracker.assign('t', 0, 40);
  assert.notEqual(fresh.epoch, old.epoch);
  assert.equal(tracker.complete([late]), false);
  assert.equal(fresh.watermark, 40);
  assert.deepEqual(tracker.takeCommits(), [{ topic: 't', partition: 0, offset: 40 }]);
  assert.equal(tracker.get('t', 0), fresh);
});

test('a start position coming back from the database: pieces cover every offset from it, without gaps', () => {
  const tracker = new CommitTracker();
  const t = tracker.assign('t', 3);
  t.start(1000);
  const a = t.open(1099);
  const b = t.open(1499);
  assert.deepEqual([a.first, a.lastOffset, b.first, b.lastOffset], [1000, 1099, 1100, 1499]);
  tracker.complete([b]);
  assert.equal(t.watermark, 1000, 'the later piece alone does not move the watermark');
  tracker.complete([a]);
  assert.equal(t.watermark, 1500);
});

test('an unknown start takes the first finished piece as the start of the run', () => {
  const tracker = new CommitTracker();
  const t = tracker.assign('t', 0);
  assert.deepEqual(tracker.takeCommits(), [], 'nothing to commit while the position is unknown');
  tracker.complete([t.open(7)]);
  assert.equal(t.watermark, 8);
});

test('exactly-once: ranges an earlier owner finished above the start are skipped, then forgotten', () => {
  const t = new CommitTracker().assign('t', 0);
  t.start(100);
  t.skip = [[150, 200], [300, 310]];
  assert.deepEqual([149, 150, 199, 200, 299, 300, 309, 310].map((o) => t.skips(o)), [false, true, true, false, false, true, true, false]);
  assert.deepEqual(t.skip, [], 'ranges passed by are dropped');
  t.fenced = true;
  assert.equal(t.skips(5000), true, 'nothing of a fenced partition is written');
});

test('a commit the broker refused is sent again with the next one (positions move only forward, so nothing else would resend it)', () => {
  const tracker = new CommitTracker();
  const t = tracker.assign('orders', 1, 100);
  tracker.complete([t.open(199)]);
  assert.deepEqual(tracker.takeCommits(), [{ topic: 'orders', partition: 1, offset: 200 }]);
  assert.deepEqual(tracker.takeCommits(), []);
  // ILLEGAL_GENERATION during a cooperative rebalance: the last position of a partition that is idle now.
  assert.equal(tracker.recommit([{ topic: 'orders', partition: 1, offset: 200 }]), true);
  assert.deepEqual(tracker.takeCommits(), [{ topic: 'orders', partition: 1, offset: 200 }]);
  assert.equal(tracker.recommit([{ topic: 'orders', partition: 7, offset: 5 }]), false, 'not owned: nothing to send');
  tracker.revoke('orders', 1);
  assert.equal(tracker.recommit([{ topic: 'orders', partition: 1, offset: 200 }]), false, 'revoked: its next owner commits');
});
