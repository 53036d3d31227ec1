import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../src/errors';
import { encoderFor } from '../../src/copy/column-encoders';
import { RowWriter } from '../../src/copy/copy-binary';
import { pgTargetOf } from '../../src/sink/pg-connection';
import { PgSink } from '../../src/sink/pg-sink';
import { describeTable } from '../../src/sink/table-columns';
import { DATABASE_URL, sql, unique } from '../helpers/env';

test('binary COPY of every supported column type reads back exactly', async () => {
  const table = unique('types');
  await sql(`CREATE TABLE ${table} (
    i2 smallint, i4 int, i8 bigint, f4 real, f8 double precision, b boolean, t text, v varchar(10), c char(3),
    by bytea, j json, jb jsonb, u uuid, ts timestamp, tz timestamptz, d date, n numeric, ta text[], ia int8[])`);
  const sink = new PgSink({ target: pgTargetOf(DATABASE_URL), connections: 1 });
  await sink.open();
  try {
    const client = await sink.acquire();
    const columns = await describeTable(client, table);
    sink.release(client);
    const encoders = columns.map((c) => encoderFor(c)!);
    const rows: unknown[][] = [
      [-32768, 2147483647, Number.MAX_SAFE_INTEGER, 1.5, -1e300, true, 'unicode ✓ 𝄞 "quoted"\ttab', 'short', 'abc',
        Buffer.from([0, 1, 255]), { nested: { a: [1, 2] } }, { k: 'v', n: null }, '123e4567-e89b-12d3-a456-426614174000',
        Date.UTC(2026, 10, 22, 12, 30, 45, 123), '2026-11-22T12:30:45.123Z', 20414, '-1234567890.0123456789', ['a', null, ''], [1, -9007199254740991]],
      [null, null, null, null, null, false, '', null, null, Buffer.alloc(0), [], {}, null, null, null, '1970-01-01', 0, [], null],
    ];
    const w = new RowWriter(64);
    for (const row of rows) {
      w.beginRow(columns.length);
      row.forEach((v, i) => (v === null ? w.null() : encoders[i](w, v)));
    }
    await sink.write({ target: table, parts: [w.buf.subarray(0, w.pos)], rows: rows.length });
  } finally {
    await sink.close();
  }
  const back = await sql<Record<string, unknown>>(
    `SELECT i2, i4, i8::text, f4, f8, b, t, v, c, encode(by, 'hex') AS by, j::text, jb, u::text,
            to_char(ts, 'YYYY-MM-DD HH24:MI:SS.MS') AS ts, extract(epoch from tz) AS tz, d::text, n::text, ta, ia::text[] AS ia
       FROM ${table} ORDER BY b DESC`,
  );
  assert.deepEqual(back[0], {
    i2: -32768, i4: 2147483647, i8: String(Number.MAX_SAFE_INTEGER), f4: 1.5, f8: -1e300, b: true, t: 'unicode ✓ 𝄞 "quoted"\ttab',
    v: 'short', c: 'abc', by: '0001ff', j: '{"nested":{"a":[1,2]}}', jb: { k: 'v', n: null }, u: '123e4567-e89b-12d3-a456-426614174000',
    ts: '2026-11-22 12:30:45.123', tz: '1795350645.123000', d: '2025-11-22', n: '-1234567890.0123456789', ta: ['a', null, ''], ia: ['1', '-9007199254740991'],
  });
  assert.deepEqual(back[1], {
    i2: null, i4: null, i8: null, f4: null, f8: null, b: false, t: '', v: null, c: null, by: '', j: '[]', jb: {}, u: null,
    ts: null, tz: null, d: '1970-01-01', n: '0', ta: [], ia: null,
  });
});

test('a batch the server rejects fails with ENG_PG_REJECTED and the server message; the connection stays usable', async () => {
  const table = unique('reject');
  await sql(`CREATE TABLE ${table} (v varchar(2))`);
  const sink = new PgSink({ target: pgTargetOf(DATABASE_URL), connections: 1 });
  await sink.open();
  try {
    const w = new RowWriter(64);
    w.beginRow(1);
    w.utf8('too long');
    await assert.rejects(sink.write({ target: table, parts: [w.buf.subarray(0, w.pos)], rows: 1 }), (err: unknown) => {
      assert.ok(err instanceof EngineError);
      assert.equal(err.code, 'ENG_PG_REJECTED');
      assert.match(err.message, /value too long for type character varying\(2\)/);
      return true;
    });
    const ok = new RowWriter(64);
    ok.beginRow(1);
    ok.utf8('ok');
    await sink.write({ target: table, parts: [ok.buf.subarray(0, ok.pos)], rows: 1 });
  } finally {
    await sink.close();
  }
  assert.deepEqual(await sql(`SELECT v FROM ${table}`), [{ v: 'ok' }]);
});
