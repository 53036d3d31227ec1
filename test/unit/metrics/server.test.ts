import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { registerSecret } from '../../../src/log';
import { MetricsServer } from '../../../src/metrics/server';

test('/readyz bodies pass through the log redaction: a check quoting a secret or a URL password prints ***', async () => {
  registerSecret('Ready-Secret-9');
  const server = new MetricsServer(
    new Registry(),
    () => ({
      postgres: { ok: false, detail: 'PostgreSQL does not answer: connect postgres://app:hunter2@db:5432/x refused' },
      kafka: { ok: false, detail: 'SASL login with Ready-Secret-9 failed' },
      watchdog: { ok: true, detail: 'moving' },
    }),
    () => undefined,
  );
  const port = await server.serve('127.0.0.1', 0);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(res.status, 503);
    const text = await res.text();
    assert.doesNotMatch(text, /hunter2|Ready-Secret-9/);
    const body = JSON.parse(text) as { checks: Record<string, { detail: string }> };
    assert.equal(body.checks.postgres.detail, 'PostgreSQL does not answer: connect postgres://app:***@db:5432/x refused');
    assert.equal(body.checks.kafka.detail, 'SASL login with *** failed');
  } finally {
    await server.close();
  }
});
