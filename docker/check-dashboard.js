#!/usr/bin/env node
// Offline check of the Grafana dashboard: every engine metric (kpe_*) that a panel queries must exist in a
// live scrape of the engine (read on stdin). Histograms count with their _bucket, _sum and _count series.
//   node docker/check-dashboard.js docker/grafana/dashboards/kafka-pg-engine.json < scrape.txt
'use strict';
const fs = require('node:fs');

const dashboard = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const scrape = fs.readFileSync(0, 'utf8');

const exposed = new Set();
for (const line of scrape.split('\n')) {
  const m = /^# TYPE (\S+) (\S+)/.exec(line);
  if (!m) continue;
  exposed.add(m[1]);
  if (m[2] === 'histogram' || m[2] === 'summary') for (const s of ['_bucket', '_sum', '_count']) exposed.add(m[1] + s);
}
if (exposed.size === 0) {
  console.error('check-dashboard: the scrape holds no metrics');
  process.exit(1);
}

const queried = new Map();
for (const panel of dashboard.panels ?? []) {
  for (const target of panel.targets ?? []) {
    for (const name of String(target.expr ?? '').match(/\bkpe_[a-z0-9_]+/g) ?? []) queried.set(name, panel.title);
  }
}
const missing = [...queried].filter(([name]) => !exposed.has(name));
for (const [name, title] of missing) console.error(`check-dashboard: panel "${title}" queries ${name}, which the engine does not expose`);
if (missing.length > 0 || queried.size === 0) process.exit(1);
console.log(`check-dashboard: all ${queried.size} engine metrics the dashboard queries are exposed`);
