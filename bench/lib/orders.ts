import path from 'node:path';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import protobuf from 'protobufjs';
import type { PipelineConfig } from '../../src/config/types';
import type { TableColumn } from '../../src/sink/table-columns';

/** The reference record (schemas/order.avsc): ~130 bytes of Avro, 7 fields incl. a nested record, array and map. */
export const ORDER_SCHEMA_PATH = path.resolve(__dirname, '../../../schemas/order.avsc');
export const orderType = avro.Type.forSchema(JSON.parse(readFileSync(ORDER_SCHEMA_PATH, 'utf8')) as avro.Schema);

export interface Order {
  id: number;
  user: { id: number; country: string | null };
  sku: string;
  amount: number;
  created_at: number;
  tags: string[];
  attrs: Record<string, string>;
}

const COUNTRIES = ['DE', 'FR', 'US', 'JP', 'BR', null];
export const BASE_TIME = Date.UTC(2026, 0, 1);

/** Deterministic order number i: tests can recompute any field from the id alone. */
export function order(i: number): Order {
  return {
    id: i,
    user: { id: i % 10007, country: COUNTRIES[i % COUNTRIES.length] },
    sku: `SKU-${(i * 7919) % 100000}-${String.fromCharCode(65 + (i % 26))}`,
    amount: (i % 100000) / 100,
    created_at: BASE_TIME + i * 1000,
    tags: i % 3 === 0 ? [] : ['new', `batch-${i % 17}`, 'gift-wrap'],
    attrs: { channel: i % 2 === 0 ? 'web' : 'app', campaign: `c${i % 50}`, referrer: `https://shop.example.com/p/${i % 1000}` },
  };
}

export function encodeOrder(i: number): Buffer {
  return orderType.toBuffer(order(i));
}

/** Order i as JSON text (created_at in epoch milliseconds, as the Avro record has it). */
export function encodeOrderJson(i: number): Buffer {
  return Buffer.from(JSON.stringify(order(i)));
}

/** DDL for a table the reference record fits; the mapping is `user_id: user.id`, `country: user.country`. */
export function ordersTableSql(table: string): string {
  return `CREATE TABLE ${table} (
    id bigint NOT NULL, user_id bigint NOT NULL, country text, sku text NOT NULL,
    amount double precision, created_at timestamptz NOT NULL, tags text[], attrs jsonb)`;
}

export const ORDER_COLUMNS = { user_id: 'user.id', country: 'user.country' };

export const ORDER_PROTO_PATH = path.resolve(__dirname, '../../../schemas/order.proto');
const protoRoot = protobuf.parse(readFileSync(ORDER_PROTO_PATH, 'utf8'), { keepCase: true }).root;
protoRoot.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
const OrderMessage = protoRoot.lookupType('shop.Order');

/** Order number i as Protobuf (schemas/order.proto, message shop.Order). */
export function encodeOrderProto(i: number): Buffer {
  const o = order(i);
  const created = { seconds: Math.floor(o.created_at / 1000), nanos: (o.created_at % 1000) * 1e6 };
  const user = o.user.country === null ? { id: o.user.id } : o.user;
  return Buffer.from(OrderMessage.encode(OrderMessage.fromObject({ ...o, user, created_at: created })).finish());
}

/** The columns of ordersTableSql as the catalog describes them, for decoding without a database. */
export const ORDER_TABLE_COLUMNS: TableColumn[] = [
  ['id', 'int8'], ['user_id', 'int8'], ['country', 'text'], ['sku', 'text'], ['amount', 'float8'], ['created_at', 'timestamptz'],
  ['tags', '_text', 'text', 25], ['attrs', 'jsonb'],
].map(([name, typname, elemTypname, elemOid]) => ({
  name: name as string, typname: typname as string, elemTypname: (elemTypname as string | undefined) ?? null, elemOid: (elemOid as number | undefined) ?? 0,
  notNull: false, hasDefault: false, generated: false,
}));

/** A pipeline of the reference record in the given format, its schema file read (no config file, no Kafka). */
export function orderPipeline(format: 'avro' | 'protobuf' | 'json'): PipelineConfig {
  const schemaPath = format === 'avro' ? ORDER_SCHEMA_PATH : format === 'protobuf' ? ORDER_PROTO_PATH : null;
  return {
    name: format, topics: ['orders'], topicPattern: null, format, schemaPath, schemaText: schemaPath ? readFileSync(schemaPath, 'utf8') : null,
    messageType: format === 'protobuf' ? 'shop.Order' : null, registry: null, table: 'orders', tableSql: '"orders"', columns: ORDER_COLUMNS,
    batch: { maxRows: 20000, maxBytes: 8 << 20, maxWaitMs: 100, whenIdle: true }, onRecordError: 'fail', deadLetter: null, merge: null, create: null, evolve: false, routes: null, routeOf: null, tableTemplate: null, watchOnly: false,
  };
}
