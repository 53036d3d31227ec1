import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeMarks, recordHash, unionRanges, type RecordMark } from '../../../src/commit/record-marks';

test('[DR] a record\'s hash covers key and value with their lengths: null, empty and moved bytes differ', () => {
  // Golden value: SHA-1 of 00000001 'k' 00000001 'v', first 16 hex digits (record-marks.ts documents it).
  assert.equal(recordHash(Buffer.from('k'), Buffer.from('v')), '01cdfb83083c0dd9');
  const hashes = [
    recordHash(null, Buffer.from('v')),
    recordHash(Buffer.alloc(0), Buffer.from('v')),
    recordHash(Buffer.from('kv'), Buffer.alloc(0)),
    recordHash(Buffer.from('k'), Buffer.from('v')),
    recordHash(Buffer.from('k'), null),
  ];
  assert.equal(new Set(hashes).size, hashes.length);
});

const mark = (offset: number): RecordMark => [offset, 1_700_000_000_000 + offset, `h${offset}`];

test('[DR] each finished range keeps its first and last mark; batches that finish out of order join up', () => {
  // Two batches of one partition commit in reverse order: [100, 200) first, then [0, 100).
  const afterLater = mergeMarks('{(,0)}', null, [{ from: 100, to: 200, marks: [mark(100), mark(199)] }]);
  assert.deepEqual(afterLater, [mark(100), mark(199)]);
  const joined = mergeMarks('{(,0),[100,200)}', afterLater, [{ from: 0, to: 100, marks: [mark(0), mark(98)] }]);
  assert.deepEqual(joined.map((m) => m[0]), [0, 100, 199], 'one range now: first, last, and the newest older mark of each power-of-two span back (98 and 100 share one)');
  assert.deepEqual(joined[joined.length - 1], mark(199));
  // A range with no rows (all dead-lettered) keeps no mark; a skip range keeps its two ends only.
  const gap = mergeMarks('{(,0)}', null, [{ from: 0, to: 10, marks: [mark(0), mark(9)] }, { from: 20, to: 30, marks: [mark(20), mark(25), mark(29)] }, { from: 40, to: 50, marks: [] }]);
  assert.deepEqual(gap.map((m) => m[0]), [0, 9, 20, 29]);
});

test('[DR] the prefix keeps O(log n) marks, the newest in each power-of-two span back from its end', () => {
  let stored: RecordMark[] = [];
  let done = '{(,0)}';
  for (let b = 0; b < 5000; b++) {
    stored = mergeMarks(done, stored, [{ from: b * 10, to: b * 10 + 10, marks: [mark(b * 10), mark(b * 10 + 9)] }]);
    done = `{(,${b * 10 + 10})}`;
  }
  assert.ok(stored.length <= 2 + Math.ceil(Math.log2(50_000)), `${stored.length} marks`);
  assert.equal(stored[stored.length - 1][0], 49_999);
  assert.equal(stored[0][0], 0);
  // The newest older mark is at most a batch behind the last one.
  assert.ok(49_999 - stored[stored.length - 2][0] <= 10);
});

test('unionRanges merges touching and overlapping ranges', () => {
  assert.deepEqual(unionRanges([[5, 10], [-Infinity, 3], [3, 4], [9, 12]]), [[-Infinity, 4], [5, 12]]);
});
