import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Watchdog, type WatchdogInputs } from '../../../src/engine/watchdog';
import type { GroupState } from '../../../src/source/source';

function inputs(): WatchdogInputs & { state: { group: GroupState | null; assigned: number; lag: number | null; progress: number; retrying: boolean } } {
  const state = { group: { state: 'up', stateAgeMs: 0, joinState: 'steady', assignmentSize: 4 } as GroupState | null, assigned: 4, lag: 0 as number | null, progress: 0, retrying: false };
  return {
    state,
    group: () => state.group,
    assignedPartitions: () => state.assigned,
    lag: () => state.lag,
    progress: () => state.progress,
    retryingPostgres: () => state.retrying,
  };
}

test('a member with no partitions and no coordinator: not ready after the first bound, an error after the second', () => {
  const i = inputs();
  const w = new Watchdog(i, { notReadyAfterMs: 10_000, exitAfterMs: 30_000 });
  assert.equal(w.check(0), null);
  i.state.assigned = 0;
  i.state.group = { state: 'query-coord', stateAgeMs: 0, joinState: 'init', assignmentSize: 0 };
  assert.equal(w.check(1_000), null);
  assert.equal(w.problem, null);
  assert.equal(w.check(11_000), null);
  assert.match(w.problem ?? '', /stalled for 10 s: the consumer group has no coordinator \(librdkafka state query-coord, join state init\)/);
  const err = w.check(31_000);
  assert.equal(err?.code, 'ENG_KAFKA_STALLED');
  assert.equal(err?.retriable, false);
  assert.match(err?.message ?? '', /stalled for 30 s \(engine\.watchdog\.exitAfter\)/);
});

test('no partitions with a coordinator (more members than partitions) is not a stall; the coordinator coming back clears it', () => {
  const i = inputs();
  const w = new Watchdog(i, { notReadyAfterMs: 1_000, exitAfterMs: 2_000 });
  i.state.assigned = 0;
  for (let t = 0; t <= 10_000; t += 1_000) assert.equal(w.check(t), null);
  i.state.group = { state: 'wait-coord', stateAgeMs: 0, joinState: 'init', assignmentSize: 0 };
  w.check(11_000);
  w.check(12_500);
  assert.notEqual(w.problem, null);
  i.state.group = { state: 'up', stateAgeMs: 0, joinState: 'wait-join', assignmentSize: 0 };
  assert.equal(w.check(13_000), null);
  assert.equal(w.problem, null);
  assert.equal(w.check(20_000), null, 'the count starts again');
});

test('a backlog with no progress stalls; progress, no lag, or a PostgreSQL retry (its own budget) does not', () => {
  const i = inputs();
  const w = new Watchdog(i, { notReadyAfterMs: 5_000, exitAfterMs: 0 });
  i.state.lag = 1000;
  w.check(0);
  i.state.progress = 10;
  w.check(4_000);
  assert.equal(w.check(8_000), null);
  assert.equal(w.problem, null, 'moved at 4 s');
  w.check(9_500);
  assert.match(w.problem ?? '', /1000 records wait in Kafka but none was polled or written/);
  i.state.retrying = true;
  w.check(10_000);
  assert.equal(w.problem, null);
  i.state.retrying = false;
  i.state.lag = 0;
  w.check(60_000);
  assert.equal(w.problem, null, 'nothing to do is not a stall');
  i.state.lag = 5;
  assert.equal(w.check(600_000), null, 'exitAfter 0: never exits');
  w.check(700_000);
  assert.notEqual(w.problem, null);
});
