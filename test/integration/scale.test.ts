import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { addPartitions, createTopic, deleteTopic, produce } from '../../bench/lib/kafka-tools';
import { freePort } from '../../bench/lib/scenario';
import { startEngine as startWith } from '../helpers/engine-process';
import { BROKERS, DATABASE_URL, committedOffsets, endOffsets, sql, unique, writeConfig } from '../helpers/env';

/**
 * [Scale] A group that grows: partitions added to a live topic, a new topic matching a pattern, members
 * that join and leave under load with each group protocol, a static member restarted. Records are JSON
 * {id}; tables keep the partition, and the time each row's batch committed (now() of its transaction).
 */

/** JSON log lines: the rebalance checks read their times. */
const startEngine = (file: string) => startWith(file, { ENGINE_LOG_FORMAT: 'json' });

const json = (base: number) => (i: number) => Buffer.from(JSON.stringify({ id: base + i }));

async function createTable(table: string): Promise<void> {
  // written_at: when the row's batch was written (clock_timestamp(): COPY runs just before its commit).
  await sql(`CREATE TABLE ${table} (id bigint NOT NULL, kafka_partition int NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
}

function config(o: { group: string; table: string; pipeline: string; kafka?: string; delivery?: string }): string {
  return writeConfig(`kafka:
  brokers: ${BROKERS}
  groupId: ${o.group}
${o.kafka ?? ''}
postgres: { url: "${DATABASE_URL}", connections: 1 }
engine: { workers: 1, ringBytes: 4MiB, delivery: ${o.delivery ?? 'exactly-once'} }
pipelines:
  - name: p
    ${o.pipeline}
    format: json
    table: ${o.table}
    batch: { maxRows: 500, maxWaitMs: 20 }
    columns: { id: id, kafka_partition: $partition }
`);
}

/** Rows and distinct ids, leaving out the probes of settledAtEnd. */
async function counts(table: string): Promise<{ rows: number; ids: number }> {
  const [r] = await sql<{ rows: string; ids: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM ${table} WHERE id < ${PROBE}`);
  return { rows: Number(r.rows), ids: Number(r.ids) };
}

const PROBE = 900_000_000;

/**
 * With auto.offset.reset latest a group's first start reads from the end as it is when librdkafka looks it
 * up, a moment after the assignment: a probe record per partition, again until each landed, says it has.
 */
async function settledAtEnd(engine: ReturnType<typeof startEngine>, topic: string, partitions: number, table: string): Promise<void> {
  let k = 0;
  await engine.waitFor(`a probe record to land in each of ${topic}'s partitions`, async () => {
    const landed = new Set((await sql<{ p: number }>(`SELECT DISTINCT kafka_partition AS p FROM ${table} WHERE id >= ${PROBE}`)).map((r) => r.p));
    if (landed.size === partitions) return true;
    for (let p = 0; p < partitions; p++) if (!landed.has(p)) await produce(topic, 1, () => Buffer.from(JSON.stringify({ id: PROBE + k++ })), { partitions, partition: () => p });
    return null;
  }, 60_000);
}

const rowsReach = (table: string, n: number) => async () => ((await counts(table)).ids >= n ? true : null);

