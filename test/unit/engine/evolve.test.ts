import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderPipeline } from '../../../bench/lib/orders';
import type { EngineConfig, PipelineConfig } from '../../../src/config/types';
import type { TableColumn } from '../../../src/copy/column-encoders';
import type { WorkerPipeline } from '../../../src/decode/column-plan';
import { SchemaEvolution, TablesChanged } from '../../../src/engine/evolve';

const column = (name: string, typname: string, notNull = true): TableColumn => ({ name, typname, elemTypname: null, elemOid: 0, notNull, hasDefault: false, generated: false });
const TABLE = [column('id', 'int8'), column('qty', 'int4')];
const worker = { columns: TABLE.map((c) => ({ name: c.name, type: { typname: c.typname, elemTypname: null, elemOid: 0 }, source: 'field', path: [c.name], hint: null, presence: false, required: true })) } as unknown as WorkerPipeline;
const avro = (fields: unknown) => JSON.stringify({ schema: JSON.stringify(fields) });
const record = (fields: unknown[]) => avro({ type: 'record', name: 'R', fields });

function evolution(over: Partial<PipelineConfig> = {}): SchemaEvolution {
  const p: PipelineConfig = { ...orderPipeline('avro'), schemaText: null, schemaPath: null, columns: {}, table: 'ev', tableSql: '"ev"', evolve: true, ...over };
  return new SchemaEvolution({ pipelines: [p] } as unknown as EngineConfig, [{ worker, table: TABLE }]);
}

test('SchemaEvolution.admit: a fitting schema is published as it is; one that needs DDL restarts; a refused one becomes an error entry', () => {
  const e = evolution();
  const v1 = record([{ name: 'id', type: 'long' }, { name: 'qty', type: 'int' }]);
  assert.equal(e.admit(0, 1, v1), v1);
  assert.throws(() => e.admit(0, 2, record([{ name: 'id', type: 'long' }, { name: 'qty', type: 'long' }])), (err: unknown) => err instanceof TablesChanged && err.schema?.id === 2 && /ALTER COLUMN "qty" TYPE bigint/.test(err.message));
  const refused = JSON.parse(e.admit(0, 3, record([{ name: 'id', type: 'string' }, { name: 'qty', type: 'int' }]))) as { error: string; code: string };
  assert.equal(refused.code, 'ENG_SCHEMA_EVOLUTION');
  assert.match(refused.error, /schema id 3 does not fit table ev without losing data \(evolve\): field "id" is text now/);
  assert.equal(evolution({ evolve: false }).admit(0, 4, record([{ name: 'other', type: 'string' }])), record([{ name: 'other', type: 'string' }]));
});

test('SchemaEvolution.admit: the key schemas an upsert pipeline fetches for its tombstones change nothing', () => {
  const e = evolution({ merge: { mode: 'upsert', key: ['id'], updateColumns: null, onlyIfNewer: null, deleteOnTombstone: true, truncate: 'error' } });
  const key = record([{ name: 'id', type: 'long' }]);
  assert.equal(e.admit(0, 5, key), key, 'not a value schema that removed qty');
  assert.equal(e.admit(0, 6, avro('long')), avro('long'), 'a primitive key schema');
});
