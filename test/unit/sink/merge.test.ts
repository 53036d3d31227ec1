import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MergeConfig } from '../../../src/config/types';
import { MergePlan } from '../../../src/sink/merge';

const base: MergeConfig = { mode: 'upsert', key: ['id'], updateColumns: null, onlyIfNewer: null, deleteOnTombstone: true, truncate: 'error' };
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

test('upsert: COPY into the staging table with the delete flag and the offset; the last record of a key wins', () => {
  const plan = new MergePlan('public.items', ['id', 'name', 'Price'], base, 3);
  assert.equal(plan.copyTarget, 'pg_temp.kpe_stage_3 ("id", "name", "Price", _kpe_delete, _kpe_offset)');
  assert.match(squash(plan.createStage), /^SET LOCAL work_mem = .64MB.; CREATE TEMP TABLE IF NOT EXISTS kpe_stage_3 ON COMMIT DELETE ROWS AS SELECT "id", "name", "Price", false AS _kpe_delete, 0::int8 AS _kpe_offset FROM public.items WITH NO DATA$/);
  const sql = squash(plan.mergeSql);
  assert.match(sql, /SELECT DISTINCT ON \("id"\) \* FROM pg_temp.kpe_stage_3 ORDER BY "id", _kpe_offset DESC/);
  assert.match(sql, /DELETE FROM public.items AS t USING last WHERE last._kpe_delete AND t."id" = last."id"/);
  assert.match(sql, /ON CONFLICT \("id"\) DO UPDATE SET "name" = EXCLUDED."name", "Price" = EXCLUDED."Price"$/);
});

test('updateColumns, onlyIfNewer, a composite key, a table of key columns only', () => {
  const some = squash(new MergePlan('t', ['a', 'b', 'c', 'updated_at'], { ...base, key: ['a', 'b'], updateColumns: ['c'], onlyIfNewer: 'updated_at' }, 0).mergeSql);
  assert.match(some, /ORDER BY "a", "b", _kpe_offset DESC/);
  assert.match(some, /t."a" = last."a" AND t."b" = last."b"/);
  assert.match(some, /ON CONFLICT \("a", "b"\) DO UPDATE SET "c" = EXCLUDED."c" WHERE t."updated_at" IS NULL OR t."updated_at" <= EXCLUDED."updated_at"$/);
  assert.match(squash(new MergePlan('t', ['id'], base, 0).mergeSql), /ON CONFLICT \("id"\) DO NOTHING$/);
});
