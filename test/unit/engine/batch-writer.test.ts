import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Batch } from '../../../src/batcher/batcher';
import { CommitTracker } from '../../../src/commit/commit-tracker';
import { Writable } from 'node:stream';
import type { Client } from 'pg';
import type { DoneRange, OffsetsStore } from '../../../src/commit/offsets-table';
import type { RecordErrors } from '../../../src/deadletter/record-errors';
import { BatchWriter, doneRanges } from '../../../src/engine/batch-writer';
import type { Sink } from '../../../src/sink/pg-sink';
import type { ChunkWork } from '../../../src/ring/chunk-work';

function chunk(pieces: ChunkWork['pieces']): ChunkWork {
  return { region: { seq: 0, start: 0, end: 0, frames: 0, released: false }, pieces, pending: 0, settled: false, deadLetters: null, firstTimestamp: -1 };
}

test("a batch's finished offsets: its chunks' pieces of its pipeline, merged where they touch", () => {
  const tracker = new CommitTracker();
  const a = tracker.assign('t', 0);
  a.start(100);
  a.ownerEpoch = 7;
  const b = tracker.assign('t', 1);
  b.start(0);
  b.ownerEpoch = 3;
  const other = tracker.assign('u', 0);
  other.pipeline = 1;
  other.start(0);
  const c1 = chunk([a.open(149), b.open(9), other.open(5)]);
  const skipped = a.open(199); // in a batch still in flight
  const c2 = chunk([a.open(299), b.open(19)]);
  const none = new Uint8Array(0);
  const batch: Batch = { pipeline: 0, rows: 0, bytes: 0, parts: [c2, c1].map((c) => ({ chunk: c, rows: 0, bytes: none, frames: new Int32Array(0) })) };
  assert.equal(skipped.first, 150);
  assert.deepEqual(doneRanges(batch), [
    { topic: 't', partition: 0, from: 100, to: 150, epoch: 7 },
    { topic: 't', partition: 0, from: 200, to: 300, epoch: 7 },
    { topic: 't', partition: 1, from: 0, to: 20, epoch: 3 },
  ]);
  b.fenced = true;
  assert.deepEqual(doneRanges(batch).map((r) => r.partition), [0, 0], 'a fenced partition has nothing to write');
});

test('exactly-once: a retried batch whose earlier COMMIT got no answer is not written twice when the offsets table has it', async () => {
  const tracker = new CommitTracker();
  const track = tracker.assign('t', 0);
  track.start(0);
  track.ownerEpoch = 1;
  const rows = new Uint8Array(8);
  const batch: Batch = { pipeline: 0, rows: 2, bytes: 8, parts: [{ chunk: chunk([track.open(1)]), rows: 2, bytes: rows, frames: new Int32Array(2) }] };
  let copies = 0;
  // A COPY stream that takes anything: the statement is the fake client's, not a server's.
  const client = { query: (q: unknown) => (typeof q === 'string' ? Promise.resolve({ rows: [] }) : (copies++, new Writable({ write: (_c, _e, cb) => cb() }))) } as unknown as Client;
  const durable: DoneRange[] = [];
  const offsets: OffsetsStore = {
    table: 'offsets',
    ensure: () => Promise.resolve(),
    claim: () => Promise.resolve([]),
    markDone: (_c, ranges) => Promise.resolve(void durable.push(...ranges)),
    finished: (_c, ranges) => Promise.resolve(ranges.every((r) => durable.some((d) => d.partition === r.partition && d.from <= r.from && d.to >= r.to))),
  };
  // The first attempt commits and the connection dies before the answer: the sink runs the work again.
  const sink = {
    transaction: async <T>(_what: string, work: (c: Client, attempt: number) => Promise<T>): Promise<T> => {
      await work(client, 1);
      return work(client, 2);
    },
  } as unknown as Sink;
  const writer = new BatchWriter(sink, ['t'], {} as RecordErrors, offsets, new SharedArrayBuffer(64));
  assert.equal(await writer.write(batch), 2);
  assert.equal(copies, 1, 'the second attempt found the batch committed and wrote nothing');
  assert.deepEqual(durable, [{ topic: 't', partition: 0, from: 0, to: 2, epoch: 1 }]);
});
