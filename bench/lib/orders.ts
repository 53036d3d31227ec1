import path from 'node:path';
import { readFileSync } from 'node:fs';
import avro from 'avsc';

/** The reference record (schemas/order.avsc): ~140 bytes of Avro, 7 fields incl. a nested record, array and map. */
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
const BASE_TIME = Date.UTC(2026, 0, 1);

/** Deterministic order number i: tests can recompute any field from the id alone. */
export function order(i: number): Order {
  return {
    id: i,
    user: { id: i % 10007, country: COUNTRIES[i % COUNTRIES.length] },
    sku: `SKU-${(i * 7919) % 100000}`,
    amount: (i % 100000) / 100,
    created_at: BASE_TIME + i * 1000,
    tags: i % 3 === 0 ? [] : ['new', `batch-${i % 17}`],
    attrs: { channel: i % 2 === 0 ? 'web' : 'app', campaign: `c${i % 50}` },
  };
}

export function encodeOrder(i: number): Buffer {
  return orderType.toBuffer(order(i));
}

/** DDL for a table the reference record fits; the mapping is `user_id: user.id`, `country: user.country`. */
export function ordersTableSql(table: string): string {
  return `CREATE TABLE ${table} (
    id bigint NOT NULL, user_id bigint NOT NULL, country text, sku text NOT NULL,
    amount double precision, created_at timestamptz NOT NULL, tags text[], attrs jsonb)`;
}

export const ORDER_COLUMNS = { user_id: 'user.id', country: 'user.country' };