for (const delivery of ['exactly-once', 'at-least-once']) {
  test(`partitions added to a live topic (${delivery}, auto.offset.reset latest): every record of the new partitions lands once, also those produced before the engine saw them`, async () => {
    const topic = unique('grow');
    const table = unique('grow');
    const group = unique('grow');
    await createTopic(topic, 3);
    await createTable(table);
    const engine = startEngine(config({ group, table, pipeline: `topics: [${topic}]`, delivery, kafka: '  config: { auto.offset.reset: latest }' }));
    await engine.waitFor('the engine to own the 3 partitions', () => Promise.resolve(/assigned[^\n]*\[2\]/.test(engine.log()) || null), 60_000);
    await settledAtEnd(engine, topic, 3, table);
    await produce(topic, 3_000, json(0), { partitions: 3 });
    await engine.waitFor('3000 rows', rowsReach(table, 3_000), 60_000);
    // Grown, and records into all 9 partitions at once, before the engine's next metadata refresh.
    await addPartitions(topic, 9);
    await produce(topic, 9_000, json(100_000), { partitions: 9 });
    await engine.waitFor('12000 rows', rowsReach(table, 12_000), 90_000);
    await engine.waitFor('commits at the end of all 9 partitions', async () => {
      const [c, e] = [await committedOffsets(group, topic, 9), await endOffsets(topic, 9)];
      return c.every((o, i) => o === e[i]) ? true : null;
    }, 30_000);
    const run = await engine.stop();
    assert.equal(run.code, 0, engine.log());
    assert.deepEqual(await counts(table), { rows: 12_000, ids: 12_000 }, engine.log());
    const [added] = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE kafka_partition >= 3 AND id < ${PROBE}`);
    assert.equal(Number(added.n), 6_000, 'the 6 new partitions: 1000 records each');
    await sql(`DROP TABLE ${table}`);
    await deleteTopic(topic);
  });
}

test('a new topic matching a topicPattern is consumed without a restart, from its first record (auto.offset.reset latest)', async () => {
  const p = unique('newtopic');
  const table = unique('newtopic');
  await createTopic(`${p}_1`, 2);
  await createTable(table);
  const engine = startEngine(config({ group: unique('newtopic'), table, pipeline: `topicPattern: "${p}_[0-9]+"`, kafka: '  config: { auto.offset.reset: latest }' }));
  await engine.waitFor(`${p}_1 claimed`, () => Promise.resolve(new RegExp(`"msg":"claimed[^"]*${p}_1\\[1\\]`).test(engine.log()) || null), 60_000);
  await produce(`${p}_1`, 1_000, json(0), { partitions: 2 });
  await engine.waitFor('1000 rows', rowsReach(table, 1_000), 60_000);
  await createTopic(`${p}_2`, 3);
  await produce(`${p}_2`, 3_000, json(10_000), { partitions: 3 });
  await engine.waitFor('4000 rows', rowsReach(table, 4_000), 90_000);
  const run = await engine.stop();
  assert.equal(run.code, 0, engine.log());
  assert.deepEqual(await counts(table), { rows: 4_000, ids: 4_000 });
  const [second] = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE id >= 10000 AND id < ${PROBE}`);
  assert.equal(Number(second.n), 3_000, `every record of ${p}_2`);
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(`${p}_1`);
  await deleteTopic(`${p}_2`);
});

/** "revoked a[0], a[3]" and "assigned …" lines of an engine's log, in order, as partition lists. */
function rebalances(log: string): Array<{ kind: 'assigned' | 'revoked'; parts: string[] }> {
  const out: Array<{ kind: 'assigned' | 'revoked'; parts: string[] }> = [];
  for (const m of log.matchAll(/"msg":"(assigned|revoked) ([^"]*)"/g)) {
    out.push({ kind: m[1] as 'assigned' | 'revoked', parts: m[2] === 'no partitions' ? [] : m[2].split(', ') });
  }
  return out;
}

const PARTITIONS = 6;

