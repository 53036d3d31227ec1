import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitTracker } from '../../../src/commit/commit-tracker';
import type { ClaimedPartition, ClaimRequest } from '../../../src/commit/offsets-table';
import type { Operations } from '../../../src/engine/operations';
import { Partitions, type PartitionsHost } from '../../../src/engine/partitions';
import type { ChunkPoller } from '../../../src/source/poller';
import type { TopicRoutes } from '../../../src/source/routes';
import type { ConsumerClient } from '../../../src/source/source';

const TOPIC = 't';
const END = 100;

/** --until-caught-up over one partition of END records, exactly-once; the poller runs barriers when told. */
function setup() {
  const tracker = new CommitTracker();
  let epoch = 0;
  let caughtUp = 0;
  const barriers: Array<() => Promise<void>> = [];
  let claimGate: Promise<void> = Promise.resolve();
  const source = {
    committed: () => Promise.resolve([{ topic: TOPIC, partition: 0, offset: -1 }]),
    watermarks: () => Promise.resolve({ low: 0, high: END }),
    seek: () => Promise.resolve(),
    positions: () => [],
  } as unknown as ConsumerClient;
  const poller = {
    invalidate: () => undefined,
    dropPending: () => undefined,
    betweenPolls: (fn: () => Promise<void> | void) => new Promise<void>((resolve) => barriers.push(() => Promise.resolve().then(fn).then(resolve))),
  } as unknown as ChunkPoller;
  const host: PartitionsHost = {
    source: () => source,
    poller: () => poller,
    stopping: () => false,
    fail: (err) => assert.fail(String(err)),
    caughtUp: () => void caughtUp++,
    claim: async (parts: ClaimRequest[]): Promise<ClaimedPartition[]> => {
      await claimGate;
      epoch++;
      return parts.map((p) => ({ topic: p.topic, partition: p.partition, epoch, resume: p.start, skip: [] }));
    },
    startAtEnd: false,
    sharePattern: () => false,
  };
  const routes = { route: () => ({ pipeline: 0, id: 1 }) } as unknown as TopicRoutes;
  const ops = { readiness: { assignmentReceived: false }, metrics: { rebalances: { inc: () => undefined }, reclaims: { inc: () => undefined } } } as unknown as Operations;
  const partitions = new Partitions(tracker, routes, ops, true, host);
  return {
    tracker, partitions, barriers,
    caughtUp: () => caughtUp,
    holdClaims: () => {
      let open!: () => void;
      claimGate = new Promise<void>((resolve) => (open = resolve));
      return open;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('--until-caught-up is not caught up while positions are re-read from PostgreSQL: the fenced track finished with nothing written', async () => {
  const s = setup();
  const assigned = new Promise<void>((resolve) => s.partitions.assigned([{ topic: TOPIC, partition: 0 }], () => resolve()));
  // librdkafka is assigned between two polls.
  while (s.barriers.length === 0) await settle();
  await s.barriers.shift()!();
  await assigned;
  const first = s.tracker.get(TOPIC, 0)!;
  assert.equal(first.ownerEpoch, 1);

  // The records are polled; a reconnect starts a reclaim, whose claim fences the track in flight. The
  // batch holding the records then finishes without them (they belong to epoch 2): the old track's
  // watermark reaches the end with nothing written.
  const piece = first.open(END - 1);
  const openClaim = s.holdClaims();
  s.partitions.reclaim('reconnected');
  first.fenced = true;
  piece.done = true;
  first.advance();
  assert.equal(first.watermark, END);
  s.partitions.checkCaughtUp(false);
  s.partitions.checkCaughtUp(true);
  assert.equal(s.caughtUp(), 0, 'not caught up while the claim runs');

  openClaim();
  await settle();
  s.partitions.checkCaughtUp(false);
  assert.equal(s.caughtUp(), 0, 'not caught up while the tracks wait to be replaced between two polls');

  // Between two polls the reclaim replaces the track: epoch 2, from where PostgreSQL says, same end.
  await s.barriers.shift()!();
  await settle();
  const second = s.tracker.get(TOPIC, 0)!;
  assert.notEqual(second, first);
  assert.equal(second.ownerEpoch, 2);
  assert.equal(second.watermark, 0);
  s.partitions.checkCaughtUp(false);
  assert.equal(s.caughtUp(), 0, 'the new track has written nothing yet');

  const again = second.open(END - 1);
  again.done = true;
  second.advance();
  s.partitions.checkCaughtUp(false);
  assert.equal(s.caughtUp(), 1, 'caught up once the new owner epoch wrote the records');
});
