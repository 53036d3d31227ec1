import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load';
import { parseBytes, parseMillis } from '../../../src/config/units';
import { EngineError } from '../../../src/errors';

const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-config-'));
writeFileSync(path.join(dir, 'order.avsc'), JSON.stringify({ type: 'record', name: 'O', fields: [{ name: 'id', type: 'long' }] }));

const GOOD = `
kafka:
  brokers: \${BROKERS:-127.0.0.1:9092}
  groupId: orders-sink
  config: { fetch.min.bytes: 1 }
postgres:
  url: postgres://root@127.0.0.1:5432/test
  connections: 2
engine:
  workers: 2
  ringBytes: 64MiB
  delivery: at-least-once
pipelines:
  - name: orders
    topics: [orders]
    format: avro
    schema: order.avsc
    table: public.orders
    columns:
      id: id
      user_id: user.id
    batch: { maxRows: 20000, maxBytes: 8MiB, maxWaitMs: 100 }
metrics:
  port: 9464
`;

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(yaml, dir, env);
  } catch (err) {
    assert.ok(err instanceof EngineError);
    assert.equal(err.code, 'ENG_CONFIG_INVALID');
    return err.message;
  }
  assert.fail('expected the config to be rejected');
}

test('the example config of docs/configuration.md parses, with defaults and env substitution', () => {
  const c = parseConfig(GOOD, dir, { BROKERS: 'kafka:9092' });
  assert.equal(c.kafka.brokers, 'kafka:9092');
  assert.equal(c.engine.ringBytes, 64 * 2 ** 20);
  assert.deepEqual(c.pipelines[0].batch, { maxRows: 20000, maxBytes: 8 * 2 ** 20, maxWaitMs: 100, whenIdle: true });
  assert.equal(c.pipelines[0].schemaPath, path.join(dir, 'order.avsc'));
  assert.equal(c.pipelines[0].schemaText, null, 'schema files are read by schema/load.ts, not here');
  assert.equal(c.engine.source, 'auto');
  assert.equal(c.engine.pollBatch, null, 'each source has its own default');
  assert.deepEqual(c.pipelines[0].columns, { id: 'id', user_id: 'user.id' });
  assert.equal(c.metrics.port, 9464);
  assert.equal(parseConfig(GOOD, dir, {}).kafka.brokers, '127.0.0.1:9092');
});

test('every problem is listed by its path', () => {
  const msg = problems(GOOD.replace('groupId: orders-sink', 'groupId: 7\n  bogus: 1').replace('workers: 2', 'workers: -1').replace('    table: public.orders\n', ''));
  assert.match(msg, /kafka\.bogus: unknown key/);
  assert.match(msg, /engine\.workers: must be an integer from 1 to 256 \(got -1\)/);
  assert.match(msg, /pipelines\[0\]\.table: required/);
});

test('malformed configs: wrong type, unknown format, env, duplicates, topics', () => {
  assert.match(problems(GOOD.replace('connections: 2', 'connections: [2]')), /postgres\.connections: must be an integer/);
  assert.match(problems(GOOD.replace('format: avro', 'format: csv')), /pipelines\[0\]\.format: must be one of avro, protobuf, json \(got "csv"\)/);
  assert.match(problems(GOOD.replace('groupId: orders-sink', 'groupId: ${NOPE}')), /kafka\.groupId: environment variable NOPE is not set/);
  assert.match(problems(GOOD.replace('groupId: orders-sink', 'groupId: ${NOPE')), /kafka\.groupId: malformed variable reference/);
  const twice = GOOD.replace('metrics:', `${GOOD.slice(GOOD.indexOf('  - name: orders'), GOOD.indexOf('metrics:'))}metrics:`);
  const dup = problems(twice);
  assert.match(dup, /pipelines\[1\]\.name: duplicate pipeline name "orders"/);
  assert.match(dup, /pipelines\[1\]\.topics: topic "orders" is already routed by pipelines\[0\]/);
  assert.match(problems(GOOD.replace('topics: [orders]', 'topics: [orders]\n    topicPattern: "^o.*"')), /give either topics or topicPattern/);
  assert.match(problems(GOOD.replace('topics: [orders]', 'topicPattern: "(["')), /topicPattern: not a valid regular expression/);
  assert.match(problems(GOOD.replace('ringBytes: 64MiB', 'ringBytes: lots')), /engine\.ringBytes: must be a size/);
  assert.match(problems(GOOD.replace('table: public.orders', 'table: "orders; drop table x"')), /pipelines\[0\]\.table: .* is not a table name/);
  assert.match(problems(`${GOOD}\n  - : [`), /YAML syntax/);
});

