import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Kafka from 'node-rdkafka';
import { Client } from 'pg';
import { createTopic, produce } from '../../bench/lib/kafka-tools';
import { encodeOrder, ORDER_SCHEMA_PATH, ordersTableSql } from '../../bench/lib/orders';
import { BROKERS, DATABASE_URL, REPO, runCli, unique, writeConfig } from '../helpers/env';
import { ordersConfig } from '../helpers/orders';
import { frame, TestRegistry } from '../helpers/registry';

/**
 * The engine against the local broker's SASL_SSL listener (SCRAM-SHA-512, CA verified) and a PostgreSQL
 * that lets the test role in over TLS only, checked with verify-full: scripts/kafka.sh start --secure and
 * scripts/pg.sh tls make both (certificates generated at start, nothing committed).
 */
function envLines(out: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^([A-Z_]+)=(.*)$/gm)) env[m[1]] = m[2];
  return env;
}

let kafka: Record<string, string>;
let pg: Record<string, string>;
let kafkaPassword: string;
let pgPassword: string;

before(() => {
  kafka = envLines(execFileSync('bash', [`${REPO}/scripts/kafka.sh`, 'start', '--secure'], { encoding: 'utf8' }));
  pg = envLines(execFileSync('bash', [`${REPO}/scripts/pg.sh`, 'tls'], { encoding: 'utf8' }));
  kafkaPassword = readFileSync(kafka.KAFKA_SECURE_PASSWORD_FILE, 'utf8').trim();
  pgPassword = readFileSync(pg.PG_TLS_PASSWORD_FILE, 'utf8').trim();
});

const pgUrl = (o: { host?: string; password?: string; mode?: string; ca?: string } = {}) =>
  `postgres://${pg.PG_TLS_USER}:${o.password ?? pgPassword}@${o.host ?? pg.PG_TLS_HOST}:${pg.PG_TLS_PORT}/${pg.PG_TLS_DATABASE}` +
  `?sslmode=${o.mode ?? 'verify-full'}&sslrootcert=${encodeURIComponent(o.ca ?? pg.PG_TLS_CA)}`;

