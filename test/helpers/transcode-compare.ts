import assert from 'node:assert/strict';
import { ChunkDecoder } from '../../src/decode/chunk-decoder';
import type { WorkerPipeline } from '../../src/decode/column-plan';
import type { DecodeResult } from '../../src/decode/task';
import { RingWriter } from '../../src/ring/ring-writer';
import { randomValue, type Rnd, type Schema } from './random-avro';

/** [Transcode] What the transcoder property tests share: corrupting a value, comparing both paths. */

/** A random corruption: cut short, bytes overwritten, a long varint inserted, a byte added, or noise. */
export function corrupt(v: Buffer, rnd: Rnd): Buffer {
  switch (Math.floor(rnd() * 5)) {
    case 0:
      return v.subarray(0, Math.floor(rnd() * v.length));
    case 1: {
      const c = Buffer.from(v);
      for (let k = 0; k < 2 && c.length > 0; k++) c[Math.floor(rnd() * c.length)] = Math.floor(rnd() * 256);
      return c;
    }
    case 2: {
      const at = Math.floor(rnd() * (v.length + 1));
      return Buffer.concat([v.subarray(0, at), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x7f]), v.subarray(at)]);
    }
    case 3:
      return Buffer.concat([v, Buffer.from([Math.floor(rnd() * 256)])]);
    default:
      return Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
  }
}

function rowBytes(r: DecodeResult): string {
  return r.outputs.map((o) => `${o.pipeline}:${o.rows}:${Buffer.from(o.buffer, 0, o.byteLength).toString('hex')}:${Buffer.from(o.frames, 0, o.rows * 4).toString('hex')}`).join('|');
}

/** Decodes the same chunk on both paths; returns how many records the transcoder wrote. */
export function compare(ring: RingWriter, p: WorkerPipeline, table: SharedArrayBuffer | null, what: string): number {
  return comparePaths(ring, p, table, what).transcoded;
}

/** compare, also saying how many rows the generated row functions (avro-fast-row.ts, proto-fast-row.ts) wrote. */
export function comparePaths(ring: RingWriter, p: WorkerPipeline, table: SharedArrayBuffer | null, what: string): { transcoded: number; fastRows: number } {
  const chunk = ring.close()!;
  const task = { start: chunk.start, end: chunk.end, frames: chunk.frames };
  const decoder = new ChunkDecoder(ring.sab, [p], table, true);
  const fast = decoder.decode(task).result;
  const slow = new ChunkDecoder(ring.sab, [p], table, false).decode(task).result;
  assert.equal(fast.fatal, null, `${what}: ${fast.fatal?.message}`);
  assert.equal(slow.fatal, null, `${what}: ${slow.fatal?.message}`);
  assert.deepEqual(fast.failures.map((f) => [f.offset, f.error.code, f.error.message]), slow.failures.map((f) => [f.offset, f.error.code, f.error.message]), what);
  if (rowBytes(fast) !== rowBytes(slow)) {
    assert.fail(`${what}: the rows differ\ntranscoder: ${rowBytes(fast).slice(0, 600)}\nobject:     ${rowBytes(slow).slice(0, 600)}`);
  }
  assert.equal(slow.transcoded, 0);
  // Every row came from the transcoder: nothing here falls back to the object path.
  assert.equal(fast.transcoded, slow.outputs.reduce((n, o) => n + o.rows, 0), `${what}: rows left to the object path`);
  return { transcoded: fast.transcoded, fastRows: decoder.fastRows };
}

/** A ring of `count` random records of `schema`, every fourth one corrupted; `frame` gives each its partition, timestamp and key. */
export function randomRing(schema: Schema, rnd: Rnd, count: number, frame: (i: number) => { partition: number; timestamp: number; key: Buffer | null }): RingWriter {
  const ring = new RingWriter(16 << 20);
  for (let i = 0; i < count; i++) {
    const out: number[] = [];
    randomValue(schema, rnd, out);
    let value: Buffer = Buffer.from(out);
    if (i % 4 === 3) value = corrupt(value, rnd);
    const f = frame(i);
    assert.ok(ring.write(0, 0, f.partition, i, f.timestamp, f.key, value));
  }
  return ring;
}

/** What a failed comparison names: the round, its schema and its columns. */
export function describeRound(round: number, schemaText: string, p: WorkerPipeline): string {
  return `round ${round}: schema ${schemaText}\ncolumns ${JSON.stringify(p.columns.map((c) => [c.source, c.path.join('.'), c.type.typname, c.required, c.hint]))}`;
}
