import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder } from '../../bench/lib/orders';
import { freePort } from '../../bench/lib/scenario';
import { DATABASE_URL, runCli, sql, unique, whenRows, writeConfig } from '../helpers/env';
import { createOrdersTable, ordersConfig } from '../helpers/orders';

const PG_SECRET = 'pgS3cret-7d1e';
const KAFKA_SECRET = 'kafkaS3cret-91ab';

/** The test database's URL with a password (trust auth ignores it). */
const urlWithPassword = (url: string) => url.replace('postgres://root@', `postgres://root:${PG_SECRET}@`);


function assertNoSecret(where: string, text: string): void {
  assert.ok(!text.includes(PG_SECRET), `${where} shows the PostgreSQL password:\n${text}`);
  assert.ok(!text.includes(KAFKA_SECRET), `${where} shows the Kafka password:\n${text}`);
}

test('JSON log lines off a terminal; no password from the config in logs, errors, metrics or validate output', { timeout: 180_000 }, async () => {
  const topic = unique('logs');
  const table = unique('logs');
  await createTopic(topic, 2);
  await produce(topic, 2000, encodeOrder, { partitions: 2 });
  await createOrdersTable(table);
  const port = await freePort();
  const yaml = ordersConfig({ topic, table, group: unique('logs') })
    .replace(DATABASE_URL, urlWithPassword(DATABASE_URL))
    .replace(/groupId: .*\n/, (g) => `${g}  config: { sasl.password: "${KAFKA_SECRET}" }\n`);
  const config = writeConfig(`${yaml}metrics: { port: ${port}, host: 127.0.0.1 }\n`);
  const json = { ENGINE_LOG_FORMAT: 'json' };

  const validate = await runCli(['validate', config], { env: json });
  assert.equal(validate.code, 0, validate.stderr);
  assertNoSecret('engine validate', validate.stdout + validate.stderr);

  let scraped = '';
  const scrape = whenRows(table, 2000, async (child) => {
    scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    scraped += await (await fetch(`http://127.0.0.1:${port}/readyz`)).text();
    child.kill('SIGTERM');
  });
  const run = await runCli(['start', config], { env: json, during: scrape.during, timeoutMs: 120_000 });
  await scrape.done();
  assert.equal(run.code, 0, run.stderr);
  assert.ok(scraped.includes('kpe_records_written_total'), 'scraped the metrics');
  assertNoSecret('engine start', run.stdout + run.stderr + scraped);
  const lines = run.stderr.trim().split('\n');
  for (const line of lines) {
    const entry = JSON.parse(line) as { level: string; time: number; msg: string };
    assert.ok(['debug', 'info', 'warn', 'error'].includes(entry.level) && typeof entry.time === 'number' && typeof entry.msg === 'string', line);
  }
  assert.ok(lines.some((l) => (JSON.parse(l) as { msg: string }).msg.startsWith('engine started')));

  // A database that cannot be reached: the error names the URL, without the password.
  const unreachable = writeConfig(yaml.replace(/127\.0\.0\.1:5432/, '127.0.0.1:1'));
  const failed = await runCli(['start', unreachable, '--until-caught-up'], { env: json, timeoutMs: 60_000 });
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /ENG_PG_CONNECT: cannot connect to PostgreSQL at postgres:\/\/root:\*\*\*@127\.0\.0\.1:1/);
  assertNoSecret('a failed connection', failed.stdout + failed.stderr);
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});