/** SQL as the TLS-only role, over verify-full TLS. */
async function tlsSql<T extends Record<string, unknown>>(text: string): Promise<T[]> {
  const c = new Client({ host: pg.PG_TLS_HOST, port: Number(pg.PG_TLS_PORT), database: pg.PG_TLS_DATABASE, user: pg.PG_TLS_USER, password: pgPassword, ssl: { ca: readFileSync(pg.PG_TLS_CA) } });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

function secureKafka(o: { password?: string; ca?: string } = {}): string {
  return `{ security.protocol: SASL_SSL, sasl.mechanisms: SCRAM-SHA-512, sasl.username: ${kafka.KAFKA_SECURE_USER}, sasl.password: "${o.password ?? kafkaPassword}", ssl.ca.location: "${o.ca ?? kafka.KAFKA_SECURE_CA}" }`;
}

function config(o: { topic: string; table: string; group: string; kafkaConfig: string; pgUrl: string; extra?: string }): string {
  const yaml = ordersConfig({ topic: o.topic, table: o.table, group: o.group, extra: o.extra, engine: '  offsetsTable: kpe_tls.offsets\nretry: { maxElapsed: 20s }' })
    .replace(`brokers: ${BROKERS}\n`, `brokers: ${kafka.KAFKA_SECURE_BROKERS}\n  config: ${o.kafkaConfig}\n`)
    .replace(`url: ${DATABASE_URL}\n`, `url: "${o.pgUrl}"\n`);
  return writeConfig(yaml);
}

/** Reads a whole topic over the secured listener: proves the dead letters went there through it. */
async function countOverSasl(topic: string, partitions: number): Promise<number> {
  const c = new Kafka.KafkaConsumer({
    'metadata.broker.list': kafka.KAFKA_SECURE_BROKERS, 'group.id': unique('secure_read'), 'security.protocol': 'sasl_ssl', 'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': kafka.KAFKA_SECURE_USER, 'sasl.password': kafkaPassword, 'ssl.ca.location': kafka.KAFKA_SECURE_CA, 'enable.auto.commit': false,
  }, { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    let total = 0;
    for (let p = 0; p < partitions; p++) {
      const marks = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) => c.queryWatermarkOffsets(topic, p, 10_000, (err, o) => (err ? reject(err) : resolve(o))));
      total += marks.highOffset - marks.lowOffset;
    }
    return total;
  } finally {
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}

test('SASL_SSL (SCRAM-SHA-512, CA verified) to Kafka and verify-full TLS to PostgreSQL: rows exact, dead letters over the secured listener', { timeout: 240_000 }, async () => {
  const topic = unique('secure');
  const table = `kpe_tls.${unique('secure')}`;
  const records = 20_000;
  const poison = new Set([7, 4321, 19_999]);
  await createTopic(topic, 3);
  await produce(topic, records, (i) => (poison.has(i) ? Buffer.from('not avro') : encodeOrder(i)), { partitions: 3 });
  await tlsSql(ordersTableSql(table));
  const dlq = unique('secure_dlq');
  const run = await runCli(['start', config({ topic, table, group: unique('secure'), kafkaConfig: secureKafka(), pgUrl: pgUrl(), extra: `    deadLetter: { topic: ${dlq} }` }), '--until-caught-up'], { timeoutMs: 180_000 });
  assert.equal(run.code, 0, run.stderr);
  const [{ n, distinct }] = await tlsSql<{ n: string; distinct: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS distinct FROM ${table}`);
  assert.equal(Number(n), records - poison.size);
  assert.equal(Number(distinct), records - poison.size);
  assert.equal(await countOverSasl(dlq, 3), poison.size);
  // The positions are in PostgreSQL (exactly-once), written over the same TLS connections.
  const stored = await tlsSql<{ done: string }>(`SELECT done::text AS done FROM kpe_tls.offsets WHERE topic = '${topic}' ORDER BY partition`);
  assert.deepEqual(stored.map((r) => r.done), ['{(,6667)}', '{(,6667)}', '{(,6666)}']);
  for (const secret of [kafkaPassword, pgPassword]) assert.ok(!(run.stdout + run.stderr).includes(secret), 'a password was printed');
});

/** A run that must fail at start: fast, with a clear message, exit 1, the passwords not printed. */
async function assertFailsFast(what: string, cfg: string, expected: RegExp, secrets: string[]): Promise<void> {
  const started = Date.now();
  const run = await runCli(['start', cfg, '--until-caught-up'], { timeoutMs: 60_000 });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(run.code, 1, `${what}: exit code\n${run.stderr}`);
  assert.match(run.stderr, expected, what);
  assert.ok(seconds < 20, `${what}: took ${seconds} s (librdkafka or the sink retried instead of failing)`);
  for (const s of secrets) assert.ok(!(run.stdout + run.stderr).includes(s), `${what}: the password was printed:\n${run.stderr}`);
  console.log(`${what}: failed in ${seconds.toFixed(1)} s: ${run.stderr.split('\n').find((l) => /ENG_/.test(l))?.trim()}`);
}

test('a wrong SASL password, an untrusted broker CA, an untrusted or misnamed PostgreSQL certificate each fail fast and clearly', { timeout: 240_000 }, async () => {
  const topic = unique('secure_bad');
  const table = `kpe_tls.${unique('secure_bad')}`;
  await createTopic(topic, 1);
  await produce(topic, 10, encodeOrder, { partitions: 1 });
  await tlsSql(ordersTableSql(table));
  // Another CA, which signed nothing the servers present.
  const otherCa = path.join(path.dirname(writeConfig('')), 'other-ca');
  execFileSync('bash', [`${REPO}/scripts/tls.sh`, otherCa, 'DNS:localhost']);
  const wrongPassword = 'Wrong-Pass-5150';
  const group = unique('secure_bad');

  await assertFailsFast('wrong SASL password', config({ topic, table, group, kafkaConfig: secureKafka({ password: wrongPassword }), pgUrl: pgUrl() }),
    /ENG_KAFKA_CONNECT: .*(Authentication failed|SASL authentication error|authentication failure).*check kafka\.config sasl/, [wrongPassword, pgPassword]);
  await assertFailsFast('untrusted broker CA', config({ topic, table, group, kafkaConfig: secureKafka({ ca: `${otherCa}/ca.crt` }), pgUrl: pgUrl() }),
    /ENG_KAFKA_CONNECT: .*(SSL handshake failed|certificate verify failed).*ssl\.ca\.location/, [kafkaPassword, pgPassword]);
  await assertFailsFast('untrusted PostgreSQL CA', config({ topic, table, group, kafkaConfig: secureKafka(), pgUrl: pgUrl({ ca: `${otherCa}/ca.crt` }) }),
    /ENG_PG_CONNECT: cannot connect to PostgreSQL at postgres:\/\/kpe_tls:\*\*\*@localhost.*(self.signed|unable to verify|certificate)/i, [kafkaPassword, pgPassword]);
  // The certificate names localhost only: verify-full refuses 127.0.0.1, verify-ca (chain only) accepts it.
  await assertFailsFast('PostgreSQL host name not in the certificate', config({ topic, table, group, kafkaConfig: secureKafka(), pgUrl: pgUrl({ host: '127.0.0.1' }) }),
    /ENG_PG_CONNECT: .*(altnames|does not match)/i, [kafkaPassword, pgPassword]);
  await assertFailsFast('a PostgreSQL connection without TLS', config({ topic, table, group, kafkaConfig: secureKafka(), pgUrl: pgUrl({ mode: 'disable' }) }),
    /ENG_PG_CONNECT: .*pg_hba\.conf rejects connection .* no encryption/, [kafkaPassword, pgPassword]);
  const wrongPg = 'Wrong-Pg-Pass-8088';
  await assertFailsFast('wrong PostgreSQL password', config({ topic, table, group, kafkaConfig: secureKafka(), pgUrl: pgUrl({ password: wrongPg }) }),
    /ENG_PG_CONNECT: .*password authentication failed/, [kafkaPassword, wrongPg]);

  const chainOnly = await runCli(['start', config({ topic, table, group, kafkaConfig: secureKafka(), pgUrl: pgUrl({ host: '127.0.0.1', mode: 'verify-ca' }) }), '--until-caught-up'], { timeoutMs: 90_000 });
  assert.equal(chainOnly.code, 0, chainOnly.stderr);
  const [{ n }] = await tlsSql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  assert.equal(Number(n), 10);
});

let registry: TestRegistry | null = null;
after(async () => registry?.stop());

test('a schema registry over https with basic auth: schemas fetched with the CA and the credentials given', { timeout: 180_000 }, async () => {
  // The test registry behind TLS (the broker's test certificate, for 127.0.0.1) and a password.
  const tlsDir = path.dirname(kafka.KAFKA_SECURE_CA);
  registry = new TestRegistry();
  const user = 'registry-user';
  const password = 'Reg-Pass-2718';
  await registry.start({
    server: (handler) => https.createServer({ key: readFileSync(`${tlsDir}/server.key`), cert: readFileSync(`${tlsDir}/server.crt`) }, handler),
    auth: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });
  const id = registry.register(readFileSync(ORDER_SCHEMA_PATH, 'utf8'));
  const topic = unique('secure_reg');
  const table = `kpe_tls.${unique('secure_reg')}`;
  await createTopic(topic, 1);
  await produce(topic, 1000, (i) => frame(id, encodeOrder(i)), { partitions: 1 });
  await tlsSql(ordersTableSql(table));
  const file = config({ topic, table, group: unique('secure_reg'), kafkaConfig: secureKafka(), pgUrl: pgUrl() })
  const yaml = readFileSync(file, 'utf8').replace(`    schema: ${ORDER_SCHEMA_PATH}\n`, `    registry: { url: "${registry.url}", username: ${user}, password: "${password}", ca: "${kafka.KAFKA_SECURE_CA}" }\n`);
  writeFileSync(file, yaml);
  const run = await runCli(['start', file, '--until-caught-up'], { timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  const [{ n }] = await tlsSql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  assert.equal(Number(n), 1000);
  assert.ok(registry.requests.includes(`GET /schemas/ids/${id}`), 'the engine asked the registry');
  assert.ok(registry.unauthorized === 0, 'every request carried the credentials');
  assert.ok(!(run.stdout + run.stderr).includes(password), 'the registry password was printed');
});