test('sizes and durations', () => {
  assert.equal(parseBytes('64MiB'), 64 * 2 ** 20);
  assert.equal(parseBytes('8MB'), 8_000_000);
  assert.equal(parseBytes('512k'), 512 * 1024);
  assert.equal(parseBytes(1000), 1000);
  assert.equal(parseBytes('1Xb'), null);
  assert.equal(parseMillis('2s'), 2000);
  assert.equal(parseMillis('100ms'), 100);
  assert.equal(parseMillis(50), 50);
  assert.equal(parseMillis('soon'), null);
});

test('protobuf needs messageType with a .proto file; registry needs an http URL; avro needs a schema or a registry', () => {
  writeFileSync(path.join(dir, 'o.proto'), 'syntax = "proto3"; package p; message O { int64 id = 1; }');
  const proto = GOOD.replace('format: avro', 'format: protobuf').replace('schema: order.avsc', 'schema: o.proto');
  assert.match(problems(proto), /pipelines\[0\]\.messageType: required with a \.proto schema/);
  assert.equal(parseConfig(proto.replace('table: public.orders', 'messageType: p.O\n    table: public.orders'), dir, {}).pipelines[0].messageType, 'p.O');
  assert.match(problems(GOOD.replace('    schema: order.avsc\n', '')), /pipelines\[0\]\.schema: required for format avro \(or give registry:/);
  const registry = GOOD.replace('    schema: order.avsc\n', '    registry: { url: "http://127.0.0.1:8081/" }\n');
  assert.deepEqual(parseConfig(registry, dir, {}).pipelines[0].registry, { url: 'http://127.0.0.1:8081', username: null, password: null, ca: null, cert: null, key: null });
  assert.match(problems(registry.replace('http://127.0.0.1:8081/', 'localhost:8081')), /registry\.url: must be an http:\/\/ or https:\/\/ URL/);
});

test('deadLetter makes dead-letter the default for bad records; dead-letter without a topic is refused; retry budget', () => {
  const withDlq = GOOD.replace('    batch: {', '    deadLetter: { topic: orders.dlq }\n    batch: {');
  const c = parseConfig(withDlq, dir, {});
  assert.equal(c.pipelines[0].onRecordError, 'dead-letter');
  assert.deepEqual(c.pipelines[0].deadLetter, { topic: 'orders.dlq', createTopic: true });
  assert.equal(parseConfig(GOOD, dir, {}).pipelines[0].onRecordError, 'fail');
  assert.deepEqual(parseConfig(GOOD, dir, {}).retry, { maxElapsedMs: 600_000, minDelayMs: 200, maxDelayMs: 10_000 });
  assert.deepEqual(parseConfig(`${GOOD}retry: { maxElapsed: 30s }\n`, dir, {}).retry.maxElapsedMs, 30_000);
  assert.match(problems(GOOD.replace('    batch: {', '    onRecordError: dead-letter\n    batch: {')), /pipelines\[0\]\.onRecordError: dead-letter needs deadLetter/);
  assert.match(problems(withDlq.replace('orders.dlq', '"bad topic!"')), /deadLetter\.topic: "bad topic!" is not a Kafka topic name/);
  assert.match(problems(`${GOOD}retry: { maxElapsed: soon }\n`), /retry\.maxElapsed/);
});

test('mode: insert by default; upsert and cdc need a key; merge options only with them; cdc reads JSON', () => {
  assert.equal(parseConfig(GOOD, dir, {}).pipelines[0].merge, null);
  const upsert = parseConfig(GOOD.replace('    batch: {', '    mode: upsert\n    key: [id]\n    deleteOnTombstone: true\n    onlyIfNewer: updated_at\n    batch: {'), dir, {});
  assert.deepEqual(upsert.pipelines[0].merge, { mode: 'upsert', key: ['id'], updateColumns: null, onlyIfNewer: 'updated_at', deleteOnTombstone: true, truncate: 'error' });
  assert.match(problems(GOOD.replace('    batch: {', '    mode: upsert\n    batch: {')), /pipelines\[0\]\.key: required with mode: upsert/);
  assert.match(problems(GOOD.replace('    batch: {', '    mode: merge\n    batch: {')), /pipelines\[0\]\.mode/);
  assert.match(problems(GOOD.replace('    batch: {', '    key: [id]\n    batch: {')), /pipelines\[0\]\.key: only with mode: upsert or mode: cdc/);
  assert.match(problems(GOOD.replace('    batch: {', '    mode: upsert\n    key: [id]\n    truncate: skip\n    batch: {')), /pipelines\[0\]\.truncate: only with mode: cdc/);
  assert.match(problems(GOOD.replace('format: avro', 'format: protobuf').replace('    batch: {', '    messageType: x.Y\n    mode: cdc\n    key: [id]\n    batch: {')), /format protobuf is not supported in cdc mode yet/);
  assert.match(problems(GOOD.replace('    batch: {', '    mode: upsert\n    key: [id]\n    updateColumns: []\n    batch: {')), /updateColumns: list at least one column/);
});

test('kafka.config may not override the settings the guarantees rest on: each refused key is named with why', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['enable.auto.commit', 'true', /only for rows that are durable/],
    ['enable.auto.commit', 'false', /may not be overridden/],
    ['auto.commit.interval.ms', '100', /commitIntervalMs/],
    ['enable.auto.offset.store', 'true', /stores offsets itself/],
    ['group.id', 'other', /kafka\.groupId/],
    ['bootstrap.servers', '127.0.0.1:9093', /kafka\.brokers/],
    ['metadata.broker.list', '127.0.0.1:9093', /kafka\.brokers/],
    ['isolation.level', 'read_uncommitted', /aborted or open transactions/],
    ['enable.partition.eof', 'true', /end-of-partition/],
    ['queued.max.messages.kbytes', '65536', /engine\.memory/],
    ['queued.min.messages', '100000', /engine\.memory/],
    ['fetch.max.bytes', '52428800', /engine\.memory/],
    ['rebalance_cb', 'x', /rebalances/],
    ['group.protocol', 'consumer', /kafka\.groupProtocol/],
    ['partition.assignment.strategy', 'range', /kafka\.assignmentStrategy/],
    ['group.instance.id', 'a', /kafka\.instanceId/],
    ['topic.metadata.refresh.interval.ms', '1000', /kafka\.metadataRefresh/],
  ];
  for (const [key, value, why] of refused) {
    const message = problems(GOOD.replace('config: { fetch.min.bytes: 1 }', `config: { ${key}: ${value} }`));
    assert.match(message, new RegExp(`kafka\\.config\\.${key.replace(/\./g, '\\.')}: the engine sets this itself`), key);
    assert.match(message, why, key);
  }
  // What changes nothing, or is the user's to tune, passes.
  for (const ok of ['isolation.level: read_committed', 'auto.offset.reset: latest', 'session.timeout.ms: 6000', 'client.id: mine']) {
    const c = parseConfig(GOOD.replace('config: { fetch.min.bytes: 1 }', `config: { ${ok} }`), dir, {});
    assert.equal(Object.keys(c.kafka.config).length, 1, ok);
  }
});

