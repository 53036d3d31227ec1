import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prng } from '../../helpers/random-avro';
import { encodeHeaders } from '../../../src/ring/headers';
import { loadNative, nativeUnavailableReason } from '../../../src/source/native-binding';


function validBlock(rand: () => number): Buffer {
  const headers: Array<Record<string, Buffer | null>> = [];
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const nameLength = rand() < 0.05 ? 65_535 : Math.floor(rand() * 40);
    const name = Array.from({ length: nameLength }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('');
    const value = rand() < 0.2 ? null : Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
    headers.push({ [name]: value });
  }
  return Buffer.from(encodeHeaders(headers) ?? new Uint8Array(0));
}

/** A block broken in one of the ways a bad length can break it: cut short, a length that lies, noise. */
function brokenBlock(rand: () => number): Buffer {
  const block = validBlock(rand);
  const kind = Math.floor(rand() * 4);
  if (kind === 0 && block.length > 1) return block.subarray(0, 1 + Math.floor(rand() * (block.length - 1)));
  if (kind === 1 && block.length >= 2) {
    const b = Buffer.from(block);
    b.writeUInt16LE(0xffff, 0);
    return b;
  }
  if (kind === 2 && block.length >= 6) {
    const b = Buffer.from(block);
    const nameLength = b.readUInt16LE(0);
    if (2 + nameLength + 4 <= b.length) b.writeInt32LE([0x7fffffff, -2, -0x80000000, b.length][Math.floor(rand() * 4)], 2 + nameLength);
    return b;
  }
  return Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
}

test('dead-letter producer: fuzzed header blocks are produced whole or refused naming what is wrong; never read past their end', async (t) => {
  const addon = loadNative();
  if (!addon) {
    if (process.env.KPE_NATIVE_REQUIRED === '1') assert.fail(`the native addon is required: ${nativeUnavailableReason()}`);
    return t.skip(`no native addon: ${nativeUnavailableReason()}`);
  }
  // Nothing listens on port 1: messages only queue locally, and are dropped at close.
  const producer = new addon.NativeProducer({ 'bootstrap.servers': '127.0.0.1:1', 'message.timeout.ms': '1000', 'log_level': '0' });
  const seed = Number(process.env.FUZZ_SEED ?? 20261201);
  const rand = prng(seed);
  let refused = 0;
  try {
    for (let i = 0; i < 3000; i++) {
      const valid = i % 2 === 0;
      // Each block gets its own exact-size buffer, so a read past its end is a read past the allocation.
      const block = Uint8Array.from(valid ? validBlock(rand) : brokenBlock(rand));
      try {
        producer.produce('fuzz', 0, null, Buffer.from('v'), -1, block.length > 0 ? block : null, i);
        assert.ok(valid || isWellFormed(block), `seed ${seed} case ${i}: a broken block was produced: ${Buffer.from(block).toString('hex').slice(0, 80)}`);
      } catch (err) {
        assert.ok(!valid, `seed ${seed} case ${i}: a valid block was refused: ${(err as Error).message}`);
        assert.match((err as Error).message, /^producing to fuzz: malformed headers: header \d+ at byte \d+: /);
        refused++;
      }
    }
  } finally {
    // A poll still running on a libuv thread when close is called: close waits for it before it destroys
    // the handle (under scripts/native-sanitize.sh a use after free would abort here).
    const polled = new Promise<void>((resolve) => producer.poll(300, () => resolve()));
    await new Promise<void>((resolve) => producer.close(0, () => resolve()));
    await polled;
  }
  assert.ok(refused > 1000, `most broken blocks are refused (${refused})`);
});

/** Whether a block decodes exactly (random noise can happen to be a well-formed block). */
function isWellFormed(b: Uint8Array): boolean {
  let at = 0;
  while (at < b.length) {
    if (b.length - at < 2) return false;
    const n = b[at] | (b[at + 1] << 8);
    at += 2;
    if (b.length - at < n || b.subarray(at, at + n).includes(0)) return false;
    at += n;
    if (b.length - at < 4) return false;
    const v = Buffer.from(b.buffer, b.byteOffset + at, 4).readInt32LE(0);
    at += 4;
    if (v < -1 || (v > 0 && b.length - at < v)) return false;
    if (v > 0) at += v;
  }
  return true;
}
