import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../../src/cli/main';
import { EngineError, ErrorCodes, exitCodeFor, ExitCodes } from '../../../src/errors';

const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-cli-'));
const good = path.join(dir, 'good.yaml');
writeFileSync(good, 'kafka: { brokers: 127.0.0.1:9092, groupId: g }\npostgres: { url: "postgres://u@127.0.0.1:1/x" }\npipelines: [{ name: p, topics: [t], format: json, table: t }]\n');
const bad = path.join(dir, 'bad.yaml');
writeFileSync(bad, 'kafka: { brokers: 127.0.0.1:9092, groupId: g, config: { enable.auto.commit: true } }\npostgres: { url: "postgres://u@h/x" }\npipelines: [{ name: p, topics: [t], format: json, table: t }]\n');
const missing = path.join(dir, 'missing.yaml');

/** main() with its output swallowed. */
async function run(...argv: string[]): Promise<number> {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  try {
    return await main(argv);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

test('one exit-code map: a config, schema or table problem is 3 for every command; anything else 1', () => {
  for (const code of [ErrorCodes.CONFIG_INVALID, ErrorCodes.CONFIG_READ, ErrorCodes.SCHEMA_LOAD, ErrorCodes.TABLE_MAPPING]) {
    assert.equal(exitCodeFor(new EngineError(code, 'x')), ExitCodes.CONFIG, code);
  }
  for (const code of [ErrorCodes.PG_CONNECT, ErrorCodes.KAFKA_STALLED, ErrorCodes.OFFSETS, ErrorCodes.INTERNAL]) assert.equal(exitCodeFor(new EngineError(code, 'x')), ExitCodes.FAILED, code);
  assert.equal(exitCodeFor(new Error('plain')), ExitCodes.FAILED);
});

test('exit codes per command: usage 2, config 3 (start, validate, dlq, offsets alike), help 0', async () => {
  assert.equal(await run(), ExitCodes.USAGE);
  assert.equal(await run('help'), ExitCodes.OK);
  assert.equal(await run('launch', good), ExitCodes.USAGE, 'unknown command');
  assert.equal(await run('start', good, 'extra'), ExitCodes.USAGE);
  assert.equal(await run('start', good, '--until-caught-upp'), ExitCodes.USAGE, 'unknown option');
  assert.equal(await run('validate', good), ExitCodes.OK);
  assert.equal(await run('validate', bad), ExitCodes.CONFIG);
  assert.equal(await run('config-schema'), ExitCodes.OK);
  assert.equal(await run('config-schema', good), ExitCodes.USAGE, 'config-schema takes no argument');
  assert.equal(await run('start', missing), ExitCodes.CONFIG);
  assert.equal(await run('start', bad, '--until-caught-up'), ExitCodes.CONFIG);
  for (const sub of [['dlq', 'inspect'], ['dlq', 'replay'], ['offsets', 'show'], ['offsets', 'reset']]) {
    const to = sub[1] === 'reset' ? ['--to', 'earliest'] : [];
    assert.equal(await run(...sub, bad, '--pipeline', 'p', ...to), ExitCodes.CONFIG, `${sub.join(' ')} with a bad config`);
    assert.equal(await run(...sub, missing, '--pipeline', 'p', ...to), ExitCodes.CONFIG, `${sub.join(' ')} with no config`);
    assert.equal(await run(...sub, good), ExitCodes.USAGE, `${sub.join(' ')} without --pipeline`);
  }
  assert.equal(await run('dlq', 'inspect', good, '--pipeline', 'p', '--from-offset', '3'), ExitCodes.USAGE, '--from-offset only with replay');
  assert.equal(await run('offsets', 'reset', good, '--pipeline', 'p', '--to', 'yesterday'), ExitCodes.USAGE);
  assert.equal(await run('offsets', 'show', good, '--pipeline', 'p', '--to', 'earliest'), ExitCodes.USAGE);
  assert.equal(await run('failover', good), ExitCodes.USAGE, 'failover needs --to');
  assert.equal(await run('failover', good, '--to', 'backup'), ExitCodes.USAGE, '--to is dr or primary');
  assert.equal(await run('failover', bad, '--to', 'dr'), ExitCodes.CONFIG);
  assert.equal(await run('failover', good, '--to', 'dr'), ExitCodes.CONFIG, 'no kafka.dr: nothing to fail over to');
});

test('--name=value works like --name value', async () => {
  assert.equal(await run('offsets', 'show', bad, '--pipeline=p'), ExitCodes.CONFIG, 'parsed, then the config is refused');
  assert.equal(await run('offsets', 'reset', bad, '--pipeline=p', '--to=earliest'), ExitCodes.CONFIG);
  assert.equal(await run('dlq', 'replay', missing, '--pipeline=p', '--from-offset=0'), ExitCodes.CONFIG);
});
