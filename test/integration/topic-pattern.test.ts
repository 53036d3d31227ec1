import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { BROKERS, DATABASE_URL, runCli, sql, unique } from '../helpers/env';

const json = (topic: string) => (i: number) => Buffer.from(JSON.stringify({ id: i, topic }));

test('topicPattern pipelines at run time: each matching topic goes to its pipeline, a topic the whole-name match refuses is not read', async () => {
  const p = unique('pat');
  const topics = { a1: `${p}_a_1`, a2: `${p}_a_2`, b1: `${p}_b_1`, prefixed: `x${p}_a_3`, suffixed: `${p}_a_4x` };
  const tables = { a: unique('pat_a'), b: unique('pat_b') };
  const counts: Record<string, number> = { a1: 300, a2: 200, b1: 100, prefixed: 50, suffixed: 40 };
  for (const [k, topic] of Object.entries(topics)) {
    await createTopic(topic, 2);
    await produce(topic, counts[k], json(topic), { partitions: 2 });
  }
  for (const t of Object.values(tables)) await sql(`CREATE TABLE ${t} (id bigint NOT NULL, topic text NOT NULL)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-pattern-'));
  const config = path.join(dir, 'config.yaml');
  // Unanchored, `_a_[0-9]` would also match x…_a_3 and …_a_4x: the pattern is a whole-name match.
  writeFileSync(
    config,
    `kafka: { brokers: "${BROKERS}", groupId: ${unique('pat')} }
postgres: { url: "${DATABASE_URL}", connections: 1 }
engine: { workers: 1, ringBytes: 8MiB }
pipelines:
  - name: a
    topicPattern: "${p}_a_[0-9]"
    format: json
    table: ${tables.a}
  - name: b
    topicPattern: "^${p}_b_.*$"
    format: json
    table: ${tables.b}
`,
  );
  const run = await runCli(['start', config, '--until-caught-up'], { timeoutMs: 90_000 });
  assert.equal(run.code, 0, run.stderr);
  const byTopic = async (table: string) =>
    Object.fromEntries((await sql<{ topic: string; n: string }>(`SELECT topic, count(DISTINCT id) AS n FROM ${table} GROUP BY topic ORDER BY topic`)).map((r) => [r.topic, Number(r.n)]));
  assert.deepEqual(await byTopic(tables.a), { [topics.a1]: counts.a1, [topics.a2]: counts.a2 });
  assert.deepEqual(await byTopic(tables.b), { [topics.b1]: counts.b1 });
  assert.doesNotMatch(run.stderr, new RegExp(`assigned[^\\n]*(x${p}_a_3|${p}_a_4x)`), 'topics outside the whole-name match are not assigned');
  for (const t of Object.values(tables)) await sql(`DROP TABLE ${t}`);
  for (const topic of Object.values(topics)) await deleteTopic(topic);
});
