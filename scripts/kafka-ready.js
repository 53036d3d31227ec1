// Exits 0 once the broker at argv[2] answers a metadata request within argv[3] ms.
'use strict';
const Kafka = require('node-rdkafka');
const [brokers, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg || 5000);
const admin = new Kafka.Producer({ 'metadata.broker.list': brokers, 'log_level': 0 });
const fail = (err) => { console.error(`kafka-ready: ${brokers}: ${err && err.message ? err.message : err}`); process.exit(1); };
const timer = setTimeout(() => fail('timeout'), timeout + 1000);
admin.connect({ timeout }, (err) => {
  if (err) return fail(err);
  admin.getMetadata({ timeout }, (e, md) => {
    clearTimeout(timer);
    if (e || !md || md.brokers.length === 0) return fail(e || 'no brokers in metadata');
    admin.disconnect(() => process.exit(0));
  });
});
