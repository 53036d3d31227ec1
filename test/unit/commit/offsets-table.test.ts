import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRanges, qualifiedName, resumeOf } from '../../../src/commit/offsets-table';

test('finished ranges as PostgreSQL prints an int8multirange', () => {
  assert.deepEqual(parseRanges('{}'), []);
  assert.deepEqual(parseRanges('{(,1200)}'), [[-Infinity, 1200]]);
  assert.deepEqual(parseRanges('{(,1000),[1500,2000),[2500,2600)}'), [[-Infinity, 1000], [1500, 2000], [2500, 2600]]);
});

test('consumption resumes at the end of the first range; the ranges above it are skipped', () => {
  assert.deepEqual(resumeOf(parseRanges('{(,1000),[1500,2000)}')), { resume: 1000, skip: [[1500, 2000]] });
  assert.deepEqual(resumeOf(parseRanges('{(,0)}')), { resume: 0, skip: [] });
  assert.deepEqual(resumeOf([]), { resume: -1, skip: [] });
});

test('the offsets table name is read like PostgreSQL reads it and quoted part by part; anything else is refused', () => {
  assert.equal(qualifiedName('kafka_pg_engine.offsets'), '"kafka_pg_engine"."offsets"');
  assert.equal(qualifiedName('Offsets'), '"offsets"');
  assert.equal(qualifiedName('"Ops"."Offsets"'), '"Ops"."Offsets"');
  assert.throws(() => qualifiedName('a.b.c'), /not a table name/);
  assert.throws(() => qualifiedName('a.'), /not a table name/);
});
