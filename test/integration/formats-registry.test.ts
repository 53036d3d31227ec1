import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import protobuf from 'protobufjs';
import { sql } from '../helpers/env';
import { runPipeline } from '../helpers/pipeline';
import { frame, TestRegistry } from '../helpers/registry';

const V1 = { type: 'record', name: 'User', fields: [{ name: 'id', type: 'long' }, { name: 'name', type: 'string' }] };
const V2 = {
  type: 'record',
  name: 'User',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'email', type: ['null', 'string'], default: null },
    { name: 'signup', type: { type: 'long', logicalType: 'timestamp-micros' }, default: 0 },
  ],
};

test('registry-framed Avro: two writer-schema versions interleaved on one topic both land; an unknown id fails only its record', async () => {
  const registry = new TestRegistry();
  await registry.start();
  try {
    const id1 = registry.register(JSON.stringify(V1));
    const id2 = registry.register(JSON.stringify(V2));
    const t1 = avro.Type.forSchema(V1 as avro.Schema);
    const t2 = avro.Type.forSchema(V2 as avro.Schema, { wrapUnions: 'never' });
    const values: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      values.push(i % 2 === 0 ? frame(id1, t1.toBuffer({ id: i, name: `v1-${i}` })) : frame(id2, t2.toBuffer({ id: i, name: `v2-${i}`, email: `u${i}@x.org`, signup: 1_700_000_000_000_001 })));
    }
    values.push(frame(999, Buffer.from([2, 2])));
    const { table, run } = await runPipeline({
      format: 'avro',
      registryUrl: registry.url,
      tableColumns: 'id bigint NOT NULL, name text, email text, signup timestamptz',
      extra: '    onRecordError: skip',
      values,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /@200: cannot decode avro value: schema id 999 is not in the registry/);
    const rows = await sql<{ n: string; v1: string; v2: string; emails: string; micros: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE name = 'v1-' || id AND email IS NULL AND signup IS NULL) AS v1,
              count(*) FILTER (WHERE name = 'v2-' || id AND email = 'u' || id || '@x.org') AS v2,
              count(DISTINCT id) AS emails, max(extract(epoch from signup) * 1000000)::bigint::text AS micros FROM ${table}`,
    );
    assert.deepEqual(rows[0], { n: '200', v1: '100', v2: '100', emails: '200', micros: '1700000000000001' });
    // Each id was fetched once, however many records named it.
    assert.deepEqual(registry.requests.sort(), [`GET /schemas/ids/${id1}`, `GET /schemas/ids/${id2}`, 'GET /schemas/ids/999'].sort());
  } finally {
    await registry.stop();
  }
});

test('registry-framed Avro resolved to the pipeline\'s own (reader) schema', async () => {
  const registry = new TestRegistry();
  await registry.start();
  try {
    const id1 = registry.register(JSON.stringify(V1));
    const t1 = avro.Type.forSchema(V1 as avro.Schema);
    const { table, run } = await runPipeline({
      format: 'avro',
      registryUrl: registry.url,
      schema: { text: JSON.stringify(V2), ext: 'avsc' },
      tableColumns: 'id bigint, name text, email text',
      values: [frame(id1, t1.toBuffer({ id: 1, name: 'old writer' }))],
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await sql(`SELECT id::text, name, email FROM ${table}`), [{ id: '1', name: 'old writer', email: null }]);
  } finally {
    await registry.stop();
  }
});

const PROTO = `
syntax = "proto3";
package reg;
message Other { string x = 1; }
message Event {
  message Detail { string label = 1; }
  int64 event_id = 1;
  string event_name = 2;
  Detail detail = 3;
}
`;

test('registry-framed Protobuf: message-index paths pick the message; names stay snake_case', async () => {
  const registry = new TestRegistry();
  await registry.start();
  try {
    const id = registry.register(PROTO, 'PROTOBUF');
    const root = protobuf.parse(PROTO, { keepCase: true }).root;
    const Event = root.lookupType('reg.Event');
    const Detail = root.lookupType('reg.Event.Detail');
    const values = [
      frame(id, Buffer.from(Event.encode(Event.fromObject({ event_id: '9007199254740993', event_name: 'created', detail: { label: 'L' } })).finish()), [1]),
      frame(id, Buffer.from(Detail.encode(Detail.fromObject({ label: 'only a detail' })).finish()), [1, 0]),
    ];
    const { table, run } = await runPipeline({
      format: 'protobuf',
      registryUrl: registry.url,
      tableColumns: 'event_id bigint, event_name text, label text, detail jsonb',
      extra: '    columns: { label: label }',
      values,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await sql(`SELECT event_id::text, event_name, label, detail FROM ${table} ORDER BY event_id NULLS LAST`), [
      { event_id: '9007199254740993', event_name: 'created', label: null, detail: { label: 'L' } },
      { event_id: null, event_name: null, label: 'only a detail', detail: null },
    ]);
  } finally {
    await registry.stop();
  }
});
