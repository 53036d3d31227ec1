import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load';
import { clusterView, positionsGroup, streamOf, streamTopic } from '../../../src/source/clusters';
import { TopicRoutes } from '../../../src/source/routes';

const yaml = (dr: string) => `
kafka:
  brokers: 127.0.0.1:9092
  groupId: orders-sink
  config: { fetch.min.bytes: 1 }
  dr: { brokers: 127.0.0.1:9192, config: { client.rack: b }${dr} }
postgres: { url: "postgres://u@127.0.0.1:5432/x" }
pipelines:
  - { name: orders, topics: [orders, refunds], format: json, table: orders }
  - { name: events, topicPattern: "ev_.*", format: json, table: events }
`;

test('[DR] on each cluster a pipeline reads both streams of its topics: the mirror by pattern, its own by name', () => {
  const config = parseConfig(yaml(''), '/tmp', {});
  assert.equal(config.kafka.cluster, 'primary');
  assert.deepEqual(config.kafka.dr && { ...config.kafka.dr, config: null, primaryConfig: null }, {
    brokers: '127.0.0.1:9192', primaryAlias: 'primary', drAlias: 'dr', replicationPolicy: 'default', config: null, autoFailoverAfterMs: 0, primaryBrokers: '127.0.0.1:9092', primaryConfig: null,
  });

  const dr = clusterView(config, 'dr');
  assert.equal(dr.kafka.brokers, '127.0.0.1:9192');
  assert.deepEqual(dr.kafka.config, { 'fetch.min.bytes': 1, 'client.rack': 'b' }, 'kafka.dr.config over kafka.config');
  const onDr = new TopicRoutes(dr.pipelines);
  for (const [topic, pipeline] of [['orders', 0], ['primary.orders', 0], ['primary.refunds', 0], ['ev_a', 1], ['primary.ev_a', 1]] as const) assert.equal(onDr.route(topic).pipeline, pipeline, topic);
  assert.throws(() => onDr.route('dr.orders'), /no pipeline routes it/, 'the DR cluster holds no mirror of its own topics');
  assert.throws(() => onDr.route('primaryXorders'), /no pipeline routes it/, 'the alias separator is a literal dot');

  assert.equal(clusterView(dr, 'primary').kafka.brokers, '127.0.0.1:9092', 'a view of a view: back to the primary');
  assert.deepEqual(clusterView(dr, 'primary').kafka.config, { 'fetch.min.bytes': 1 });
  const primary = clusterView(config, 'primary');
  assert.equal(primary.kafka.brokers, '127.0.0.1:9092');
  const onPrimary = new TopicRoutes(primary.pipelines);
  for (const topic of ['orders', 'dr.orders', 'dr.ev_x']) assert.ok(onPrimary.route(topic), topic);
  assert.throws(() => onPrimary.route('primary.orders'), /no pipeline routes it/);

  assert.equal(positionsGroup(config, 'primary'), 'orders-sink');
  assert.equal(positionsGroup(config, 'dr'), 'orders-sink@dr', 'positions on DR are kept apart from the primary\'s');
});

test('[DR] streams: a topic and its mirrors by origin and cluster, for both replication policies', () => {
  const config = parseConfig(yaml(''), '/tmp', {});
  const dr = config.kafka.dr!;
  assert.equal(streamTopic(dr, 'orders', 'primary', 'primary'), 'orders');
  assert.equal(streamTopic(dr, 'orders', 'primary', 'dr'), 'primary.orders');
  assert.equal(streamTopic(dr, 'orders', 'dr', 'primary'), 'dr.orders');
  assert.deepEqual(streamOf(dr, 'primary.orders', 'dr'), { topic: 'orders', origin: 'primary' });
  assert.deepEqual(streamOf(dr, 'orders', 'dr'), { topic: 'orders', origin: 'dr' });
  assert.deepEqual(streamOf(dr, 'dr.orders', 'primary'), { topic: 'orders', origin: 'dr' });

  const identity = parseConfig(yaml(', replicationPolicy: identity'), '/tmp', {});
  assert.equal(streamTopic(identity.kafka.dr!, 'orders', 'primary', 'dr'), 'orders');
  const view = clusterView(identity, 'dr');
  assert.equal(view.pipelines[0].topicPattern, null, 'identity: the same names on both clusters');
  assert.equal(view.kafka.brokers, '127.0.0.1:9192');
});

test('[DR] kafka.dr problems are named by their path', () => {
  const bad = (dr: string) => {
    try {
      parseConfig(dr.includes('config:') ? yaml('').replace('config: { client.rack: b }', dr.slice(2)) : yaml(dr), '/tmp', {});
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.match(bad(', primaryAlias: "pri mary"'), /kafka\.dr\.primaryAlias: "pri mary" is not an MM2 cluster alias/);
  assert.match(bad(', drAlias: primary'), /kafka\.dr: primaryAlias and drAlias are both "primary"/);
  assert.match(bad(', replicationPolicy: prefix'), /kafka\.dr\.replicationPolicy: must be one of default, identity/);
  assert.match(bad(', config: { enable.auto.commit: true }'), /kafka\.dr\.config\.enable\.auto\.commit: the engine sets this itself/);
  assert.match(bad(', autoFailoverAfter: soon'), /kafka\.dr\.autoFailoverAfter/);
});
