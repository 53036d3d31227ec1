import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load';
import { EngineError } from '../../../src/errors';
import { redact } from '../../../src/log';

const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-secrets-'));

const config = (pg: string, extra = '') => `
kafka: { brokers: 127.0.0.1:9092, groupId: g, config: { sasl.password: "\${file:kafka_password}" } }
postgres: ${pg}
pipelines:
  - { name: p, topics: [t], format: json, table: t${extra} }
`;

test('a malformed %-escape in a URL password is a config problem naming the place, not an unexpected error', () => {
  assert.throws(
    () => parseConfig(config('{ url: "postgres://app:50%off@db/x" }'), dir, {}),
    (err: unknown) => err instanceof EngineError && err.code === 'ENG_CONFIG_INVALID' && /postgres\.url: the password has a malformed %-escape/.test(err.message) && !err.message.includes('50%off'),
  );
  assert.throws(
    () => parseConfig(config('{ url: "postgres://app@db/x" }', ', registry: { url: "http://u%zz:p%4@reg:8081" }'), dir, {}),
    (err: unknown) =>
      err instanceof EngineError &&
      err.code === 'ENG_CONFIG_INVALID' &&
      /pipelines\[0\]\.registry\.url: the user name has a malformed %-escape/.test(err.message) &&
      /pipelines\[0\]\.registry\.url: the password has a malformed %-escape/.test(err.message),
  );
});

test('${file:...} reads a secret file (relative to the config, trailing newline cut) and registers it as a secret', () => {
  writeFileSync(path.join(dir, 'kafka_password'), 'Kafka-File-Secret-1\n');
  writeFileSync(path.join(dir, 'pg_password'), 'Pg-File-Secret-2');
  const c = parseConfig(config(`{ url: "postgres://app:\${file:${dir}/pg_password}@db:5432/x" }`), dir, {});
  assert.equal(c.kafka.config['sasl.password'], 'Kafka-File-Secret-1');
  assert.equal(c.postgres.url, 'postgres://app:Pg-File-Secret-2@db:5432/x');
  assert.equal(redact('login with Kafka-File-Secret-1 and Pg-File-Secret-2'), 'login with *** and ***');
});

test('a secret file that cannot be read is a config problem naming the path and the file', () => {
  try {
    parseConfig(config('{ url: "postgres://db/x" }').replace('kafka_password', 'missing_file'), dir, {});
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof EngineError);
    assert.match(err.message, /kafka\.config\.sasl\.password: cannot read secret file .*missing_file: ENOENT/);
  }
});

test('PostgreSQL TLS from the URL (libpq names) or from postgres.ssl, not both; the URL keeps no TLS parameter', () => {
  writeFileSync(path.join(dir, 'ca.pem'), 'x');
  const fromUrl = parseConfig(config(`{ url: "postgres://u@db/x?sslmode=verify-full&sslrootcert=${dir}/ca.pem&application_name=a" }`), dir, {});
  assert.deepEqual(fromUrl.postgres.tls, { mode: 'verify-full', rootCert: path.join(dir, 'ca.pem'), cert: null, key: null });
  assert.equal(fromUrl.postgres.url, 'postgres://u@db/x?application_name=a');
  const fromConfig = parseConfig(config('{ url: "postgres://u@db/x", ssl: { mode: require, rootCert: ca.pem } }'), dir, {});
  assert.deepEqual(fromConfig.postgres.tls, { mode: 'require', rootCert: path.join(dir, 'ca.pem'), cert: null, key: null });
  assert.equal(parseConfig(config('{ url: "postgres://u@db/x" }'), dir, {}).postgres.tls, null);
  const refused = (pg: string) => {
    try {
      parseConfig(config(pg), dir, {});
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };
  assert.match(refused('{ url: "postgres://u@db/x?sslmode=verify-full", ssl: { mode: require } }'), /postgres\.ssl: the URL already has sslmode/);
  assert.match(refused('{ url: "postgres://u@db/x?sslmode=strict" }'), /sslmode "strict" is not one of disable, allow, prefer, require, verify-ca, verify-full/);
  assert.match(refused('{ url: "postgres://u@db/x?sslmode=verify-ca&sslrootcert=/nope/ca.pem" }'), /sslrootcert \/nope\/ca\.pem does not exist/);
  assert.match(refused('{ url: "postgres://u@db/x", ssl: { cert: ca.pem } }'), /ssl\.cert and ssl\.key go together/);
});

test('registry credentials from the URL or username/password, kept out of the URL; the password is a secret', () => {
  const c = parseConfig(config('{ url: "postgres://db/x" }', ', registry: { url: "https://reg-user:Reg-Url-Secret-3@r:8081/" }'), dir, {});
  assert.deepEqual(c.pipelines[0].registry, { url: 'https://r:8081', username: 'reg-user', password: 'Reg-Url-Secret-3', ca: null, cert: null, key: null });
  const d = parseConfig(config('{ url: "postgres://db/x" }', `, registry: { url: "https://r", username: u, password: "Reg-Field-Secret-4", ca: ${dir}/ca.pem }`), dir, {});
  assert.equal(d.pipelines[0].registry?.password, 'Reg-Field-Secret-4');
  assert.equal(d.pipelines[0].registry?.ca, path.join(dir, 'ca.pem'));
  assert.equal(redact('Reg-Url-Secret-3 Reg-Field-Secret-4'), '*** ***');
});
