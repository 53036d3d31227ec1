import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load';
import { EngineError } from '../../../src/errors';
import { loadSchemas } from '../../../src/schema/load';

const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-schema-'));
writeFileSync(path.join(dir, 'order.avsc'), JSON.stringify({ type: 'record', name: 'O', fields: [{ name: 'id', type: 'long' }] }));
writeFileSync(path.join(dir, 'o.proto'), 'syntax = "proto3"; package p; message O { int64 id = 1; }');

function config(pipelines: string[]) {
  return parseConfig(
    `kafka: { brokers: "127.0.0.1:9092", groupId: g }
postgres: { url: "postgres://root@127.0.0.1:5432/test" }
pipelines:
${pipelines.map((p, i) => `  - { name: p${i}, topics: [t${i}], table: t${i}, ${p} }`).join('\n')}
`,
    dir,
    {},
  );
}

function problems(pipelines: string[]): string {
  try {
    loadSchemas(config(pipelines));
  } catch (err) {
    assert.ok(err instanceof EngineError);
    assert.equal(err.code, 'ENG_SCHEMA_LOAD');
    return err.message;
  }
  assert.fail('expected the schemas to be refused');
}

test('schema files are read into the config and parsed before anything connects', () => {
  const c = config(['format: avro, schema: order.avsc', 'format: protobuf, schema: o.proto, messageType: p.O', 'format: json']);
  loadSchemas(c);
  assert.match(c.pipelines[0].schemaText ?? '', /"record"/);
  assert.match(c.pipelines[1].schemaText ?? '', /message O/);
  assert.equal(c.pipelines[2].schemaText, null);
});

test('every unusable schema is listed by the config path that names it', () => {
  writeFileSync(path.join(dir, 'broken.avsc'), '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}');
  writeFileSync(path.join(dir, 'bad.proto'), 'syntax = "proto3"; message { }');
  const text = problems([
    'format: avro, schema: broken.avsc',
    'format: protobuf, schema: o.proto, messageType: p.Nope',
    'format: protobuf, schema: bad.proto, messageType: p.O',
    'format: avro, schema: missing.avsc',
  ]);
  assert.match(text, /pipelines\[0\]\.schema: .*broken\.avsc is not a valid Avro schema/);
  assert.match(text, /pipelines\[1\]\.schema: .*has no message type "p\.Nope" \(it has p\.O\)/);
  assert.match(text, /pipelines\[2\]\.schema: .*bad\.proto is not a valid \.proto file/);
  assert.match(text, /pipelines\[3\]\.schema: cannot read schema file .*missing\.avsc/);
});
