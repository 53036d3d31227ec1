import assert from 'node:assert/strict';
import { test } from 'node:test';
import Kafka from 'node-rdkafka';
import * as layout from '../../../src/ring/layout';
import { keepLargeBlocksMapped, loadNative, nativeUnavailableReason } from '../../../src/source/native-binding';
import { selectSource } from '../../../src/source/select';

test('the native addon is built and writes the ring frame of src/ring/layout.ts, field for field', () => {
  const addon = loadNative();
  assert.ok(addon, `native addon: ${nativeUnavailableReason()}`);
  for (const [name, value] of Object.entries(addon.layout)) {
    assert.equal(value, (layout as unknown as Record<string, number>)[name], `native ${name} = ${value}, layout.ts says otherwise`);
  }
  assert.equal(Object.keys(addon.layout).length, 10);
  assert.equal(addon.librdkafkaVersion, Kafka.librdkafkaVersion, 'one librdkafka in the process: the one node-rdkafka built');
});

test('engine.source: auto picks native when built; ENGINE_SOURCE overrides; a bad value is refused', () => {
  assert.equal(selectSource('auto', {}), 'native');
  assert.equal(selectSource('native', { ENGINE_SOURCE: 'node-rdkafka' }), 'node-rdkafka');
  assert.equal(selectSource('node-rdkafka', {}), 'node-rdkafka');
  assert.throws(() => selectSource('auto', { ENGINE_SOURCE: 'java' }), /ENGINE_SOURCE=java/);
});

test('large blocks stay mmap-ed (glibc mallopt through the addon), unless the environment sets the threshold', (t) => {
  // Under scripts/native-sanitize.sh ASan's allocator stands in for glibc's: there is no mallopt to tune.
  if (process.env.KPE_SANITIZED === '1') return t.skip('AddressSanitizer replaces malloc');
  const addon = loadNative();
  assert.ok(addon, `native addon: ${nativeUnavailableReason()}`);
  assert.equal(addon.tuneMalloc(128 << 10), true, 'this machine runs glibc: mallopt(M_MMAP_THRESHOLD) must apply');
  const saved = process.env.MALLOC_MMAP_THRESHOLD_;
  process.env.MALLOC_MMAP_THRESHOLD_ = '65536';
  try {
    assert.equal(keepLargeBlocksMapped(), false, 'an explicit MALLOC_MMAP_THRESHOLD_ wins');
  } finally {
    if (saved === undefined) delete process.env.MALLOC_MMAP_THRESHOLD_;
    else process.env.MALLOC_MMAP_THRESHOLD_ = saved;
  }
  assert.equal(keepLargeBlocksMapped(), true);
});
