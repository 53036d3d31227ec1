import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ORDER_TABLE_COLUMNS, orderPipeline } from '../../../bench/lib/orders';
import { planColumns } from '../../../src/decode/column-plan';

test('a column mapped to record metadata the engine does not know is refused, naming the column and the names it knows', () => {
  for (const format of ['json', 'avro'] as const) {
    const p = orderPipeline(format);
    const problems: string[] = [];
    planColumns({ ...p, columns: { ...p.columns, country: '$topic' } }, 'pipelines[0]', ORDER_TABLE_COLUMNS, problems);
    assert.deepEqual(problems, ['pipelines[0].columns.country: "$topic" is not record metadata the engine knows ($partition, $offset, $timestamp, $key)'], format);
  }
  const problems: string[] = [];
  const p = orderPipeline('json');
  planColumns({ ...p, columns: { ...p.columns, id: '$offset' } }, 'pipelines[0]', ORDER_TABLE_COLUMNS, problems);
  assert.deepEqual(problems, []);
});
