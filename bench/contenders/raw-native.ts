import { DATA_START } from '../../src/ring/layout';
import { FILL_FULL, OUT_FRAMES, OUT_HEAD, OUT_STATUS } from '../../src/source/native-binding';
import { FILL_REPORT_PARTITIONS, NativeSource } from '../../src/source/native-source';
import { DEFAULT_GROUP_SETTINGS } from '../../src/source/source';
import { TopicRoutes } from '../../src/source/routes';
import { OUT_PART0 } from '../../src/source/native-binding';

/**
 * Contender "raw native consume": the native/ addon writing every message into a 64 MiB ring as frames,
 * with the engine's consumer settings, and nothing reading them (the ring is reused from the start when it
 * fills). The native source's own limit. Prints one JSON line.   raw-native.js <brokers> <topic> <count>
 */
async function main(): Promise<void> {
  const [brokers, topic, countArg] = process.argv.slice(2);
  const count = Number(countArg);
  const routes = new TopicRoutes([{ name: 'raw', topics: [topic] } as never]);
  const source = new NativeSource({ brokers, groupId: `raw-native-${topic}-${Date.now()}`, config: {}, ...DEFAULT_GROUP_SETTINGS, dr: null, cluster: 'primary' }, routes, {
    assigned: (parts, assign) => {
      parts.forEach((p) => routes.route(p.topic));
      assign(null);
    },
    revoked: (_parts, release) => release(),
    error: (err) => process.stderr.write(`${err.message}\n`),
  });
  const ring = new SharedArrayBuffer(64 << 20);
  source.handle.attachRing(new Uint8Array(ring));
  await source.connect(30_000);
  source.subscribe([topic]);
  const out = new Float64Array(OUT_PART0 + 3 * FILL_REPORT_PARTITIONS);
  let pos = DATA_START;
  let seen = 0;
  let first = 0n;
  let fills = 0;
  while (seen < count) {
    await source.fill(pos, ring.byteLength, 5000, 100, out);
    source.dispatchEvents(out);
    fills++;
    if (out[OUT_FRAMES] > 0 && first === 0n) first = process.hrtime.bigint();
    seen += out[OUT_FRAMES];
    pos = out[OUT_STATUS] === FILL_FULL ? DATA_START : out[OUT_HEAD];
  }
  const seconds = Number(process.hrtime.bigint() - first) / 1e9;
  console.log(JSON.stringify({ records: seen, drainSeconds: seconds, fills }));
  await source.disconnect();
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
