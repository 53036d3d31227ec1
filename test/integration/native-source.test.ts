import assert from 'node:assert/strict';
import { test } from 'node:test';
import Kafka from 'node-rdkafka';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { decodeHeaders, type RecordHeader } from '../../src/ring/headers';
import { FRAME_HEADER_BYTES } from '../../src/ring/layout';
import { FrameReader } from '../../src/ring/frame-reader';
import { RingWriter } from '../../src/ring/ring-writer';
import {
  FILL_FULL, OUT_FRAMES, OUT_HEAD, OUT_NEED_BYTES, OUT_PART0, OUT_PARTS, OUT_STATUS,
} from '../../src/source/native-binding';
import { FILL_REPORT_PARTITIONS, NativeSource } from '../../src/source/native-source';
import { DEFAULT_GROUP_SETTINGS } from '../../src/source/source';
import { TopicRoutes } from '../../src/source/routes';
import { BROKERS, committedOffsets, unique } from '../helpers/env';

const N = 3000;
const PARTITIONS = 3;
const valueOf = (i: number) => Buffer.from(`v${i};`.repeat(1 + (i % 50)));

async function produceNulls(topic: string): Promise<void> {
  const producer = new Kafka.HighLevelProducer({ 'metadata.broker.list': BROKERS, dr_cb: true });
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  const send = (key: Buffer | null, value: Buffer | null, headers: Kafka.MessageHeader[] = []) =>
    new Promise<void>((resolve, reject) => producer.produce(topic, 0, value, key, Date.now(), headers, (err: Error | null) => (err ? reject(err) : resolve())));
  producer.setPollInterval(10);
  // (node-rdkafka's producer writes header values as C strings: no NUL bytes here.)
  await send(null, Buffer.from('no key'), [{ 'trace-id': Buffer.from('abc') }, { bin: Buffer.from([1, 2, 7]) }, { 'trace-id': Buffer.from('second') }]);
  await send(Buffer.from('tombstone'), null);
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
}

