import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitTracker } from '../../../src/commit/commit-tracker';
import type { ClaimedPartition, ClaimRequest } from '../../../src/commit/offsets-table';
import type { Operations } from '../../../src/engine/operations';
import { Partitions, type PartitionsHost } from '../../../src/engine/partitions';
import type { ChunkWork } from '../../../src/ring/chunk-work';
import { RingWriter } from '../../../src/ring/ring-writer';
import type { KafkaSource, Message } from '../../../src/source/kafka-source';
import { MessagePoller } from '../../../src/source/poller';
import type { TopicRoutes } from '../../../src/source/routes';
import type { ConsumerClient, TopicPartition } from '../../../src/source/source';

const TOPIC = 't';
const P0: TopicPartition = { topic: TOPIC, partition: 0 };

function messages(from: number, to: number): Message[] {
  const out: Message[] = [];
  for (let o = from; o < to; o++) out.push({ topic: TOPIC, partition: 0, offset: o, value: Buffer.from(`v${o}`), key: null, size: 3, timestamp: 0 });
  return out;
}

/**
 * node-rdkafka's polling loop and the partition lifecycle over a fake consumer whose every consume call
 * waits for the test to answer it, so a consume can be in flight across a rebalance.
 */
function setup() {
  const tracker = new CommitTracker();
  const answers: Array<(m: Message[]) => void> = [];
  let consumes = 0;
  const assigns: Array<TopicPartition[] | null> = [];
  let resume = 0;
  let epoch = 0;
  let claimGate: Promise<void> = Promise.resolve();
  const source = {
    consume: () => new Promise<Message[]>((resolve) => (consumes++, answers.push(resolve))),
    committed: (parts: TopicPartition[]) => Promise.resolve(parts.map((p) => ({ ...p, offset: -1 }))),
    watermarks: () => Promise.resolve({ low: 0, high: 1000 }),
    commitAndWait: () => Promise.resolve(),
    seek: () => Promise.resolve(),
    positions: () => [],
  };
  const chunks: ChunkWork[] = [];
  const routes = { route: () => ({ pipeline: 0, id: 1 }), get: () => ({ pipeline: 0, id: 1 }) } as unknown as TopicRoutes;
  const poller = new MessagePoller(source as unknown as KafkaSource, {
    ring: new RingWriter(1 << 20),
    tracker,
    routes,
    onChunk: (c) => chunks.push(c),
    options: { pollBatch: 100, pollTimeoutMs: 100, maxChunkBytes: 64 << 10 },
    onIdle: () => undefined,
    schemas: null,
  });
  const host: PartitionsHost = {
    source: () => source as unknown as ConsumerClient,
    poller: () => poller,
    stopping: () => false,
    fail: (err) => assert.fail(String(err)),
    caughtUp: () => undefined,
    claim: async (parts: ClaimRequest[]): Promise<ClaimedPartition[]> => {
      await claimGate;
      return parts.map((p) => ({ topic: p.topic, partition: p.partition, epoch: ++epoch, resume, skip: [] }));
    },
    startAtEnd: false,
    sharePattern: () => false,
  };
  const ops = { readiness: { assignmentReceived: false }, metrics: { rebalances: { inc: () => undefined }, forgetPartition: () => undefined } } as unknown as Operations;
  const partitions = new Partitions(tracker, routes, ops, false, host);
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    tracker, poller, partitions, chunks, assigns, settle,
    setResume: (r: number) => (resume = r),
    holdClaims: () => {
      let open!: () => void;
      claimGate = new Promise<void>((r) => (open = r));
      return open;
    },
    consumes: () => consumes,
    /** Answers the consume in flight. */
    answer: async (m: Message[]) => {
      while (answers.length === 0) await new Promise((r) => setImmediate(r));
      answers.shift()!(m);
      await settle();
    },
    assign: (parts: TopicPartition[]) => partitions.assigned(parts, (starts) => assigns.push(starts)),
    /** Offsets of every piece written for a track: [first, last] per chunk. */
    written: (track: unknown) => chunks.flatMap((c) => c.pieces.filter((p) => p.track === track).map((p) => [p.first, p.lastOffset])),
  };
}

for (const when of ['before the new claim finished', 'after the new claim, before the assign']) {
  test(`node-rdkafka: messages of a consume in flight across a rebalance, fetched under the partition's earlier assignment, are not written into its new one (they arrive ${when})`, async () => {
    const s = setup();
    const run = s.poller.run();
    s.assign([P0]);
    assert.equal(s.assigns.length, 0, 'librdkafka is assigned between two polls, not while a consume is in flight');
    await s.answer([]);
    assert.deepEqual(s.assigns, [[{ ...P0, offset: 0 }]]);
    const first = s.tracker.get(TOPIC, 0)!;

    await s.answer(messages(0, 10));
    assert.deepEqual(s.written(first), [[0, 9]]);
    for (const c of s.chunks) s.tracker.complete(c.pieces);
    assert.equal(first.watermark, 10);

    // The group rebalances while a consume is in flight: the partition is revoked (nothing in flight: at
    // once) and assigned again, to resume at 10; the consume then returns messages 10..14 fetched under
    // the first assignment (librdkafka had them queued), and the next one returns them again, fetched anew.
    let released = 0;
    s.partitions.revoked([P0], () => released++, false);
    await s.settle();
    assert.equal(released, 1);
    s.setResume(10);
    if (when === 'before the new claim finished') {
      const openClaim = s.holdClaims();
      s.assign([P0]);
      await s.answer(messages(10, 15));
      openClaim();
      await s.settle();
      assert.equal(s.assigns.length, 1, 'not while a consume is in flight');
      // librdkafka has no assignment of the partition: the poll in flight returns nothing of it.
      await s.answer([]);
    } else {
      s.assign([P0]);
      await s.settle();
      await s.answer(messages(10, 15));
    }
    const second = s.tracker.get(TOPIC, 0)!;
    assert.notEqual(second, first);
    assert.equal(s.assigns.length, 2);
    assert.deepEqual(s.assigns[1], [{ ...P0, offset: 10 }]);
    assert.deepEqual(s.written(second), [], 'the stale messages are dropped');

    await s.answer(messages(10, 15));
    assert.deepEqual(s.written(second), [[10, 14]], 'written once, from the fetch of the new assignment');
    assert.equal(s.chunks.reduce((n, c) => n + c.region.frames, 0), 15);

    s.poller.stop();
    await s.answer([]);
    await run;
  });
}
