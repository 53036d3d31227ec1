import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderPipeline } from '../../../bench/lib/orders';
import type { PipelineConfig } from '../../../src/config/types';
import type { TableColumn } from '../../../src/copy/column-encoders';
import { evolution, writerColumns } from '../../../src/sink/evolve-table';

const pipeline = (over: Partial<PipelineConfig> = {}): PipelineConfig => ({
  ...orderPipeline('avro'), schemaPath: null, schemaText: null, columns: {}, table: 'shop.events', tableSql: '"shop"."events"', evolve: true, ...over,
});
const column = (name: string, typname: string, o: Partial<TableColumn> = {}): TableColumn => ({
  name, typname, elemTypname: null, elemOid: 0, notNull: false, hasDefault: false, generated: false, ...o,
});
const avro = (fields: unknown[]) => JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'E', fields }) });

const V1 = [{ name: 'id', type: 'long' }, { name: 'qty', type: 'int' }, { name: 'price', type: 'float' }];
const TABLE = [column('id', 'int8', { notNull: true }), column('qty', 'int4', { notNull: true }), column('price', 'float4', { notNull: true })];

test('evolve: the first version fits its table; new optional fields and fields with defaults are added as nullable columns', () => {
  assert.deepEqual(evolution(pipeline(), TABLE, writerColumns(pipeline(), avro(V1))), { statements: [], refused: [] });
  const v2 = avro([...V1, { name: 'note', type: ['null', 'string'], default: null }, { name: 'channel', type: 'string', default: "web's" }, { name: 'n', type: 'long', default: 7 }, { name: 'meta', type: { type: 'map', values: 'string' }, default: { a: 'b' } }]);
  assert.deepEqual(evolution(pipeline(), TABLE, writerColumns(pipeline(), v2)), {
    statements: [
      'ALTER TABLE "shop"."events" ADD COLUMN "note" text',
      `ALTER TABLE "shop"."events" ADD COLUMN "channel" text DEFAULT 'web''s'`,
      'ALTER TABLE "shop"."events" ALTER COLUMN "channel" DROP DEFAULT',
      'ALTER TABLE "shop"."events" ADD COLUMN "n" bigint DEFAULT 7',
      'ALTER TABLE "shop"."events" ALTER COLUMN "n" DROP DEFAULT',
      `ALTER TABLE "shop"."events" ADD COLUMN "meta" jsonb DEFAULT '{"a":"b"}'::jsonb`,
      'ALTER TABLE "shop"."events" ALTER COLUMN "meta" DROP DEFAULT',
    ],
    refused: [],
  });
});

test('evolve: widened types are altered, narrower ones are written as they are, the others refused with the DDL they would need', () => {
  const widened = avro([{ name: 'id', type: 'long' }, { name: 'qty', type: 'long' }, { name: 'price', type: 'double' }]);
  assert.deepEqual(evolution(pipeline(), TABLE, writerColumns(pipeline(), widened)).statements, [
    'ALTER TABLE "shop"."events" ALTER COLUMN "qty" TYPE bigint',
    'ALTER TABLE "shop"."events" ALTER COLUMN "price" TYPE double precision',
  ]);
  const narrower = avro([{ name: 'id', type: 'int' }, { name: 'qty', type: 'int' }, { name: 'price', type: 'float' }]);
  assert.deepEqual(evolution(pipeline(), TABLE, writerColumns(pipeline(), narrower)), { statements: [], refused: [] });
  const unrelated = avro([{ name: 'id', type: 'string' }, { name: 'qty', type: 'int' }, { name: 'price', type: 'float' }, { name: 'must', type: 'long' }]);
  const r = evolution(pipeline(), TABLE, writerColumns(pipeline(), unrelated));
  assert.deepEqual(r.statements, []);
  assert.deepEqual(r.refused, [
    'field "id" is text now and column "id" of shop.events is int8, which cannot take it without losing data; it would need: ALTER TABLE "shop"."events" ALTER COLUMN "id" TYPE text USING "id"::text',
    'field "must" is new and required without a default, so the rows already in shop.events have no value for it; it would need: ALTER TABLE "shop"."events" ADD COLUMN "must" bigint NOT NULL DEFAULT <a value for those rows>',
  ]);
});

test('evolve: a removed field leaves its column, made nullable; keys, metadata and defaulted columns are left alone', () => {
  const table = [...TABLE, column('off', 'int8', { notNull: true }), column('at', 'timestamptz', { notNull: true, hasDefault: true })];
  const p = pipeline({ columns: { off: '$offset' }, merge: { mode: 'upsert', key: ['id'], updateColumns: null, onlyIfNewer: null, deleteOnTombstone: false, truncate: 'error' } });
  const v = avro([{ name: 'price', type: 'float' }]);
  assert.deepEqual(evolution(p, table, writerColumns(p, v)).statements, ['ALTER TABLE "shop"."events" ALTER COLUMN "qty" DROP NOT NULL']);
});

test('evolve: a field that columns: maps to another column is not added again; JSON Schema and Protobuf writers evolve too; a schema of another format refuses', () => {
  const p = pipeline({ columns: { amount: 'price' } });
  const table = [column('id', 'int8'), column('qty', 'int4'), column('amount', 'float4')];
  assert.deepEqual(evolution(p, table, writerColumns(p, avro(V1))), { statements: [], refused: [] });
  const json = pipeline({ format: 'json' });
  const schema = JSON.stringify({ schema: JSON.stringify({ type: 'object', properties: { id: { type: 'integer' }, tag: { type: 'string', default: 'x' } }, required: ['id'] }), schemaType: 'JSON' });
  assert.deepEqual(evolution(json, [column('id', 'int8')], writerColumns(json, schema)).statements, [
    `ALTER TABLE "shop"."events" ADD COLUMN "tag" text DEFAULT 'x'`,
    'ALTER TABLE "shop"."events" ALTER COLUMN "tag" DROP DEFAULT',
  ]);
  assert.throws(() => writerColumns(pipeline(), JSON.stringify({ schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' })), /a PROTOBUF schema does not evolve the table of a avro pipeline/);
  // Protobuf: every field of a later writer is optional (older writers' records lack it); int32 → int64 widens.
  const proto = pipeline({ format: 'protobuf', messageType: 'kpe.E' });
  const v2 = JSON.stringify({ schema: 'syntax = "proto3"; package kpe; message E { int64 id = 1; int64 qty = 2; string note = 3; }', schemaType: 'PROTOBUF' });
  assert.deepEqual(evolution(proto, [column('id', 'int8', { notNull: true }), column('qty', 'int4', { notNull: true })], writerColumns(proto, v2)).statements, [
    'ALTER TABLE "shop"."events" ALTER COLUMN "qty" TYPE bigint',
    'ALTER TABLE "shop"."events" ADD COLUMN "note" text',
  ]);
});