test('[Scale] group settings: defaults, the consumer protocol refuses the classic client settings naming the broker\'s, an empty instance id', () => {
  const c = parseConfig(GOOD, dir, {});
  assert.deepEqual(
    { p: c.kafka.groupProtocol, s: c.kafka.assignmentStrategy, i: c.kafka.instanceId, m: c.kafka.metadataRefreshMs },
    { p: 'classic', s: 'cooperative-sticky', i: null, m: 10_000 },
  );
  const consumer = parseConfig(GOOD.replace('  groupId: orders-sink', '  groupId: orders-sink\n  groupProtocol: consumer\n  instanceId: ${HOSTNAME}\n  metadataRefresh: 2s'), dir, { HOSTNAME: 'engine-7' });
  assert.deepEqual(
    { p: consumer.kafka.groupProtocol, s: consumer.kafka.assignmentStrategy, i: consumer.kafka.instanceId, m: consumer.kafka.metadataRefreshMs },
    { p: 'consumer', s: null, i: 'engine-7', m: 2_000 },
  );
  const refused = problems(
    GOOD.replace('  groupId: orders-sink', '  groupId: orders-sink\n  groupProtocol: consumer\n  assignmentStrategy: range').replace('config: { fetch.min.bytes: 1 }', 'config: { session.timeout.ms: 6000, heartbeat.interval.ms: 500 }'),
  );
  assert.match(refused, /kafka\.assignmentStrategy: the consumer group protocol .* has the broker assign/);
  assert.match(refused, /kafka\.config\.session\.timeout\.ms: .*group\.consumer\.session\.timeout\.ms/);
  assert.match(refused, /kafka\.config\.heartbeat\.interval\.ms: .*group\.consumer\.heartbeat\.interval\.ms/);
  assert.match(problems(GOOD.replace('  groupId: orders-sink', '  groupId: orders-sink\n  groupProtocol: eager')), /kafka\.groupProtocol: .*one of classic, consumer/);
  assert.match(problems(GOOD.replace('  groupId: orders-sink', '  groupId: orders-sink\n  assignmentStrategy: sticky')), /kafka\.assignmentStrategy: .*one of cooperative-sticky, range, roundrobin/);
  assert.match(problems(GOOD.replace('  groupId: orders-sink', '  groupId: orders-sink\n  instanceId: "${ID:-}"')), /kafka\.instanceId: must be a non-empty string/);
});

