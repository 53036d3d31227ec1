// Replication lag per mirrored partition (scripts/dr.sh status): for each topic `<alias>.<name>` on one
// cluster whose source `<name>` is on the other, the source's and the mirror's end offsets and their
// difference. Offsets do not correspond one to one across clusters (MM2 translates them); equal counts of
// records (end - start) are what "caught up" means, so both are printed.
'use strict';
const Kafka = require('node-rdkafka');
const [primary, dr, primaryAlias, drAlias] = process.argv.slice(2);

function client(brokers) {
  const p = new Kafka.Producer({ 'metadata.broker.list': brokers, log_level: 0 });
  return new Promise((resolve, reject) => p.connect({ timeout: 5000 }, (err) => (err ? reject(new Error(`${brokers}: ${err.message}`)) : resolve(p))));
}
const metadata = (c) => new Promise((resolve, reject) => c.getMetadata({ timeout: 5000 }, (e, md) => (e ? reject(e) : resolve(md))));
const marks = (c, topic, p) => new Promise((resolve, reject) => c.queryWatermarkOffsets(topic, p, 5000, (e, o) => (e ? reject(e) : resolve(o))));

(async () => {
  const clusters = { [primaryAlias]: await client(primary), [drAlias]: await client(dr) };
  const rows = [];
  for (const [alias, other] of [[primaryAlias, drAlias], [drAlias, primaryAlias]]) {
    const target = clusters[other];
    const source = clusters[alias];
    const sourceTopics = new Map((await metadata(source)).topics.map((t) => [t.name, t.partitions.length]));
    for (const t of (await metadata(target)).topics) {
      if (!t.name.startsWith(`${alias}.`) || t.name.endsWith('.internal')) continue;
      const name = t.name.slice(alias.length + 1);
      if (!sourceTopics.has(name)) continue;
      for (let p = 0; p < sourceTopics.get(name); p++) {
        const s = await marks(source, name, p);
        const m = await marks(target, t.name, p).catch(() => ({ lowOffset: -1, highOffset: -1 }));
        rows.push(`${alias}:${name}[${p}] end ${s.highOffset} (${s.highOffset - s.lowOffset} records) -> ${other}:${t.name}[${p}] end ${m.highOffset} (${m.highOffset - m.lowOffset} records), lag ${s.highOffset - s.lowOffset - (m.highOffset - m.lowOffset)}`);
      }
    }
  }
  console.log(rows.length ? rows.join('\n') : 'dr: no mirrored topics yet');
  await Promise.all(Object.values(clusters).map((c) => new Promise((r) => c.disconnect(r))));
})().catch((err) => {
  console.error(`dr: ${err.message}`);
  process.exit(1);
});