/** Produces 2000 records every ~200 ms until stopped (load during the rebalances); resolves with the count. */
function steadyProducer(topic: string): { stop: () => Promise<number> } {
  let stopped = false;
  let sent = 0;
  const loop = (async () => {
    while (!stopped) {
      await produce(topic, 2_000, json(sent), { partitions: PARTITIONS });
      sent += 2_000;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return sent;
  })();
  return {
    stop: () => {
      stopped = true;
      return loop;
    },
  };
}

for (const [protocol, kafka] of [
  ['classic, cooperative-sticky', '  groupProtocol: classic\n  assignmentStrategy: cooperative-sticky\n  config: { heartbeat.interval.ms: 500 }'],
  ['consumer (KIP-848)', '  groupProtocol: consumer'],
] as const) {
  test(`a second and third engine join and leave under load (${protocol}): exact rows; the partitions that do not move are never revoked and keep committing`, async () => {
    const topic = unique('join');
    const table = unique('join');
    const group = unique('join');
    await createTopic(topic, PARTITIONS);
    await createTable(table);
    const file = config({ group, table, pipeline: `topics: [${topic}]`, kafka });
    const first = startEngine(file);
    await first.waitFor('the first engine to own partitions', () => Promise.resolve(/"msg":"claimed/.test(first.log()) || null), 60_000);
    const producer = steadyProducer(topic);
    await first.waitFor('5000 rows', rowsReach(table, 5_000), 60_000);
    const second = startEngine(file);
    await second.waitFor('the second engine to own partitions', () => Promise.resolve(/"msg":"claimed/.test(second.log()) || null), 60_000);
    const third = startEngine(file);
    await third.waitFor('the third engine to own partitions', () => Promise.resolve(/"msg":"claimed/.test(third.log()) || null), 60_000);
    const joined = (await counts(table)).ids;
    await first.waitFor(`${joined + 10_000} rows`, rowsReach(table, joined + 10_000), 60_000);
    const [b, c] = [await second.stop(), await third.stop()];
    assert.equal(b.code, 0, second.log());
    assert.equal(c.code, 0, third.log());
    const n = await producer.stop();
    await first.waitFor(`${n} rows`, rowsReach(table, n), 120_000);
    const a = await first.stop();
    assert.equal(a.code, 0, first.log());
    assert.deepEqual(await counts(table), { rows: n, ids: n }, 'every record exactly once');
    assert.deepEqual(await committedOffsets(group, topic, PARTITIONS), await endOffsets(topic, PARTITIONS));

    // Incremental rebalancing: the first engine gives up only what moves; what it keeps is never revoked
    // (an eager strategy revokes everything, then assigns most of it again).
    const events = rebalances(first.log());
    const held = new Set<string>();
    for (const e of events) {
      if (e.kind === 'assigned') {
        for (const p of e.parts) {
          assert.ok(!held.has(p), `${p} assigned again while held: an eager rebalance?\n${first.log()}`);
          held.add(p);
        }
      } else for (const p of e.parts) held.delete(p);
    }
    const revokes = events.filter((e) => e.kind === 'revoked' && e.parts.length > 0);
    assert.ok(revokes.length > 0 && revokes.every((e) => e.parts.length < PARTITIONS), `partial revokes only: ${JSON.stringify(revokes)}`);
    // From the commit times: while the third engine joined (from its start to its claim), the first engine's
    // partitions that did not move committed batches.
    const window = joinWindow(third.log());
    const kept = keptThrough(first.log(), window);
    assert.ok(kept.length > 0, `the first engine kept partitions through the third's join\n${first.log()}`);
    const [during] = await sql<{ n: string }>(
      `SELECT count(*) AS n FROM ${table} WHERE written_at > to_timestamp($1 / 1000.0) AND written_at < to_timestamp($2 / 1000.0) AND kafka_partition = ANY($3::int[])`,
      [window.from, window.to, kept.map((p) => Number(/\[(\d+)\]$/.exec(p)![1]))],
    );
    assert.ok(Number(during.n) > 0, `rows of the kept partitions ${kept.join(', ')} committed between ${window.from} and ${window.to}`);
    await sql(`DROP TABLE ${table}`);
    await deleteTopic(topic);
  });
}

/** From an engine's first log line to its first claim (ms since the epoch). */
function joinWindow(log: string): { from: number; to: number } {
  const times = [...log.matchAll(/"time":(\d+)[^\n]*"msg":"(claimed|[^"]*)/g)];
  const from = Number(times[0][1]);
  const claim = times.find((m) => m[2] === 'claimed');
  assert.ok(claim, log);
  return { from, to: Number(claim[1]) };
}

/** Partitions the engine held from before `window` until after it. */
function keptThrough(log: string, window: { from: number; to: number }): string[] {
  const held = new Set<string>();
  let at: Set<string> | null = null;
  for (const m of log.matchAll(/"time":(\d+)[^\n]*"msg":"(assigned|revoked) ([^"]*)"/g)) {
    const time = Number(m[1]);
    if (at === null && time >= window.from) at = new Set(held);
    if (time > window.to) break;
    const parts = m[3] === 'no partitions' ? [] : m[3].split(', ');
    for (const p of parts) {
      if (m[2] === 'assigned') held.add(p);
      else held.delete(p);
    }
  }
  at ??= new Set(held);
  return [...at].filter((p) => held.has(p));
}

test('static membership: an engine restarted within the session timeout moves no partition (the other member sees no rebalance)', async () => {
  const topic = unique('static');
  const table = unique('static');
  const group = unique('static');
  await createTopic(topic, 4);
  await createTable(table);
  const file = (id: string) => config({ group, table, pipeline: `topics: [${topic}]`, kafka: `  instanceId: ${id}\n  config: { session.timeout.ms: 30000 }` });
  const a = startEngine(file('engine-a'));
  await a.waitFor('engine a to own partitions', () => Promise.resolve(/"msg":"claimed/.test(a.log()) || null), 60_000);
  const b = startEngine(file('engine-b'));
  await b.waitFor('engine b to own partitions', () => Promise.resolve(/"msg":"claimed/.test(b.log()) || null), 60_000);
  await produce(topic, 2_000, json(0), { partitions: 4 });
  await a.waitFor('2000 rows', rowsReach(table, 2_000), 60_000);
  // b joined second: a leads the group. b restarts; a must not notice.
  const before = rebalances(a.log()).length;
  const ownedByB = held(b.log());
  const stopped = await b.stop();
  assert.equal(stopped.code, 0, b.log());
  const again = startEngine(file('engine-b'));
  await again.waitFor('engine b to own its partitions again', () => Promise.resolve(/"msg":"claimed/.test(again.log()) || null), 60_000);
  await produce(topic, 2_000, json(10_000), { partitions: 4 });
  await again.waitFor('4000 rows', rowsReach(table, 4_000), 60_000);
  assert.deepEqual([...held(again.log())].sort(), [...ownedByB].sort(), 'the restarted member got its own partitions back');
  assert.equal(rebalances(a.log()).length, before, `engine a saw no rebalance\n${a.log()}`);
  const [x, y] = [await again.stop(), await a.stop()];
  assert.equal(x.code, 0, again.log());
  assert.equal(y.code, 0, a.log());
  assert.deepEqual(await counts(table), { rows: 4_000, ids: 4_000 });
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});

/** The partitions an engine holds at the end of its log. */
function held(log: string): Set<string> {
  const out = new Set<string>();
  for (const e of rebalances(log)) {
    for (const p of e.parts) {
      if (e.kind === 'assigned') out.add(p);
      else out.delete(p);
    }
  }
  return out;
}

for (const protocol of ['classic', 'consumer']) {
  test(`two running engines with one kafka.instanceId (${protocol} protocol): the broker fences one, which stops naming kafka.instanceId`, async () => {
    const topic = unique('sameid');
    const table = unique('sameid');
    await createTopic(topic, 2);
    await createTable(table);
    const file = config({ group: unique('sameid'), table, pipeline: `topics: [${topic}]`, kafka: `  groupProtocol: ${protocol}\n  instanceId: same-id` });
    const a = startEngine(file);
    await a.waitFor('the first engine to own partitions', () => Promise.resolve(/"msg":"claimed/.test(a.log()) || null), 60_000);
    const b = startEngine(file);
    // classic: the newcomer takes the id over and the first is fenced; consumer (KIP-848): the newcomer is refused.
    const fenced = await Promise.race([a.done.then(() => a), b.done.then(() => b)]);
    const run = await fenced.done;
    assert.equal(run.code, 1, fenced.log());
    assert.match(fenced.log(), /ENG_KAFKA_CONSUME: .*uses the same kafka\.instanceId/);
    assert.ok(run.stderr.length > 0);
    const other = fenced === a ? b : a;
    const stopped = await other.stop();
    assert.equal(stopped.code, 0, other.log());
    await sql(`DROP TABLE ${table}`);
    await deleteTopic(topic);
  });
}

test('more engines than partitions: the one the group gives nothing is ready, and /readyz says it stands by', async () => {
  const topic = unique('idle');
  const table = unique('idle');
  const group = unique('idle');
  await createTopic(topic, 1);
  await createTable(table);
  const [portA, portB] = [await freePort(), await freePort()];
  const withMetrics = (port: number) => writeConfig(readFileSync(config({ group, table, pipeline: `topics: [${topic}]` }), 'utf8') + `metrics: { port: ${port}, host: 127.0.0.1 }\n`);
  const a = startEngine(withMetrics(portA));
  await a.waitFor('the first engine to own the partition', () => Promise.resolve(/"msg":"claimed/.test(a.log()) || null), 60_000);
  const b = startEngine(withMetrics(portB));
  const ready = await b.waitFor('the second engine to be ready', async () => {
    const res = await fetch(`http://127.0.0.1:${portB}/readyz`).catch(() => null);
    return res?.status === 200 ? ((await res.json()) as { checks: Record<string, { ok: boolean; detail: string }> }) : null;
  }, 60_000);
  assert.match(ready.checks.assignment.detail, /no partitions: the group has more members than the topics have partitions/);
  const metrics = await (await fetch(`http://127.0.0.1:${portB}/metrics`)).text();
  assert.match(metrics, /^kpe_assigned_partitions 0$/m);
  assert.match(metrics, /^kpe_ready\{check="assignment"\} 1$/m);
  const [x, y] = [await b.stop(), await a.stop()];
  assert.equal(x.code, 0, b.log());
  assert.equal(y.code, 0, a.log());
  await sql(`DROP TABLE ${table}`);
  await deleteTopic(topic);
});
