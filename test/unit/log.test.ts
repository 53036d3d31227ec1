import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load';
import { redact, registerSecret } from '../../src/log';

test('a URL password never prints', () => {
  assert.equal(redact('cannot connect to postgres://app:hunter2@db:5432/x'), 'cannot connect to postgres://app:***@db:5432/x');
  assert.equal(redact('http://u:p%40ss@registry:8081 and https://v:w@h'), 'http://u:***@registry:8081 and https://v:***@h');
  assert.equal(redact('postgres://app@db/x'), 'postgres://app@db/x', 'no password, nothing to hide');
});

test("the config's secrets are registered when it is read and print as ***", () => {
  parseConfig(
    `kafka: { brokers: b, groupId: g, config: { sasl.password: "Sasl-Secret-1", ssl.key.password: kp-2, client.id: visible } }
postgres: { url: "postgres://app:Pg-Secret-3@db/x" }
pipelines:
  - { name: p, topics: [t], format: json, table: t, registry: { url: "http://reg:Reg-Secret-4@r:8081" } }
`,
    '/tmp',
    {},
  );
  const text = 'Sasl-Secret-1 kp-2 Pg-Secret-3 Reg-Secret-4 visible';
  assert.equal(redact(text), '*** *** *** *** visible');
  // A secret of one or two characters is still a secret: masked where it stands alone, not inside words.
  registerSecret('x');
  registerSecret('q7');
  assert.equal(redact('password x for max, q7 and q77: "x"'), 'password *** for max, *** and q77: "***"');
});

test('inline keys, passwords and client secrets in kafka.config are secrets', () => {
  parseConfig(
    `kafka: { brokers: b, groupId: g, config: { ssl.key.pem: "-----BEGIN PRIVATE KEY-----MIIEv", ssl.keystore.password: ks-5, sasl.oauthbearer.client.secret: oc-6 } }
postgres: { url: "postgres://app@db/x" }
pipelines: [{ name: p, topics: [t], format: json, table: t }]
`,
    '/tmp',
    {},
  );
  assert.equal(redact('-----BEGIN PRIVATE KEY-----MIIEv ks-5 oc-6'), '*** *** ***');
});
