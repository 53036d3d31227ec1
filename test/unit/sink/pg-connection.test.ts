import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { PgTls } from '../../../src/config/postgres-tls';
import { tlsOptions } from '../../../src/sink/pg-connection';

const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-pgtls-'));
const ca = path.join(dir, 'ca.pem');
writeFileSync(ca, 'CA');
const tls = (mode: PgTls['mode'], rootCert: string | null = null): PgTls => ({ mode, rootCert, cert: null, key: null });

test('sslmode keeps libpq meaning: what is verified in each mode', () => {
  assert.equal(tlsOptions(null), false);
  assert.equal(tlsOptions(tls('disable')), false);
  assert.deepEqual(tlsOptions(tls('prefer')), { rejectUnauthorized: false });
  assert.deepEqual(tlsOptions(tls('require')), { rejectUnauthorized: false });
  // require with a root certificate verifies the chain (libpq: like verify-ca).
  const requireCa = tlsOptions(tls('require', ca));
  assert.ok(requireCa && requireCa.rejectUnauthorized === true && String(requireCa.ca) === 'CA' && typeof requireCa.checkServerIdentity === 'function');
  const verifyCa = tlsOptions(tls('verify-ca', ca));
  assert.ok(verifyCa && verifyCa.rejectUnauthorized === true && verifyCa.checkServerIdentity?.('other', {} as never) === undefined);
  // verify-full leaves Node's host name check in place.
  const full = tlsOptions(tls('verify-full', ca));
  assert.ok(full && full.rejectUnauthorized === true && String(full.ca) === 'CA' && full.checkServerIdentity === undefined);
  const system = tlsOptions(tls('verify-full', 'system'));
  assert.ok(system && system.ca === undefined && system.rejectUnauthorized === true);
});
