import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderPipeline } from '../../../bench/lib/orders';
import { expandTableTemplates, resolveTableTemplate } from '../../../src/config/table-template';
import type { EngineConfig } from '../../../src/config/types';

test('a table template gives each topic a sanitized, quoted table, and refuses names that are not valid or are reserved', () => {
  assert.deepEqual(resolveTableTemplate('raw.${topic}', 'shop.orders-v2'), { table: 'raw.shop_orders_v2', tableSql: '"raw"."shop_orders_v2"' });
  assert.deepEqual(resolveTableTemplate('${topic}.events', 'Eu-West'), { table: 'Eu_West.events', tableSql: '"eu_west"."events"' });
  assert.match(resolveTableTemplate('raw.${topic}', 'x'.repeat(64)) as string, /gives "raw\.x{64}" for topic x{64}, which is not a table name/);
  assert.match(resolveTableTemplate('${topic}.t', 'pg_catalog') as string, /the schema "pg_catalog" for topic pg_catalog: names starting with pg_ are reserved/);
  assert.deepEqual(resolveTableTemplate('raw.${topic}', '2024-events'), { table: 'raw._2024_events', tableSql: '"raw"."_2024_events"' });
});

test('template pipelines expand per topic: literal topics, pattern topics of the cluster (a topic a literal pipeline names stays there), a watcher kept for the pattern', () => {
  const base = orderPipeline('json');
  const config = {
    pipelines: [
      { ...base, name: 'lit', topics: ['a.1', 'b-2'], table: 'raw.${topic}', tableSql: '', tableTemplate: 'raw.${topic}' },
      { ...base, name: 'pat', topics: null, topicPattern: 'e\\..*', table: 'ev.${topic}', tableSql: '', tableTemplate: 'ev.${topic}' },
      { ...base, name: 'plain', topics: ['e.taken'] },
    ],
  } as unknown as EngineConfig;
  const out = expandTableTemplates(config, ['e.x', 'e.taken', 'other', 'e.y']).pipelines;
  assert.deepEqual(out.map((p) => [p.name, p.topics, p.topicPattern, p.tableSql, p.watchOnly]), [
    ['lit:a.1', ['a.1'], null, '"raw"."a_1"', false],
    ['lit:b-2', ['b-2'], null, '"raw"."b_2"', false],
    ['pat:e.x', ['e.x'], null, '"ev"."e_x"', false],
    ['pat:e.y', ['e.y'], null, '"ev"."e_y"', false],
    ['pat', null, 'e\\..*', '', true],
    ['plain', ['e.taken'], null, '"orders"', false],
  ]);
});
