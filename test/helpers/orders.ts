import { ORDER_COLUMNS, ORDER_SCHEMA_PATH, ordersTableSql } from '../../bench/lib/orders';
import { BROKERS, DATABASE_URL, sql } from './env';

export async function createOrdersTable(table: string): Promise<void> {
  await sql(`DROP TABLE IF EXISTS ${table}`);
  await sql(ordersTableSql(table));
}

/** A config for one Avro orders pipeline; `extra` lines are appended under the pipeline. */
export function ordersConfig(o: { topic: string; table: string; group: string; extra?: string; engine?: string }): string {
  const columns = Object.entries(ORDER_COLUMNS).map(([c, f]) => `      ${c}: ${f}`).join('\n');
  return `kafka:
  brokers: ${BROKERS}
  groupId: ${o.group}
postgres:
  url: ${DATABASE_URL}
  connections: 2
engine:
  workers: 2
  ringBytes: 32MiB
${o.engine ?? ''}
pipelines:
  - name: orders
    topics: [${o.topic}]
    format: avro
    schema: ${ORDER_SCHEMA_PATH}
    table: ${o.table}
    columns:
${columns}
${o.extra ?? ''}
`;
}
