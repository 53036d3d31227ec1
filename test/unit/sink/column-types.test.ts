import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avroColumns, avroPathColumn, jsonSchemaColumns, jsonSchemaPathColumn, protoColumns, protoPathColumn } from '../../../src/sink/column-types';

test('Avro fields map to the PostgreSQL types their values are written as (nullable unions → NULL)', () => {
  const schema = {
    type: 'record', name: 'R', namespace: 'x', fields: [
      { name: 'b', type: 'boolean' }, { name: 'i', type: 'int' }, { name: 'l', type: 'long' }, { name: 'f', type: 'float' }, { name: 'd', type: 'double' },
      { name: 's', type: 'string' }, { name: 'by', type: 'bytes' }, { name: 'ns', type: ['null', 'string'] },
      { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } }, { name: 'tu', type: { type: 'long', logicalType: 'timestamp-micros' } },
      { name: 'lt', type: { type: 'long', logicalType: 'local-timestamp-millis' } }, { name: 'dt', type: { type: 'int', logicalType: 'date' } },
      { name: 'tm', type: { type: 'int', logicalType: 'time-millis' } }, { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
      { name: 'u', type: { type: 'string', logicalType: 'uuid' } }, { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A'] } },
      { name: 'fx', type: { type: 'fixed', name: 'F', size: 4 } }, { name: 'rec', type: { type: 'record', name: 'In', fields: [{ name: 'a', type: 'int' }] } },
      { name: 'again', type: ['null', 'x.In'] }, { name: 'm', type: { type: 'map', values: 'long' } }, { name: 'arr', type: { type: 'array', items: 'string' } },
      { name: 'arrn', type: { type: 'array', items: ['null', 'long'] } }, { name: 'arre', type: { type: 'array', items: 'E' } },
      { name: 'arrr', type: { type: 'array', items: 'In' } }, { name: 'multi', type: ['null', 'string', 'long'] },
      { name: 'badlogical', type: { type: 'string', logicalType: 'timestamp-millis' } },
    ],
  };
  const text = JSON.stringify(schema);
  assert.deepEqual(avroColumns(text).map((c) => `${c.name} ${c.sql}${c.nullable ? ' null' : ''}`), [
    'b boolean', 'i integer', 'l bigint', 'f real', 'd double precision', 's text', 'by bytea', 'ns text null', 'ts timestamptz', 'tu timestamptz',
    'lt timestamp', 'dt date', 'tm time', 'dec numeric(10, 2)', 'u uuid', 'e text', 'fx bytea', 'rec jsonb', 'again jsonb null', 'm jsonb', 'arr text[]',
    'arrn bigint[]', 'arre text[]', 'arrr jsonb', 'multi jsonb null', 'badlogical text',
  ]);
  assert.deepEqual(avroPathColumn(text, ['rec', 'a']), { sql: 'integer', nullable: true });
  assert.deepEqual(avroPathColumn(text, ['again', 'a']), { sql: 'integer', nullable: true });
  assert.throws(() => avroPathColumn(text, ['rec', 'zz']), /"rec\.zz" is not a field of the schema/);
  assert.throws(() => avroColumns(JSON.stringify({ type: 'record', name: 'N', fields: [{ name: 'n', type: 'null' }] })), /field "n" is always null/);
});

test('Protobuf fields map to PostgreSQL types (presence → NULL, wrappers → their scalar, Timestamp → timestamptz)', () => {
  const proto = `syntax = "proto3"; package t;
    import "google/protobuf/timestamp.proto"; import "google/protobuf/wrappers.proto";
    enum E { Z = 0; }
    message In { int32 a = 1; }
    message M {
      double d = 1; float f = 2; int32 i = 3; uint32 u = 4; int64 l = 5; uint64 ul = 6; sint64 sl = 7; bool b = 8; string s = 9; bytes by = 10;
      E e = 11; In in = 12; google.protobuf.Timestamp ts = 13; google.protobuf.Int64Value w = 14; optional string os = 15;
      repeated string rs = 16; repeated int64 rl = 17; repeated In rin = 18; map<string, string> m = 19;
      oneof o { string oa = 20; int32 ob = 21; }
    }`;
  assert.deepEqual(protoColumns(proto, 't.M').map((c) => `${c.name} ${c.sql}${c.nullable ? ' null' : ''}`), [
    'd double precision', 'f real', 'i integer', 'u bigint', 'l bigint', 'ul numeric(20, 0)', 'sl bigint', 'b boolean', 's text', 'by bytea',
    'e text', 'in jsonb null', 'ts timestamptz null', 'w bigint null', 'os text null', 'rs text[]', 'rl bigint[]', 'rin jsonb', 'm jsonb', 'oa text null', 'ob integer null',
  ]);
  assert.deepEqual(protoPathColumn(proto, 't.M', ['in', 'a']), { sql: 'integer', nullable: true });
  assert.throws(() => protoPathColumn(proto, 't.M', ['rs', 'x']), /goes through rs, which is not a message/);
});

test('JSON Schema properties map to PostgreSQL types (formats, enums, nullable and not required → NULL, local $refs)', () => {
  const schema = JSON.stringify({
    type: 'object', required: ['i', 'ts', 'r'],
    properties: {
      i: { type: 'integer' }, n: { type: 'number' }, in: { type: ['integer', 'number'] }, b: { type: 'boolean' }, s: { type: 'string' },
      ts: { type: 'string', format: 'date-time' }, d: { type: 'string', format: 'date' }, t: { type: 'string', format: 'time' }, u: { type: 'string', format: 'uuid' },
      e: { enum: ['x', 'y'] }, o: { type: 'object', properties: { a: { type: 'integer' } } }, m: { type: 'object', additionalProperties: { type: 'string' } },
      a: { type: 'array', items: { type: 'integer' } }, ao: { type: 'array', items: { type: 'object' } }, r: { $ref: '#/definitions/R' },
      nul: { oneOf: [{ type: 'null' }, { type: 'string' }] }, any: {},
    },
    definitions: { R: { type: ['string', 'null'] } },
  });
  assert.deepEqual(jsonSchemaColumns(schema).map((c) => `${c.name} ${c.sql}${c.nullable ? ' null' : ''}`), [
    'i bigint', 'n double precision null', 'in double precision null', 'b boolean null', 's text null', 'ts timestamptz', 'd date null', 't time null', 'u uuid null',
    'e text null', 'o jsonb null', 'm jsonb null', 'a bigint[] null', 'ao jsonb null', 'r text null', 'nul text null', 'any jsonb null',
  ]);
  assert.deepEqual(jsonSchemaPathColumn(schema, ['o', 'a']), { sql: 'bigint', nullable: true });
  assert.throws(() => jsonSchemaPathColumn(schema, ['o', 'zz']), /"o\.zz" is not a property of the schema/);
  assert.throws(() => jsonSchemaColumns('{"type": "object", "properties": {"x": {"$ref": "other.json#/X"}}}'), /\$ref "other\.json#\/X" is not local/);
  assert.throws(() => jsonSchemaColumns('[1]'), /is not a JSON Schema/);
});
