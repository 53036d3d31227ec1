import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { encodeOrderProto, ORDER_TABLE_COLUMNS, orderPipeline } from '../../../bench/lib/orders';
import { planColumns, type WorkerColumn, type WorkerPipeline } from '../../../src/decode/column-plan';
import { findMessage, parseProto, protoFieldInfo } from '../../../src/decode/protobuf';
import { RingWriter } from '../../../src/ring/ring-writer';
import { prng, type Rnd } from '../../helpers/random-avro';
import { coveredTypesForField, randomMessage, randomPaths, randomProto, typesForField } from '../../helpers/random-proto';
import { compare, comparePaths, corrupt } from '../../helpers/transcode-compare';

/**
 * [Transcode] The Protobuf transcoder against the object path (protobufjs's decoder, then the column
 * encoders): random proto3 schemas, random wire-level messages and corruptions of them give the same
 * rows and the same failures (code and message) on both paths. TRANSCODE_RECORDS sets how many records
 * (250,000 by default, in CI; the full run is TRANSCODE_RECORDS=1000000, docs/transcode.md).
 */
const TOTAL = Number(process.env.TRANSCODE_RECORDS ?? 250_000);
const FAST_TOTAL = Number(process.env.FAST_ROW_RECORDS ?? 200_000);
const PER_SCHEMA = 2_000;
const ELEM_OIDS: Record<string, number> = { text: 25, varchar: 1043, int8: 20, float8: 701, bool: 16 };

/** `covered`: only columns the generated row function writes (proto-fast-row.ts), so it is what is tested. */
function pipelineOf(text: string, type: protobuf.Type, rnd: Rnd, covered = false): WorkerPipeline {
  const typesOf = covered ? coveredTypesForField : typesForField;
  const paths = randomPaths(type, rnd).filter((path) => typesOf(type, path).length > 0);
  const count = Math.min(paths.length, 1 + Math.floor(rnd() * Math.min(9, paths.length)));
  const columns: WorkerColumn[] = [];
  for (let i = 0; i < count; i++) {
    const path = paths[Math.floor(rnd() * paths.length)];
    const types = typesOf(type, path);
    const typname = types[Math.floor(rnd() * types.length)];
    const elem = typname.startsWith('_') ? typname.slice(1) : null;
    const info = protoFieldInfo(type, path);
    columns.push({
      name: `c${i}`, type: { typname, elemTypname: elem, elemOid: elem ? ELEM_OIDS[elem] : 0 }, source: 'field',
      path: info?.path ?? path, hint: info?.hint ?? null, presence: info?.presence ?? false, required: rnd() < 0.15,
    });
  }
  if (rnd() < 0.3) columns.splice(Math.floor(rnd() * columns.length), 0, { name: 'm', type: { typname: 'int8', elemTypname: null, elemOid: 0 }, source: 'offset', path: [], hint: null, presence: false, required: false });
  return { name: 'p', format: 'protobuf', schemaText: text, messageType: 't.Root', registry: false, columns, merge: rnd() < 0.2 ? { cdc: false, keyColumns: [0], deleteOnTombstone: false, skipTruncate: false } : null };
}

/** One round: a random schema, columns, PER_SCHEMA random messages (every fourth corrupted), both paths compared. */
function round(n: number, rnd: Rnd, covered: boolean): { transcoded: number; fastRows: number } | null {
  const text = randomProto(rnd);
  const type = findMessage(parseProto(text, 'test'), 't.Root', 'test');
  const p = pipelineOf(text, type, rnd, covered);
  if (p.columns.length === 0) return null;
  const what = `round ${n}: schema\n${text}\ncolumns ${JSON.stringify(p.columns.map((c) => [c.source, c.path.join('.'), c.type.typname, c.required, c.presence]))}`;
  const ring = new RingWriter(16 << 20);
  for (let i = 0; i < PER_SCHEMA; i++) {
    const w = protobuf.Writer.create();
    randomMessage(type, w, rnd);
    let value: Buffer = Buffer.from(w.finish());
    if (i % 4 === 3) value = corrupt(value, rnd);
    assert.ok(ring.write(0, 0, 0, i, 1_700_000_000_000 + i, null, value));
  }
  return comparePaths(ring, p, null, what);
}

