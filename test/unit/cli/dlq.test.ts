import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { replayConfig } from '../../../src/cli/dlq';
import { parseConfig } from '../../../src/config/load';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dlq-test-'));
writeFileSync(path.join(dir, 'order.avsc'), '{"type":"record","name":"O","fields":[{"name":"id","type":"long"}]}');

const CONFIG = `
kafka: { brokers: 127.0.0.1:9092, groupId: g }
postgres: { url: postgres://root@127.0.0.1:5432/test }
pipelines:
  - { name: plain, topics: [p], format: avro, schema: order.avsc, table: t_plain, deadLetter: { topic: p.dlq } }
  - name: events
    topics: [e]
    format: json
    deadLetter: { topic: e.dlq }
    routes: { by: $header.type, tables: { a: t_a, b: t_b }, default: t_other }
`;

test('dlq replay: the pipeline alone on its dead-letter topic; a routed pipeline with its route pipelines, renumbered', () => {
  const config = parseConfig(CONFIG, dir, {});
  const plain = replayConfig(config, 'plain');
  assert.deepEqual(plain.pipelines.map((p) => [p.name, p.topics, p.onRecordError, p.deadLetter]), [['plain', ['p.dlq'], 'skip', null]]);
  assert.equal(plain.kafka.groupId, 'g.dlq-replay.plain');
  const routed = replayConfig(config, 'events');
  assert.deepEqual(routed.pipelines.map((p) => [p.name, p.topics, p.routeOf]), [['events', ['e.dlq'], null], ['events/t_a', null, 0], ['events/t_b', null, 0], ['events/t_other', null, 0]]);
  assert.deepEqual(routed.pipelines[0].routes?.targets, { a: 1, b: 2 });
  assert.equal(routed.pipelines[0].routes?.fallback, 3);
  assert.throws(() => replayConfig(config, 'events/t_a'), /pipeline events\/t_a writes a table of pipeline events's routes: replay that one/);
});
