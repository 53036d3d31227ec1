import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError, ErrorCodes } from '../../src/errors';
import { Backoff, retry } from '../../src/retry';

test('backoff: doubles from min to max, each wait jittered within ±25 %, never past the budget', () => {
  let now = 0;
  let r = 0;
  const randoms = [0, 0.999, 0.5];
  const b = new Backoff({ minDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 10_000 }, () => now, () => randoms[r++ % randoms.length]);
  const waits: number[] = [];
  for (let w = b.next(); w !== null; w = b.next()) {
    waits.push(w);
    now += w;
  }
  // Base 100, 200, 400, 800, 1000, 1000, …: the jitter spans 0.75 … 1.25 of it.
  const bases = [100, 200, 400, 800, 1_000];
  waits.slice(0, 5).forEach((w, i) => assert.ok(w >= bases[i] * 0.75 && w <= bases[i] * 1.25, `wait ${i}: ${w} for ${bases[i]}`));
  assert.equal(waits[0], 75, 'random 0: -25 %');
  assert.equal(waits[1], 250, 'random ~1: +25 %');
  for (const w of waits.slice(5)) assert.ok(w >= 750 && w <= 1_250);
  assert.ok(now <= 10_000, `the waits stay in the budget (${now} ms)`);
  assert.ok(now > 10_000 - 1_250, 'and use it');
  assert.equal(b.attempts, waits.length);
});

test('jitter spreads clients that failed together', () => {
  const firsts = new Set(Array.from({ length: 50 }, () => new Backoff({ minDelayMs: 1_000, maxDelayMs: 10_000, maxElapsedMs: 60_000 }).next()));
  assert.ok(firsts.size > 20, `${firsts.size} distinct first waits of 50`);
});

test('retry: succeeds after retriable failures; a failure that is not retriable is thrown at once; the budget ends it', async () => {
  const policy = { minDelayMs: 1, maxDelayMs: 2, maxElapsedMs: 200 };
  let calls = 0;
  const retried: number[] = [];
  const value = await retry(
    (attempt) => {
      calls++;
      if (attempt < 3) throw new EngineError(ErrorCodes.REGISTRY, 'down', { retriable: true });
      return 'ok';
    },
    policy,
    { retriable: (e) => e instanceof EngineError && e.retriable, onRetry: (_e, _w, attempt) => retried.push(attempt) },
  );
  assert.equal(value, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(retried, [1, 2]);

  calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      throw new EngineError(ErrorCodes.REGISTRY, 'schema 7 not found', { retriable: false });
    }, policy, { retriable: (e) => e instanceof EngineError && e.retriable }),
    /schema 7 not found/,
  );
  assert.equal(calls, 1);

  const started = Date.now();
  await assert.rejects(
    retry(() => {
      throw new Error('still down');
    }, policy, { retriable: () => true, exhausted: (e, p) => new Error(`gave up after ${p.maxElapsedMs} ms: ${(e as Error).message}`) }),
    /gave up after 200 ms: still down/,
  );
  assert.ok(Date.now() - started <= 400, 'within the budget');

  let stop = false;
  calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      stop = true;
      throw new Error('down at shutdown');
    }, policy, { retriable: () => true, stopped: () => stop }),
    /down at shutdown/,
  );
  assert.equal(calls, 1, 'a stop ends the retries');
});
