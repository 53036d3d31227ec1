import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DecodePool } from '../../../src/decode/pool';
import { RingWriter } from '../../../src/ring/ring-writer';

test('a chunk whose worker fails twice comes back as one ENG_WORKER_FAILED failure per record, with each record\'s position', async () => {
  const ring = new RingWriter(1 << 16);
  ring.write(0, 3, 1, 10, 1, null, Buffer.from('a'));
  ring.write(1, 3, 2, 11, 1, null, null);
  ring.write(0, 4, 1, 12, 1, Buffer.from('k'), Buffer.from('c'));
  const chunk = ring.close()!;
  // A worker that dies on every task, as one would on a record that exhausts its heap.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pool-'));
  const worker = path.join(dir, 'dies.js');
  writeFileSync(worker, "let calls = 0; module.exports = () => { calls++; process.exit(7); };\n");
  const pool = new DecodePool(1, { ring: ring.sab, schemaTable: null, pipelines: [] }, worker);
  try {
    const result = await pool.run({ start: chunk.start, end: chunk.end, frames: chunk.frames });
    assert.equal(result.fatal, null);
    assert.equal(result.tombstones, 1);
    assert.deepEqual(result.failures.map((f) => [f.pipeline, f.topicId, f.partition, f.offset, f.error.code]), [
      [0, 3, 1, 10, 'ENG_WORKER_FAILED'],
      [0, 4, 1, 12, 'ENG_WORKER_FAILED'],
    ]);
    assert.equal(result.failures[0].pos, chunk.start);
    assert.match(result.failures[0].error.message, /failed twice/);
  } finally {
    await pool.close();
  }
});
