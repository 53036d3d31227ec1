import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import YAML from 'yaml';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ConfigSchema, configJsonSchema } from '../../../src/config/schema';
import { placeOf, shapeProblems } from '../../../src/config/schema-errors';
import { parseConfig } from '../../../src/config/load';

const root = path.resolve(__dirname, '../../../..');
const published = path.join(root, 'schemas/config.schema.json');
const examples = [
  ...readdirSync(path.join(root, 'schemas')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(root, 'schemas', f)),
  path.join(root, 'docker/engine.yaml'),
];

test('schemas/config.schema.json is config/schema.ts written out (npm run config-schema)', () => {
  const onDisk = JSON.parse(readFileSync(published, 'utf8')) as unknown;
  assert.deepEqual(onDisk, JSON.parse(JSON.stringify(configJsonSchema())), 'the published schema is stale: run `npm run build && npm run config-schema`');
});

test('every example config names the published schema for editors, and a standard validator accepts it as written', () => {
  // ajv stands in for an editor: it reads the file as JSON Schema 2020-12, not as TypeBox.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync(published, 'utf8')) as object);
  assert.ok(examples.length >= 5);
  for (const file of examples) {
    const text = readFileSync(file, 'utf8');
    const m = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text);
    assert.ok(m, `${file}: no yaml-language-server line`);
    assert.equal(path.resolve(path.dirname(file), m[1]), published, file);
    // Before ${VAR} substitution, as an editor sees it.
    assert.ok(validate(YAML.parse(text)), `${file}: ${JSON.stringify(validate.errors)}`);
    // What the compose stack gives the engine's container (Docker sets HOSTNAME in every container).
    assert.doesNotThrow(() => parseConfig(text, path.dirname(file), { DATABASE_URL: 'postgres://root@127.0.0.1:5432/test', HOSTNAME: '816938934ce0' }), file);
  }
  const bad = YAML.parse(readFileSync(examples[0], 'utf8')) as { engine?: Record<string, unknown> };
  bad.engine = { ...bad.engine, workers: 0 };
  assert.equal(validate(bad), false, 'the range of engine.workers is in the published schema');
});

test('shape errors name the place as the YAML reads and say what it takes', () => {
  const check = TypeCompiler.Compile(ConfigSchema);
  const doc = {
    kafka: { brokers: 'b', groupId: 'g', config: { 'fetch.min.bytes': [1] } },
    postgres: { url: 'postgres://x', ssl: { mode: 'sometimes' } },
    engine: { watchdog: { exitAfter: 'soon' } },
    pipelines: [{ name: 'p', format: 'avro', table: 't', batch: { maxRows: '12x', extra: 1 } }, 'not a pipeline'],
  };
  const problems = shapeProblems(check, doc);
  assert.deepEqual(problems.sort(), [
    'engine.watchdog.exitAfter: must be a duration (like 100ms or 2s) (got "soon")',
    'kafka.config.fetch.min.bytes: must be a string, number or boolean (got [1])',
    'pipelines[0].batch.extra: unknown key (expected one of maxRows, maxBytes, maxWaitMs, whenIdle)',
    'pipelines[0].batch.maxRows: must be an integer from 1 to 10000000 (got "12x")',
    'pipelines[1]: must be a mapping (got "not a pipeline")',
    'postgres.ssl.mode: must be one of disable, allow, prefer, require, verify-ca, verify-full (got "sometimes")',
  ]);
  assert.deepEqual(shapeProblems(check, []), ['(root): must be a mapping (got [])']);
  assert.equal(placeOf('/kafka/config/a~1b~0c'), 'kafka.config.a/b~c');
});
