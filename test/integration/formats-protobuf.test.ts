import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { sql } from '../helpers/env';
import { runPipeline } from '../helpers/pipeline';
import { readFileSync } from 'node:fs';
import { ORDER_PROTO_PATH } from '../../bench/lib/orders';

export const ORDER_PROTO = `
syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

message Order {
  enum Status { UNKNOWN = 0; NEW = 1; SHIPPED = 2; }
  message Address { string city = 1; string zip_code = 2; }
  int64 order_id = 1;
  uint64 big_unsigned = 2;
  int32 small_int = 3;
  double amount = 4;
  float ratio = 5;
  bool paid = 6;
  string customer_name = 7;
  bytes payload = 8;
  Status status = 9;
  Address ship_to = 10;
  repeated string tags = 11;
  repeated int64 counts = 12;
  map<string, string> attrs = 13;
  oneof contact { string email = 14; string phone = 15; }
  google.protobuf.Timestamp created_at = 16;
  google.protobuf.StringValue note = 17;
  google.protobuf.Int64Value maybe_count = 18;
  optional string opt_text = 19;
}
`;

const TABLE = `order_id bigint, big_unsigned numeric, small_int int, amount double precision, ratio real, paid boolean,
  customer_name text, payload bytea, status text, status_number int, ship_to jsonb, city text, tags text[], counts bigint[],
  attrs jsonb, email text, phone text, created_at timestamptz, note text, maybe_count bigint, opt_text text`;

