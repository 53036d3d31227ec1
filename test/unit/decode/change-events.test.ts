import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeEvent, keyField, keyValue } from '../../../src/decode/change-events';

test('a Debezium event is found bare, in a Connect envelope, or as the { payload } the JSON reader returns', () => {
  const event = { before: null, after: { id: 1 }, op: 'c' };
  assert.equal(changeEvent(event), event);
  assert.equal(changeEvent({ schema: { type: 'struct' }, payload: event }), event);
  assert.equal(changeEvent({ payload: event }), event);
  assert.equal(changeEvent({ id: 1 }), null, 'a plain row is no change event');
  assert.equal(changeEvent({ payload: { id: 1 } }), null);
  assert.equal(changeEvent(null), null);
  assert.equal(changeEvent('c'), null);
});

test('a record key: JSON (object, Connect envelope, scalar) or else its text', () => {
  assert.deepEqual(keyValue('{"id":5}'), { id: 5 });
  assert.deepEqual(keyValue('{"schema":{"type":"struct"},"payload":{"id":5}}'), { id: 5 });
  assert.equal(keyValue('42'), 42);
  assert.equal(keyValue('"abc"'), 'abc');
  assert.equal(keyValue('order-17'), 'order-17');
});

test('a key column is read from the key at its path, by its name, or is the scalar key itself', () => {
  assert.equal(keyField({ id: 5 }, ['id'], 'id', 1), 5);
  assert.equal(keyField({ order: { id: 7 } }, ['order', 'id'], 'order_id', 1), 7);
  assert.equal(keyField({ order_id: 8 }, ['payload', 'order_id'], 'order_id', 1), 8, 'falls back to the column name');
  assert.equal(keyField(42, ['id'], 'id', 1), 42);
  assert.equal(keyField(42, ['a'], 'a', 2), undefined, 'a scalar key cannot fill a two-column key');
  assert.equal(keyField(null, ['id'], 'id', 1), undefined);
});
