import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BatchPart } from '../../../src/batcher/batcher';
import { RowWriter } from '../../../src/copy/copy-binary';
import { rejectionOf, rescue, splitRows, type BatchRow, type Rejection } from '../../../src/deadletter/rescue';
import { EngineError, ErrorCodes } from '../../../src/errors';
import type { ChunkWork } from '../../../src/ring/chunk-work';

/** A part of `n` rows with ids from..from+n-1: an int8 id, a text that may be NULL, an int4. */
function part(from: number, n: number): BatchPart {
  const w = new RowWriter(64);
  for (let id = from; id < from + n; id++) {
    w.beginRow(3);
    w.int64(id);
    if (id % 5 === 0) w.null();
    else w.utf8(`row ${id}`);
    w.int32(id * 2);
  }
  return { chunk: {} as ChunkWork, rows: n, bytes: w.buf.subarray(0, w.pos), frames: Int32Array.from({ length: n }, (_, i) => 1000 + from + i) };
}

const idOf = (row: BatchRow) => Number(Buffer.from(row.bytes).readBigInt64BE(2 + 4));

/** What pg reports for a refused COPY, wrapped as the sink wraps it. */
function refused(code: string, line: number | null, constraint?: string): EngineError {
  const cause = Object.assign(new Error('new row violates check constraint'), { code, constraint, where: line === null ? undefined : `COPY t, line ${line}, column amount: "x"` });
  return new EngineError(ErrorCodes.PG_REJECTED, 'COPY into t failed', { cause });
}

test('a batch splits into its rows, each with the frame of its record', () => {
  const rows = splitRows([part(0, 7), part(7, 5)]);
  assert.equal(rows.length, 12);
  assert.deepEqual(rows.map(idOf), Array.from({ length: 12 }, (_, i) => i));
  assert.deepEqual(rows.map((r) => r.frame), Array.from({ length: 12 }, (_, i) => 1000 + i));
  assert.equal(Buffer.concat(rows.map((r) => r.bytes)).length, part(0, 7).bytes.length + part(7, 5).bytes.length);
});

test('only data refusals (SQLSTATE 22, 23) are rescued; the row the server names is read from `line`', () => {
  assert.equal(rejectionOf(refused('23514', 4, 'amount_positive'))?.line, 4);
  assert.equal(rejectionOf(refused('23514', 4, 'amount_positive'))?.column, 'amount');
  assert.equal(rejectionOf(refused('23503', null))?.line, null);
  assert.equal(rejectionOf(refused('42703', 1)), null, 'an undefined column is not about rows');
  assert.equal(rejectionOf(new EngineError(ErrorCodes.SHUTDOWN, 'down', { retriable: true })), null);
});

for (const withLine of [true, false]) {
  test(`every good row lands once and every bad row is refused once (${withLine ? 'server names the row' : 'no row named: halves'})`, async () => {
    const bad = new Set([3, 4, 150, 999, 1000, 1999]);
    const rows = splitRows([part(0, 1000), part(1000, 1000)]);
    const landed: number[] = [];
    const rejected: number[] = [];
    const copy = (slice: BatchRow[]) => {
      const at = slice.findIndex((r) => bad.has(idOf(r)));
      if (at >= 0) return Promise.reject(refused(withLine ? '23514' : '23503', withLine ? at + 1 : null));
      landed.push(...slice.map(idOf));
      return Promise.resolve();
    };
    const stats = { copies: 0, rejected: 0 };
    const first = rejectionOf(refused(withLine ? '23514' : '23503', withLine ? 4 : null))!;
    await rescue(rows, first, copy, (row: BatchRow, why: Rejection) => {
      assert.equal(why.sqlstate, withLine ? '23514' : '23503');
      rejected.push(idOf(row));
      return Promise.resolve();
    }, stats);
    assert.deepEqual(rejected.sort((a, b) => a - b), [...bad].sort((a, b) => a - b));
    assert.deepEqual(landed.sort((a, b) => a - b), Array.from({ length: 2000 }, (_, i) => i).filter((i) => !bad.has(i)));
    assert.equal(stats.rejected, bad.size);
    // Bounded: about 2·log2(2000) ≈ 22 COPYs per bad row at worst, far fewer when the server names it.
    assert.ok(stats.copies <= bad.size * 2 * Math.ceil(Math.log2(2000)), `${stats.copies} COPYs`);
    if (withLine) assert.ok(stats.copies <= bad.size * 4 + 2, `${stats.copies} COPYs with line numbers`);
  });
}
