import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder, ORDER_SCHEMA_PATH } from '../../bench/lib/orders';
import { freePort } from '../../bench/lib/scenario';
import { DATABASE_URL, runCli, sql, unique, whenRows, writeConfig } from '../helpers/env';
import { createOrdersTable, ordersConfig } from '../helpers/orders';
import { frame, TestRegistry } from '../helpers/registry';

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

test('registry credentials and ${file:} secrets never printed: a run with metrics scraped, then a registry that refuses them', { timeout: 180_000 }, async () => {
  const REGISTRY_SECRET = 'regS3cret-44f0';
  const FILE_SECRET = 'fileS3cret-0c2b';
  const registry = new TestRegistry();
  await registry.start({ auth: `Basic ${Buffer.from(`reg:${REGISTRY_SECRET}`).toString('base64')}` });
  try {
    const id = registry.register(readFileSync(ORDER_SCHEMA_PATH, 'utf8'));
    const topic = unique('logs_reg');
    const table = unique('logs_reg');
    await createTopic(topic, 1);
    await produce(topic, 1000, (i) => frame(id, encodeOrder(i)), { partitions: 1 });
    await createOrdersTable(table);
    const port = await freePort();
    const yaml = ordersConfig({ topic, table, group: unique('logs_reg') })
      .replace(DATABASE_URL, DATABASE_URL.replace('postgres://root@', 'postgres://root:${file:pg_password}@'))
      .replace(`    schema: ${ORDER_SCHEMA_PATH}\n`, `    registry: { url: "${registry.url}", username: reg, password: "${REGISTRY_SECRET}" }\n`);
    const config = writeConfig(`${yaml}metrics: { port: ${port}, host: 127.0.0.1 }\n`);
    writeFileSync(path.join(path.dirname(config), 'pg_password'), `${FILE_SECRET}\n`);
    const noSecret = (where: string, text: string) => {
      for (const secret of [REGISTRY_SECRET, FILE_SECRET, Buffer.from(`reg:${REGISTRY_SECRET}`).toString('base64')]) assert.ok(!text.includes(secret), `${where} shows a secret:\n${text}`);
    };

    const validate = await runCli(['validate', config]);
    assert.equal(validate.code, 0, validate.stderr);
    noSecret('engine validate', validate.stdout + validate.stderr);
    let scraped = '';
    const scrape = whenRows(table, 1000, async (child) => {
      scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      child.kill('SIGTERM');
    });
    const run = await runCli(['start', config], { during: scrape.during, timeoutMs: 120_000 });
    await scrape.done();
    assert.equal(run.code, 0, run.stderr);
    assert.equal(Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n), 1000);
    assert.ok(scraped.includes('kpe_records_written_total'), 'scraped the metrics');
    noSecret('engine start', run.stdout + run.stderr + scraped);

    // The registry refuses a wrong password: a clear error, at once, neither password printed.
    const WRONG = 'wrongRegS3cret-9d9d';
    const refused = writeConfig(readFileSync(config, 'utf8').replace(REGISTRY_SECRET, WRONG).replace(/groupId: .*/, `groupId: ${unique('logs_reg')}`));
    writeFileSync(path.join(path.dirname(refused), 'pg_password'), FILE_SECRET);
    const failed = await runCli(['start', refused, '--until-caught-up'], { timeoutMs: 60_000 });
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /ENG_REGISTRY: schema registry http:\/\/127\.0\.0\.1:\d+\/schemas\/ids\/1 refused the credentials \(401\)/);
    noSecret('a refused registry login', failed.stdout + failed.stderr);
    assert.ok(!(failed.stdout + failed.stderr).includes(WRONG), 'the wrong registry password was printed');
    await sql(`DROP TABLE ${table}`);
    await deleteTopic(topic);
  } finally {
    await registry.stop();
  }
});
