import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load';
import { Client } from 'pg';
import { DEFAULT_CONNECT_TIMEOUT_MS, hostName, parsePgHosts, type PgHostList } from '../../../src/config/postgres-url';
import { EngineError } from '../../../src/errors';

function hosts(url: string): PgHostList {
  const h = parsePgHosts(url);
  assert.ok(typeof h !== 'string', h as string);
  return h;
}

test('libpq multi-host URLs: every host in order, one single-host URL each, libpq-only parameters taken out', () => {
  const h = hosts('postgres://root:pw@127.0.0.1:25432,127.0.0.1:25433/test?target_session_attrs=read-write&connect_timeout=3&application_name=x');
  assert.deepEqual(h.hosts, [{ host: '127.0.0.1', port: 25432 }, { host: '127.0.0.1', port: 25433 }]);
  assert.equal(h.targetSessionAttrs, 'read-write');
  assert.equal(h.connectTimeoutMs, 3000);
  assert.deepEqual(h.urls, ['postgres://root:pw@127.0.0.1:25432/test?application_name=x', 'postgres://root:pw@127.0.0.1:25433/test?application_name=x']);
});

test('ports: per host, else the port parameter, else 5432; IPv6 in brackets; one host keeps libpq defaults', () => {
  assert.deepEqual(hosts('postgresql://u@db1,db2:6000/x?port=7000').hosts, [{ host: 'db1', port: 7000 }, { host: 'db2', port: 6000 }]);
  assert.deepEqual(hosts('postgres://u@[::1]:5433,db/x').hosts, [{ host: '::1', port: 5433 }, { host: 'db', port: 5432 }]);
  assert.equal(hosts('postgres://u@[::1]:5433/x').urls[0], 'postgres://u@[::1]:5433/x');
  const one = hosts('postgres://db/x');
  assert.equal(one.targetSessionAttrs, 'any', "libpq's default");
  assert.equal(one.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 'libpq waits forever; the engine does not');
  assert.equal(hosts('postgres://db/x?connect_timeout=1').connectTimeoutMs, 2000, "libpq's minimum is 2 s");
});

test('malformed URLs say what is wrong', () => {
  assert.match(parsePgHosts('mysql://db/x') as string, /postgres:\/\/ or postgresql:\/\//);
  assert.match(parsePgHosts('postgres://db:99999/x') as string, /99999 is not a port number/);
  assert.match(parsePgHosts('postgres://a,b:x/x') as string, /"b:x" is not host\[:port\]/);
  assert.match(parsePgHosts('postgres:///x') as string, /names no host/);
  assert.match(parsePgHosts('postgres://u@%40pg/x') as string, /host @pg: Linux abstract-namespace sockets are not supported/);
  assert.match(parsePgHosts('postgres://db/x?target_session_attrs=whatever') as string, /target_session_attrs=whatever is not one of any, read-write, primary/);
  assert.match(parsePgHosts('postgres://db/x?connect_timeout=soon') as string, /connect_timeout=soon/);
});

test('Unix-domain sockets as libpq writes them: a %2F-encoded host, or a host parameter (which replaces the URL\'s hosts); node-postgres reads the URL built for each', () => {
  const encoded = hosts('postgres://u:pw@%2Fvar%2Frun%2Fpostgresql/x?application_name=a');
  assert.deepEqual(encoded.hosts, [{ host: '/var/run/postgresql', port: 5432 }]);
  assert.equal(hostName(encoded.hosts[0]), '/var/run/postgresql/.s.PGSQL.5432', 'named by its socket file, as libpq does');
  const read = new Client({ connectionString: encoded.urls[0] });
  assert.deepEqual([read.host, read.port, read.database, read.user], ['/var/run/postgresql', 5432, 'x', 'u']);
  const param = hosts('postgresql://u@ignored:1/x?host=/tmp/pg,127.0.0.1&port=6543&target_session_attrs=read-write');
  assert.deepEqual(param.hosts, [{ host: '/tmp/pg', port: 6543 }, { host: '127.0.0.1', port: 6543 }]);
  assert.equal(hostName(param.hosts[1]), '127.0.0.1:6543');
  assert.deepEqual(param.urls.map((u) => new Client({ connectionString: u })).map((c) => [c.host, c.port]), [['/tmp/pg', 6543], ['127.0.0.1', 6543]]);
  assert.ok(param.urls.every((u) => !/host=|port=/.test(u)), 'the parameters libpq read are not passed on');
  assert.deepEqual(hosts('postgresql:///x?host=%2Fvar%2Frun%2Fpostgresql').hosts, [{ host: '/var/run/postgresql', port: 5432 }]);
});

const config = (url: string) => `
kafka: { brokers: 127.0.0.1:9092, groupId: g }
postgres: { url: "${url}" }
pipelines: [{ name: p, topics: [t], format: json, table: t }]
`;

test('the config takes a multi-host URL with TLS parameters, and refuses sessions that cannot write', () => {
  const c = parseConfig(config('postgres://u@h1:5432,h2:5433/x?sslmode=require&target_session_attrs=primary'), '/tmp', {});
  assert.deepEqual(c.postgres.hosts.hosts.map((h) => h.host), ['h1', 'h2']);
  assert.equal(c.postgres.tls?.mode, 'require');
  assert.equal(c.postgres.hosts.targetSessionAttrs, 'primary');
  assert.ok(c.postgres.hosts.urls.every((u) => !u.includes('sslmode')), 'TLS is applied with libpq meanings, not by node-postgres');
  for (const [url, message] of [
    ['postgres://u@h1,h2/x?target_session_attrs=standby', /target_session_attrs=standby would pick a server that cannot take the engine's writes/],
    ['postgres://u@h1,h2:0/x', /postgres\.url: "h2:0": 0 is not a port number/],
  ] as const) {
    assert.throws(() => parseConfig(config(url), '/tmp', {}), (err) => err instanceof EngineError && message.test(err.message));
  }
});
