import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ORDER_TABLE_COLUMNS, orderPipeline } from '../../../bench/lib/orders';
import { planColumns } from '../../../src/decode/column-plan';

test('a column mapped to record metadata the engine does not know is refused, naming the column and the names it knows', () => {
  for (const format of ['json', 'avro'] as const) {
    const p = orderPipeline(format);
    const problems: string[] = [];
    planColumns({ ...p, columns: { ...p.columns, country: '$topik', sku: '$header.' } }, 'pipelines[0]', ORDER_TABLE_COLUMNS, problems);
    const known = '($partition, $offset, $timestamp, $key, $topic, $header.NAME)';
    assert.deepEqual(problems, [
      `pipelines[0].columns.country: "$topik" is not record metadata the engine knows ${known}`,
      `pipelines[0].columns.sku: "$header." is not record metadata the engine knows ${known}`,
    ], format);
  }
  const problems: string[] = [];
  const p = orderPipeline('json');
  const plan = planColumns({ ...p, columns: { ...p.columns, id: '$offset', country: '$topic', sku: '$header.trace.id' } }, 'pipelines[0]', ORDER_TABLE_COLUMNS, problems);
  assert.deepEqual(problems, []);
  assert.deepEqual(plan.columns.filter((c) => c.source !== 'field').map((c) => [c.name, c.source, c.path]), [['id', 'offset', []], ['country', 'topic', []], ['sku', 'header', ['trace.id']]]);
});
