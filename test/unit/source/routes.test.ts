import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTopicPattern } from '../../../src/config/topic-pattern';
import type { PipelineConfig } from '../../../src/config/types';
import { ErrorCodes, EngineError } from '../../../src/errors';
import { TopicRoutes } from '../../../src/source/routes';

function pipelines(...specs: Array<{ name: string; topics?: string[]; topicPattern?: string }>): PipelineConfig[] {
  return specs.map((s) => ({ name: s.name, topics: s.topics ?? null, topicPattern: s.topicPattern ?? null }) as unknown as PipelineConfig);
}

test('a topic pattern is one expression: what is subscribed is what the router matches, the whole name', () => {
  const routes = new TopicRoutes(pipelines({ name: 'orders', topicPattern: 'orders_.*' }, { name: 'audit', topics: ['audit'] }, { name: 'eu', topicPattern: '^eu\\.(a|b)$' }));
  assert.deepEqual(routes.subscriptions(), ['audit', '^(orders_.*)$', '^(eu\\.(a|b))$']);
  assert.equal(routes.route('orders_eu').pipeline, 0);
  assert.equal(routes.route('audit').pipeline, 1);
  assert.equal(routes.route('eu.b').pipeline, 2);
  // Matched as a whole name, like the subscription (librdkafka anchors it) and Kafka's Java client.
  for (const topic of ['old_orders_eu', 'eu.bb', 'xaudit']) {
    assert.throws(() => routes.route(topic), (err: unknown) => err instanceof EngineError && err.code === ErrorCodes.KAFKA_TOPIC_ROUTE, topic);
  }
  // Ids are stable per topic.
  assert.equal(routes.route('orders_eu').id, routes.get('orders_eu')?.id);
});

test('two patterns that both match a topic: refused, naming both pipelines', () => {
  const routes = new TopicRoutes(pipelines({ name: 'a', topicPattern: 'orders.*' }, { name: 'b', topicPattern: '.*_eu' }));
  assert.throws(() => routes.route('orders_eu'), /matches the patterns of pipelines a and b/);
  assert.equal(routes.route('orders_us').pipeline, 0);
});

test('compileTopicPattern: ^ and $ change nothing; what POSIX regexes cannot read is refused with what to write', () => {
  const same = ['orders.*', '^orders.*', 'orders.*$', '^orders.*$'].map((p) => compileTopicPattern(p));
  for (const p of same) assert.deepEqual(p, same[0]);
  assert.match(compileTopicPattern('(?:a|b)') as string, /not POSIX/);
  assert.match(compileTopicPattern('orders_\\d+') as string, /\[0-9\]/);
  assert.match(compileTopicPattern('a.*?') as string, /lazy/);
  assert.match(compileTopicPattern('([') as string, /not a valid regular expression/);
  assert.equal(compileTopicPattern('^$'), 'empty pattern');
  const dollar = compileTopicPattern('price\\$');
  assert.ok(typeof dollar !== 'string' && dollar.re.test('price$'), 'an escaped $ is part of the name');
});

test('[Scale] patternPipelineOf: the pattern pipeline of a topic (a new topic of it starts like a new partition), none for literal or unmatched topics', () => {
  const routes = new TopicRoutes(pipelines({ name: 'orders', topicPattern: 'orders_.*' }, { name: 'audit', topics: ['audit', 'orders_audit'] }));
  assert.equal(routes.patternPipelineOf('orders_eu'), 0);
  assert.equal(routes.patternPipelineOf('orders_us'), 0);
  assert.equal(routes.patternPipelineOf('orders_audit'), undefined, 'a literal topic wins over a pattern');
  assert.equal(routes.patternPipelineOf('audit'), undefined);
  assert.equal(routes.patternPipelineOf('other'), undefined);
  assert.equal(routes.get('orders_eu'), undefined, 'asking assigns no topic id');
});