test('native source: every message lands in the ring as a frame the workers read back exactly; a full span holds the message for the next fill; seek, pause and resume', async () => {
  const topic = unique('native');
  const group = unique('native');
  await createTopic(topic, PARTITIONS);
  await produce(topic, N, valueOf, { partitions: PARTITIONS });
  await produceNulls(topic);

  const routes = new TopicRoutes([{ name: 'p', topics: [topic] } as never]);
  const assigned: string[] = [];
  const source = new NativeSource({ brokers: BROKERS, groupId: group, config: {}, ...DEFAULT_GROUP_SETTINGS, dr: null, cluster: 'primary' }, routes, {
    assigned: (parts, assign) => {
      parts.forEach((p) => (routes.route(p.topic), assigned.push(`${p.topic}[${p.partition}]`)));
      assign(null);
    },
    revoked: (_parts, release) => release(),
    error: (err) => assert.fail(err.message),
  });
  // A small ring and small spans: fills end with FULL often, so held messages are exercised.
  const ring = new RingWriter(64 << 10);
  const reader = new FrameReader(ring.sab);
  source.handle.attachRing(new Uint8Array(ring.sab));
  await source.connect(10_000);
  source.subscribe([topic]);

  const out = new Float64Array(OUT_PART0 + 3 * FILL_REPORT_PARTITIONS);
  const seen = new Map<string, { key: string | null; value: Buffer | null; ts: number; headers: RecordHeader[] }>();
  const lastReported = new Map<number, number>();
  let need = FRAME_HEADER_BYTES;
  let fulls = 0;
  const deadline = Date.now() + 30_000;
  while (seen.size < N + 2 && Date.now() < deadline) {
    const pos = ring.reserveSpan(need);
    assert.ok(pos >= 0, 'every chunk is released at once, so there is always room');
    await source.fill(pos, Math.min(ring.spanEnd, pos + 4096 + need), 500, 100, out);
    ring.advance(out[OUT_HEAD], out[OUT_FRAMES]);
    source.dispatchEvents(out);
    need = out[OUT_STATUS] === FILL_FULL ? out[OUT_NEED_BYTES] : FRAME_HEADER_BYTES;
    if (out[OUT_STATUS] === FILL_FULL) fulls++;
    const chunk = ring.close();
    if (!chunk) continue;
    reader.acquire();
    const lastInChunk = new Map<number, number>();
    for (let at = chunk.start, n = 0; n < chunk.frames; n++, at += reader.frameBytes) {
      reader.at(at);
      assert.equal(reader.topicId, routes.get(topic)!.id);
      const k = reader.keyLength;
      const v = reader.valueLength;
      const id = `${reader.partition}@${reader.offset}`;
      assert.ok(!seen.has(id), `${id} written twice`);
      seen.set(id, {
        key: k < 0 ? null : reader.buffer.toString('utf8', reader.keyStart, reader.keyStart + k),
        value: v < 0 ? null : Buffer.from(reader.buffer.subarray(reader.valueStart, reader.valueStart + v)),
        ts: reader.timestamp,
        headers: decodeHeaders(reader.buffer, reader.headersStart, reader.headersLength),
      });
      lastInChunk.set(reader.partition, reader.offset);
    }
    for (let i = 0; i < out[OUT_PARTS]; i++) lastReported.set(out[OUT_PART0 + 3 * i + 1], out[OUT_PART0 + 3 * i + 2]);
    for (const [p, last] of lastInChunk) assert.equal(lastReported.get(p), last, `the fill reports partition ${p}'s last offset`);
    ring.release(chunk);
  }
  assert.equal(seen.size, N + 2, 'every message arrived once');
  assert.ok(fulls > 0, 'some fills ran out of room and held a message');
  assert.deepEqual(assigned.sort(), [0, 1, 2].map((p) => `${topic}[${p}]`));

  // Message i went to partition i % 3 with key i; partition 0 then got a key-less record and a tombstone.
  for (let i = 0; i < N; i++) {
    const frame = seen.get(`${i % PARTITIONS}@${Math.floor(i / PARTITIONS)}`);
    assert.ok(frame, `message ${i} missing`);
    assert.equal(frame.key, String(i));
    assert.deepEqual(frame.value, valueOf(i));
    assert.ok(frame.ts > 1_700_000_000_000, 'the broker timestamp is kept');
  }
  assert.deepEqual(seen.get(`0@${N / PARTITIONS}`)?.key, null);
  assert.deepEqual(seen.get(`0@${N / PARTITIONS}`)?.value, Buffer.from('no key'));
  assert.deepEqual(seen.get(`0@${N / PARTITIONS}`)?.headers, [
    { name: 'trace-id', value: Buffer.from('abc') },
    { name: 'bin', value: Buffer.from([1, 2, 7]) },
    { name: 'trace-id', value: Buffer.from('second') },
  ], 'headers are kept in order, repeated names included');
  assert.deepEqual(seen.get('0@0')?.headers, [], 'a record without headers has none');
  assert.deepEqual(seen.get(`0@${N / PARTITIONS + 1}`)?.value, null, 'a tombstone stays a null value');

  // Seek (the [Exactly-once] start positions) and pause/resume per partition, on the live assignment.
  const refill = async (wanted: number) => {
    const got = new Map<number, number[]>();
    let total = 0;
    const until = Date.now() + 15_000;
    while (total < wanted && Date.now() < until) {
      const pos = ring.reserveSpan(FRAME_HEADER_BYTES);
      await source.fill(pos, ring.spanEnd, 5000, 100, out);
      ring.advance(out[OUT_HEAD], out[OUT_FRAMES]);
      source.dispatchEvents(out);
      const chunk = ring.close();
      if (!chunk) continue;
      reader.acquire();
      for (let at = chunk.start, n = 0; n < chunk.frames; n++, at += reader.frameBytes) {
        reader.at(at);
        got.set(reader.partition, [...(got.get(reader.partition) ?? []), reader.offset]);
        total++;
      }
      ring.release(chunk);
    }
    return got;
  };
  const perPartition = N / PARTITIONS;
  source.handle.pause([{ topic, partition: 0 }]);
  source.handle.seek([{ topic, partition: 0, offset: 0 }, { topic, partition: 1, offset: perPartition - 10 }]);
  const afterSeek = await refill(10);
  assert.deepEqual([...afterSeek.keys()], [1], 'a paused partition delivers nothing');
  assert.deepEqual(afterSeek.get(1), Array.from({ length: 10 }, (_, i) => perPartition - 10 + i), 'a seek re-reads from the given offset');
  source.handle.resume([{ topic, partition: 0 }]);
  const afterResume = await refill(perPartition + 2);
  assert.equal(afterResume.get(0)?.length, perPartition + 2, 'after resume the sought partition is read from offset 0');
  assert.equal(afterResume.get(0)?.[0], 0);

  // Commits go through the same client and read back.
  await source.commitAndWait([0, 1, 2].map((partition) => ({ topic, partition, offset: partition + 5 })));
  assert.deepEqual((await source.committed([0, 1, 2].map((partition) => ({ topic, partition })), 10_000)).map((o) => o.offset), [5, 6, 7]);
  assert.deepEqual(await source.watermarks(topic, 0, 10_000), { low: 0, high: N / PARTITIONS + 2 });
  await source.disconnect();
  assert.deepEqual(await committedOffsets(group, topic, PARTITIONS), [5, 6, 7]);
  await deleteTopic(topic);
});
