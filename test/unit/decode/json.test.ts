import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonReader } from '../../../src/decode/json';

/** Puts the values one after another in a buffer (like frames in the ring) and decodes each. */
function decodeAll(values: string[]): unknown[] {
  const ring = Buffer.from(values.join(''));
  const reader = new JsonReader(ring);
  let at = 0;
  return values.map((v) => {
    const n = Buffer.byteLength(v);
    const out = reader.decode(at, at + n);
    at += n;
    return out;
  });
}

const SCHEMA = '{"type":"struct","fields":[{"field":"id","type":"int64"}],"optional":false}';

test('Connect envelopes: same schema text → only the payload is parsed, with the same result', () => {
  const values = [1, 2, 3].map((id) => `{"schema":${SCHEMA},"payload":{"id":${id},"s":"é\\"}"}}`);
  const out = decodeAll(values) as Array<{ payload: { id: number; s: string } }>;
  assert.deepEqual(out.map((o) => o.payload), [1, 2, 3].map((id) => ({ id, s: 'é"}' })));
  assert.equal(Object.keys(out[2]).join(), 'payload', 'later records come back as { payload }');
});

test('a different schema, plain JSON, or a schema whose text contains ,"payload": are parsed whole', () => {
  const tricky = '{"schema":{"type":"struct","parameters":{"k":"v","payload":"x"}},"payload":{"a":1}}';
  const out = decodeAll([
    `{"schema":${SCHEMA},"payload":{"id":1}}`,
    `{"schema":{"type":"int64"},"payload":7}`,
    '{"id":5,"payload":{"nested":true}}',
    tricky,
    tricky,
    `{"schema":${SCHEMA},"payload":null}`,
  ]) as Array<Record<string, unknown>>;
  assert.deepEqual(out[0].payload, { id: 1 });
  assert.equal(out[1].payload, 7);
  assert.deepEqual(out[2], { id: 5, payload: { nested: true } });
  assert.deepEqual(out[3].payload, { a: 1 });
  assert.deepEqual(out[4].payload, { a: 1 });
  assert.equal(out[5].payload, null);
});

test('a malformed payload after a known envelope still fails', () => {
  const good = `{"schema":${SCHEMA},"payload":{"id":1}}`;
  const bad = `{"schema":${SCHEMA},"payload":{"id":}}`;
  assert.throws(() => decodeAll([good, bad]), SyntaxError);
});
