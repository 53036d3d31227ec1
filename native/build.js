#!/usr/bin/env node
// Builds the native batch consumer (native/binding.gyp) with node-gyp, against the librdkafka that
// node-rdkafka built. Run by `npm ci` (the package's install script) and by `npm run build:native`.
// A failed build does not fail the install: the engine then runs on node-rdkafka and says why
// (engine.source: native refuses to start). KPE_NATIVE_REQUIRED=1 (set by .ci/run) makes it fatal.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = __dirname;
const logFile = path.join(dir, 'build.log');

function nodeGyp() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const candidates = [
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ];
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

function fail(reason) {
  const text = `native addon NOT built: ${reason}\n  The engine falls back to node-rdkafka (slower); engine.source: native will refuse to start.\n  Details: ${logFile}. Retry with: npm run build:native`;
  fs.writeFileSync(path.join(dir, 'build-failed.txt'), `${reason}\n`);
  console.error(`\n*** ${text}\n`);
  process.exit(process.env.KPE_NATIVE_REQUIRED === '1' ? 1 : 0);
}

fs.rmSync(path.join(dir, 'build-failed.txt'), { force: true });
let rdkafka;
try {
  rdkafka = path.join(path.dirname(require.resolve('node-rdkafka/package.json', { paths: [dir] })), 'build', 'deps');
} catch {
  fail('node-rdkafka is not installed (run npm ci first)');
}
if (!fs.existsSync(path.join(rdkafka, 'include', 'librdkafka', 'rdkafka.h')) || !fs.existsSync(path.join(rdkafka, 'librdkafka.so.1'))) {
  fail(`node-rdkafka's librdkafka build is missing (${rdkafka}: no include/librdkafka/rdkafka.h or librdkafka.so.1)`);
}
const gyp = nodeGyp();
if (!gyp) fail("node-gyp not found (it comes with npm; set npm_config_node_gyp to its bin/node-gyp.js)");
const env = { ...process.env };
// node-gyp cannot download Node's headers on machines without internet; use the installed ones.
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
const run = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: dir, env, encoding: 'utf8' });
fs.writeFileSync(logFile, `${run.stdout ?? ''}${run.stderr ?? ''}`);
if (run.status !== 0) fail(`node-gyp rebuild exited with ${run.status ?? run.signal}: ${(run.stderr ?? '').split('\n').filter((l) => /error/i.test(l)).slice(0, 5).join(' | ') || 'see the log'}`);
console.error(`native addon built: ${path.join(dir, 'build/Release/kpe_native.node')}`);