test(`random proto3 schemas: ${TOTAL} random messages and corruptions of them give the same rows and errors on both paths`, { timeout: 600_000 }, () => {
  const rnd = prng(20261203);
  let records = 0;
  let transcoded = 0;
  for (let n = 0; records < TOTAL; n++) {
    transcoded += round(n, rnd, false)!.transcoded;
    records += PER_SCHEMA;
  }
  assert.ok(transcoded > records / 5, `${transcoded} of ${records} records became rows`);
});

/**
 * [Transcode] The generated row function (proto-fast-row.ts): columns only of the shapes it covers, so
 * that it writes most rows; the closures take the records it leaves, and both must match the object path.
 */
test(`generated row functions: ${FAST_TOTAL} random messages and corruptions give the object path's rows and errors`, { timeout: 600_000 }, (t) => {
  const rnd = prng(20261204);
  let records = 0;
  let fastRows = 0;
  let transcoded = 0;
  for (let n = 0; records < FAST_TOTAL; n++) {
    const counts = round(n, rnd, true);
    if (counts === null) continue;
    fastRows += counts.fastRows;
    transcoded += counts.transcoded;
    records += PER_SCHEMA;
  }
  t.diagnostic(`${fastRows} of ${transcoded} rows (${records} records) by generated functions`);
  // Corruptions, longs beyond 2^53, invalid UTF-8 and the like are left to the closures: most rows are not.
  assert.ok(fastRows > transcoded / 2, `${fastRows} of ${transcoded} rows by generated functions`);
});

test('the reference Protobuf Order is transcoded and written as the object path writes it', () => {
  const problems: string[] = [];
  const plan = planColumns(orderPipeline('protobuf'), 'test', ORDER_TABLE_COLUMNS, problems);
  assert.deepEqual(problems, []);
  const ring = new RingWriter(4 << 20);
  for (let i = 0; i < 1000; i++) assert.ok(ring.write(0, 0, 0, i, 1, null, encodeOrderProto(i)));
  assert.equal(compare(ring, plan, null, 'orders'), 1000);
});

test('a oneof member set again after another member starts empty (protobufjs deletes the others), on both paths', () => {
  const text = `syntax = "proto3"; package t;
    message Inner { repeated string tags = 1; map<string, string> attrs = 2; int64 n = 3; }
    message Root { oneof o { Inner a = 1; string b = 2; } int32 after = 3; }`;
  const type = findMessage(parseProto(text, 'test'), 't.Root', 'test');
  const inner = findMessage(parseProto(text, 'test'), 't.Inner', 'test');
  const column = (name: string, path: string[], typname: string, elem: string | null = null): WorkerColumn => ({
    name, type: { typname, elemTypname: elem, elemOid: elem ? 25 : 0 }, source: 'field', path, hint: null, presence: false, required: false,
  });
  const p: WorkerPipeline = {
    name: 'p', format: 'protobuf', schemaText: text, messageType: 't.Root', registry: false, merge: null,
    columns: [column('tags', ['a', 'tags'], '_text', 'text'), column('attrs', ['a', 'attrs'], 'jsonb'), column('n', ['a', 'n'], 'int8'), column('b', ['b'], 'text'), column('after', ['after'], 'int4')],
  };
  const a = (tags: string[], n: number): Buffer => {
    const body = inner.encode(inner.fromObject({ tags, attrs: Object.fromEntries(tags.map((t) => [t, t])), n })).finish();
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).bytes(body);
    return Buffer.from(w.finish());
  };
  const b = Buffer.from(type.encode(type.fromObject({ b: 'bee' })).finish());
  const ring = new RingWriter(1 << 20);
  const values = [
    Buffer.concat([a(['x', 'y'], 1), b, a(['z'], 0)]), // a, then b clears a, then a again: only z
    Buffer.concat([a(['x'], 5), a(['y'], 0)]), // a twice: merged (tags x, y; n stays 5)
    Buffer.concat([a(['x'], 5), b]), // b last: a is gone
  ];
  values.forEach((v, i) => assert.ok(ring.write(0, 0, 0, i, 1, null, v)));
  assert.equal(compare(ring, p, null, 'oneof'), 3);
});