test('Protobuf: snake_case names, int64/uint64 without precision loss, enums, nested, repeated, maps, oneof, Timestamp and wrappers', async () => {
  const root = protobuf.parse(ORDER_PROTO, { keepCase: true }).root;
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
  root.addJSON(protobuf.common.get('google/protobuf/wrappers.proto')!.nested!);
  const Order = root.lookupType('shop.Order');
  const encode = (o: Record<string, unknown>) => Buffer.from(Order.encode(Order.fromObject(o)).finish());
  const values = [
    encode({
      order_id: '9007199254740993', big_unsigned: '18446744073709551615', small_int: -5, amount: 12.25, ratio: 0.5, paid: true,
      customer_name: 'Zoë 𝄞', payload: Buffer.from([1, 2, 3]), status: 'SHIPPED', ship_to: { city: 'Köln', zip_code: '50667' },
      tags: ['a', 'b'], counts: ['-9223372036854775808', '1'], attrs: { k: 'v' }, email: 'z@example.com',
      created_at: { seconds: 1795350645, nanos: 123456000 }, note: { value: 'hello' }, maybe_count: { value: '-7' }, opt_text: 'x',
    }),
    encode({ order_id: 2 }),
  ];
  const { table, run } = await runPipeline({
    format: 'protobuf',
    schema: { text: ORDER_PROTO, ext: 'proto' },
    messageType: 'shop.Order',
    tableColumns: TABLE,
    extra: '    columns: { city: ship_to.city, status_number: status }',
    values,
  });
  assert.equal(run.code, 0, run.stderr);
  // [Transcode] Every row came from the Protobuf transcoder's closures: ship_to (a message into jsonb)
  // and counts (a repeated int64) are shapes the generated row function does not cover (proto-fast-row.ts),
  // and the closures write those two columns from the message object.
  assert.match(run.stderr, /rows encoded: 0 by generated row functions, 2 by the transcoders' closures, 0 by the object path/);
  const rows = await sql(
    `SELECT order_id::text, big_unsigned::text, small_int, amount, ratio, paid, customer_name, encode(payload, 'hex') AS payload,
            status, status_number, ship_to, city, tags, counts::text, attrs, email, phone,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS created_at, note, maybe_count::text, opt_text
       FROM ${table} ORDER BY order_id`,
  );
  assert.deepEqual(rows[1], {
    order_id: '9007199254740993', big_unsigned: '18446744073709551615', small_int: -5, amount: 12.25, ratio: 0.5, paid: true,
    customer_name: 'Zoë 𝄞', payload: '010203', status: 'SHIPPED', status_number: 2, ship_to: { city: 'Köln', zip_code: '50667' },
    city: 'Köln', tags: ['a', 'b'], counts: '{-9223372036854775808,1}', attrs: { k: 'v' }, email: 'z@example.com', phone: null,
    created_at: '2026-11-22 12:30:45.123456', note: 'hello', maybe_count: '-7', opt_text: 'x',
  });
  // Proto3 defaults for unset scalars; absent messages, wrappers, oneof members and optional fields are NULL.
  assert.deepEqual(rows[0], {
    order_id: '2', big_unsigned: '0', small_int: 0, amount: 0, ratio: 0, paid: false, customer_name: '', payload: '',
    status: 'UNKNOWN', status_number: 0, ship_to: null, city: null, tags: [], counts: '{}', attrs: {}, email: null, phone: null,
    created_at: null, note: null, maybe_count: null, opt_text: null,
  });
});

test('[Transcode] Protobuf reference orders go through the generated row function; one it leaves (a repeated map key) through the closures, same rows', async () => {
  const text = readFileSync(ORDER_PROTO_PATH, 'utf8');
  const root = protobuf.parse(text, { keepCase: true }).root;
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
  const Order = root.lookupType('shop.Order');
  const encode = (o: Record<string, unknown>) => Buffer.from(Order.encode(Order.fromObject(o)).finish());
  const values = [
    encode({ id: 1, user: { id: 7, country: 'DE' }, sku: 'SKU-1', amount: 9.5, created_at: { seconds: 1795350645, nanos: 5_000_000 }, tags: ['a', 'b'], attrs: { k: 'v', 'x y': 'é' } }),
    encode({ id: 2, user: { id: 8 }, sku: 'SKU-2', amount: 0, created_at: { seconds: 1795350646 } }),
    encode({ id: -3, user: { id: 9, country: 'FR' }, sku: 'SKU-3', amount: -1.25, created_at: { seconds: 1795350647 }, tags: ['c'] }),
    // Two messages back to back are one, merged: attrs gets key k twice (the last value wins), which the
    // generated function leaves to the closures (the map's JSON is then written from the message object).
    Buffer.concat([encode({ id: 4, user: { id: 10 }, sku: 'SKU-4', created_at: { seconds: 1795350648 }, attrs: { k: 'first' } }), encode({ attrs: { k: 'last' } })]),
  ];
  const { table, run } = await runPipeline({
    format: 'protobuf',
    schema: { text, ext: 'proto' },
    messageType: 'shop.Order',
    tableColumns: 'id bigint, user_id bigint, country text, sku text, amount double precision, created_at timestamptz, tags text[], attrs jsonb',
    extra: '    columns: { user_id: user.id, country: user.country }',
    values,
  });
  assert.equal(run.code, 0, run.stderr);
  // The negative id (a 10-byte varint) is the generated function's too.
  assert.match(run.stderr, /rows encoded: 3 by generated row functions, 1 by the transcoders' closures, 0 by the object path/);
  const rows = await sql(
    `SELECT id::text, user_id::text, country, sku, amount, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS created_at, tags, attrs
       FROM ${table} ORDER BY id`,
  );
  assert.deepEqual(rows, [
    { id: '-3', user_id: '9', country: 'FR', sku: 'SKU-3', amount: -1.25, created_at: '2026-11-22 12:30:47.000000', tags: ['c'], attrs: {} },
    { id: '1', user_id: '7', country: 'DE', sku: 'SKU-1', amount: 9.5, created_at: '2026-11-22 12:30:45.005000', tags: ['a', 'b'], attrs: { k: 'v', 'x y': 'é' } },
    { id: '2', user_id: '8', country: null, sku: 'SKU-2', amount: 0, created_at: '2026-11-22 12:30:46.000000', tags: [], attrs: {} },
    { id: '4', user_id: '10', country: null, sku: 'SKU-4', amount: 0, created_at: '2026-11-22 12:30:48.000000', tags: [], attrs: { k: 'last' } },
  ]);
});
