import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load';
import { DEFAULT_MEMORY, planMemory } from '../../../src/config/memory';

const MiB = 2 ** 20;
const config = (engine: string, batch = '') =>
  parseConfig(
    `kafka: { brokers: b, groupId: g }
postgres: { url: postgres://x }
engine: { ${engine} }
pipelines:
  - { name: p, topics: [t], format: json, table: t${batch} }
`,
    '/tmp',
    {},
  );

test('engine.memory sizes the ring, the fetch queue and the fetch responses', () => {
  const plan = planMemory(256 * MiB, null);
  assert.deepEqual(plan, { ringBytes: 48 * MiB, fetchQueueKBytes: 4 * 1024, fetchQueueMessages: 32768, fetchMaxBytes: 4 * MiB, maxBatchBytes: 12 * MiB });
  assert.equal(planMemory(256 * MiB, 8 * MiB).ringBytes, 8 * MiB, 'an explicit ring wins');
});

test('defaults: engine.memory 128MiB; an explicit ringBytes is kept; a batch never outgrows a quarter of the ring', () => {
  const d = config('workers: 2');
  assert.equal(DEFAULT_MEMORY, 128 * MiB);
  assert.equal(d.engine.memoryBytes, 128 * MiB);
  assert.equal(d.engine.ringBytes, 24 * MiB);
  assert.equal(d.engine.fetchQueueKBytes, 2 * 1024);
  assert.equal(d.engine.fetchQueueMessages, 16384);
  assert.equal(d.engine.fetchMaxBytes, 2 * MiB);
  assert.equal(d.pipelines[0].batch.maxBytes, 6 * MiB);
  assert.equal(config('memory: 1GiB').engine.ringBytes, 192 * MiB);
  assert.equal(config('memory: 64MiB, ringBytes: 100MiB').engine.ringBytes, 100 * MiB);
  assert.equal(config('ringBytes: 8MiB', ', batch: { maxBytes: 64MiB }').pipelines[0].batch.maxBytes, 2 * MiB);
  assert.throws(() => config('memory: 1MiB'), /engine\.memory/);
});
