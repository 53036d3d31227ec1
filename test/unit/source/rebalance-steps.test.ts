import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RebalanceSteps } from '../../../src/source/source';

test('a rebalance step that finishes later holds back the steps after it, in order', () => {
  const steps = new RebalanceSteps();
  const seen: string[] = [];
  let finishAssign: () => void = () => undefined;
  steps.run((done) => {
    seen.push('assign starts');
    finishAssign = () => {
      seen.push('assigned');
      done();
    };
  });
  steps.run((done) => {
    seen.push('revoke');
    done();
  });
  steps.run((done) => {
    seen.push('assign again');
    done();
  });
  assert.deepEqual(seen, ['assign starts']);
  finishAssign();
  assert.deepEqual(seen, ['assign starts', 'assigned', 'revoke', 'assign again']);
  steps.run((done) => {
    seen.push('now');
    done();
  });
  assert.equal(seen.at(-1), 'now', 'with nothing pending a step runs at once');
});
