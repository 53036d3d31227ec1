import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderPipeline } from '../../../bench/lib/orders';
import { planRoutes, RecordRouter } from '../../../src/decode/record-routes';

const routes = (by: string, fallback: number | null) => ({ by, tables: { a: 'ta', '7': 't7' }, default: fallback === null ? null : 'td', targets: { a: 1, '7': 2 }, fallback });

test('routes: header and key values match by bytes, field values as text; the default or -1 otherwise', () => {
  const header = planRoutes({ ...orderPipeline('avro'), routes: routes('$header.type', 3) }, 'p', [])!;
  assert.deepEqual(header, { by: '$header.type', source: 'header', path: ['type'], values: ['7', 'a'], targets: [2, 1], fallback: 3 });
  const r = new RecordRouter(header);
  const buf = Buffer.from('xxa7aa');
  assert.equal(r.matchBytes(buf, 2, 1), 1);
  assert.equal(r.matchBytes(buf, 3, 1), 2);
  assert.equal(r.matchBytes(buf, 4, 2), 3, 'a longer value is another value');
  assert.equal(r.matchBytes(buf, 0, -1), 3, 'no header: the default');
  const field = new RecordRouter(planRoutes({ ...orderPipeline('json'), routes: routes('kind', null) }, 'p', [])!);
  assert.equal(field.matchValue('a'), 1);
  assert.equal(field.matchValue(7), 2);
  assert.equal(field.matchValue(null), -1);
  assert.equal(field.matchValue({ a: 1 }), -1);
  assert.match(field.noTable('zzz'), /routes\.by kind: the record has value "zzz", which routes\.tables does not name \("7", "a"\), and routes has no default/);
});

test('routes by a field: the path as the schema names it; a field the schema lacks, or a record, is a problem', () => {
  const problems: string[] = [];
  assert.deepEqual(planRoutes({ ...orderPipeline('avro'), routes: routes('user.id', null) }, 'pipelines[0]', problems)?.path, ['user', 'id']);
  planRoutes({ ...orderPipeline('avro'), routes: routes('nope', null) }, 'pipelines[0]', problems);
  planRoutes({ ...orderPipeline('avro'), routes: routes('user', null) }, 'pipelines[0]', problems);
  assert.equal(problems.length, 2);
  assert.match(problems[0], /pipelines\[0\]\.routes\.by: field "nope" is not in the schema/);
  assert.match(problems[1], /pipelines\[0\]\.routes\.by: field "user" is a record; a route value is a string, number or boolean/);
});
