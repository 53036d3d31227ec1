import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGroupState } from '../../../src/source/source';

test("the group's state is read from librdkafka's statistics: the cgrp object, not a topic named cgrp", () => {
  const stats = `{ "name": "c#1", "topics": { "cgrp": { "topic": "cgrp", "partitions": { "0": { "partition": 0 } } } } , "cgrp": { "state": "query-coord", "stateage": 4012, "join_state": "wait-unassign-to-complete", "rebalance_age": 9, "rebalance_cnt": 2, "rebalance_reason": "group session timed out", "assignment_size": 0 }}`;
  assert.deepEqual(parseGroupState(stats), { state: 'query-coord', stateAgeMs: 4012, joinState: 'wait-unassign-to-complete', assignmentSize: 0 });
  assert.deepEqual(parseGroupState('{ "state": "up", "stateage": 1, "join_state": "steady", "assignment_size": 4 }'), { state: 'up', stateAgeMs: 1, joinState: 'steady', assignmentSize: 4 });
  assert.equal(parseGroupState('{ "name": "producer" }'), null);
  assert.equal(parseGroupState('not json'), null);
});