test('[Tables] table templates: ${topic} is kept (not an environment variable), checked with a sample topic; create: needs a schema', () => {
  const template = GOOD.replace('table: public.orders', "table: 'raw.${topic}'");
  const p = parseConfig(template, dir, {}).pipelines[0];
  assert.equal(p.tableTemplate, 'raw.${topic}');
  assert.equal(p.tableSql, '');
  assert.match(problems(GOOD.replace('table: public.orders', "table: 'a.b.${topic}'")), /pipelines\[0\]\.table: "a\.b\.\$\{topic\}" is not a table name \(table or schema\.table, with \$\{topic\}\)/);
  // Elsewhere ${topic} is a variable like any other.
  assert.match(problems(GOOD.replace('groupId: orders-sink', 'groupId: ${topic}')), /kafka\.groupId: environment variable topic is not set/);
  assert.deepEqual(parseConfig(GOOD.replace('    batch:', '    create: { partitionBy: { column: created_at } }\n    batch:'), dir, {}).pipelines[0].create, { partitionBy: { column: 'created_at', interval: 'month' } });
  assert.match(problems(GOOD.replace('format: avro', 'format: json').replace('    schema: order.avsc\n', '    create: true\n')), /pipelines\[0\]\.create: format json needs a JSON Schema file \(schema:\)/);
});

test('[Tables] evolve: a registry pipeline without schema:; with create: its table comes from the first writer schema', () => {
  const registry = GOOD.replace('    schema: order.avsc\n', '    registry: { url: http://127.0.0.1:8081 }\n    create: true\n    evolve: true\n');
  const p = parseConfig(registry, dir, {}).pipelines[0];
  assert.equal(p.evolve, true);
  assert.deepEqual(p.create, { partitionBy: null });
  assert.equal(parseConfig(GOOD, dir, {}).pipelines[0].evolve, false);
  assert.match(problems(GOOD.replace('    batch:', '    evolve: true\n    batch:')), /pipelines\[0\]\.evolve: needs registry:/);
  assert.match(problems(GOOD.replace('    schema: order.avsc\n', '    schema: order.avsc\n    registry: { url: http://r:8081 }\n    evolve: true\n')), /pipelines\[0\]\.evolve: with schema: the columns follow that reader schema/);
  assert.match(problems(registry.replace('format: avro', 'format: protobuf')), /pipelines\[0\]\.evolve: a Protobuf pipeline names the message its table follows \(messageType:/);
  assert.equal(parseConfig(registry.replace('format: avro', 'format: protobuf\n    messageType: shop.Order'), dir, {}).pipelines[0].evolve, true);
  // create: without a schema file and without evolve has nothing to make the columns from.
  assert.match(problems(registry.replace('    evolve: true\n', '')), /pipelines\[0\]\.create: needs the pipeline's schema file/);
});

test('[Tables] routes: the routed pipeline reads, one route pipeline per distinct table writes (after the configured ones); bad routes are named', () => {
  const routed = GOOD.replace('    table: public.orders\n', '    routes:\n      by: $header.type\n      tables: { a: t.a, b: t.b, c: t.a }\n      default: t.other\n');
  const c = parseConfig(routed, dir, {});
  assert.deepEqual(c.pipelines.map((p) => [p.name, p.table, p.routeOf, p.topics]), [
    ['orders', '', null, ['orders']], ['orders/t.a', 't.a', 0, null], ['orders/t.b', 't.b', 0, null], ['orders/t.other', 't.other', 0, null],
  ]);
  assert.deepEqual(c.pipelines[0].routes, { by: '$header.type', tables: { a: 't.a', b: 't.b', c: 't.a' }, default: 't.other', targets: { a: 1, b: 2, c: 1 }, fallback: 3 });
  assert.equal(c.pipelines[1].tableSql, '"t"."a"');
  assert.match(problems(GOOD.replace('    table: public.orders\n', '')), /pipelines\[0\]\.table: required \(or routes:\)/);
  assert.match(problems(routed.replace('    routes:', '    table: x\n    routes:')), /pipelines\[0\]\.table: give table or routes/);
  assert.match(problems(routed.replace('by: $header.type', 'by: $offset')), /pipelines\[0\]\.routes\.by: "\$offset" is not \$header\.NAME, \$key or a field path/);
  assert.match(problems(routed.replace('b: t.b', 'b: "a.b.c"')), /pipelines\[0\]\.routes\.tables\.b: "a\.b\.c" is not a table name/);
  assert.match(problems(routed.replace('tables: { a: t.a, b: t.b, c: t.a }', 'tables: {}')), /pipelines\[0\]\.routes\.tables: at least one value → table/);
});
