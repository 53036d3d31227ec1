import { encodeOrder, encodeOrderProto, order, type Order } from './orders';

export type BenchFormat = 'avro' | 'protobuf' | 'json';

/** Record i of the reference Order in the given format (plain JSON keeps the nested user). */
export function encoderFor(format: BenchFormat): (i: number) => Buffer {
  if (format === 'avro') return encodeOrder;
  if (format === 'protobuf') return encodeOrderProto;
  return (i) => Buffer.from(JSON.stringify(order(i)));
}

/**
 * The same order as Kafka Connect's JsonConverter expects it with schemas.enable=true: a flat struct
 * (the Debezium JDBC sink does not flatten nested structs) in an envelope carrying its schema; the map
 * travels as a JSON string with Debezium's Json semantic type, so it lands in the jsonb column.
 */
export const CONNECT_SCHEMA = {
  type: 'struct', name: 'Order', optional: false,
  fields: [
    { field: 'id', type: 'int64', optional: false },
    { field: 'user_id', type: 'int64', optional: false },
    { field: 'country', type: 'string', optional: true },
    { field: 'sku', type: 'string', optional: false },
    { field: 'amount', type: 'double', optional: true },
    { field: 'created_at', type: 'int64', name: 'org.apache.kafka.connect.data.Timestamp', version: 1, optional: false },
    { field: 'tags', type: 'array', items: { type: 'string', optional: false }, optional: true },
    { field: 'attrs', type: 'string', name: 'io.debezium.data.Json', optional: true },
  ],
};

/** An order as the flat payload of CONNECT_SCHEMA. */
export function connectPayload(o: Order): Record<string, unknown> {
  return { id: o.id, user_id: o.user.id, country: o.user.country, sku: o.sku, amount: o.amount, created_at: o.created_at, tags: o.tags, attrs: JSON.stringify(o.attrs) };
}

export function encodeConnectJson(i: number): Buffer {
  return Buffer.from(JSON.stringify({ schema: CONNECT_SCHEMA, payload: connectPayload(order(i)) }));
}

/** Engine column mapping for a topic of each kind. */
export const ENGINE_COLUMNS: Record<BenchFormat | 'connect-json', Record<string, string>> = {
  avro: { user_id: 'user.id', country: 'user.country' },
  protobuf: { user_id: 'user.id', country: 'user.country' },
  json: { user_id: 'user.id', country: 'user.country' },
  'connect-json': Object.fromEntries(['id', 'user_id', 'country', 'sku', 'amount', 'created_at', 'tags', 'attrs'].map((c) => [c, `payload.${c}`])),
};
