import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from '../helpers/env';
import { runPipeline } from '../helpers/pipeline';

/** [Tables] Columns from the record's envelope: $topic and headers ($header.NAME), beside the other metadata. */
test('$topic and $header.NAME columns: text and bytea, the last of repeated headers, NULL when absent; with $partition, $offset, $timestamp, $key', async () => {
  const N = 6;
  // node-rdkafka's producer sends header values as UTF-8 text (it stringifies Buffers), and cuts them at a NUL: these bytes are valid UTF-8 without one.
  const binary = (i: number) => Buffer.from([0x01, 0xc3, 0xa9, 0x7f, 0x30 + i]);
  const { table, run, topic } = await runPipeline({
    format: 'json',
    tableColumns: 'id int, topic text, part int, off bigint, ts timestamptz, k text, trace text, bin bytea, dup text, nothing text',
    extra: '    columns: { topic: $topic, part: $partition, off: $offset, ts: $timestamp, k: $key, trace: $header.trace-id, bin: $header.bin, dup: $header.dup, nothing: $header.nothing }',
    values: Array.from({ length: N }, (_, i) => Buffer.from(JSON.stringify({ id: i }))),
    headers: (i): Array<Record<string, string | Buffer>> => (i % 3 === 2 ? [] : [{ 'trace-id': `t-${i}-é` }, { bin: binary(i) }, { dup: 'first' }, { dup: `last-${i}` }]),
  });
  assert.equal(run.code, 0, run.stderr);
  const rows = await sql(`SELECT id, topic, part, off::int AS off, ts IS NOT NULL AS has_ts, k, trace, encode(bin, 'hex') AS bin, dup, nothing FROM ${table} ORDER BY id`);
  assert.deepEqual(rows, Array.from({ length: N }, (_, i) => {
    const headers = i % 3 !== 2;
    return {
      id: i, topic, part: 0, off: i, has_ts: true, k: String(i), trace: headers ? `t-${i}-é` : null, bin: headers ? binary(i).toString('hex') : null,
      dup: headers ? `last-${i}` : null, nothing: null,
    };
  }));
});
