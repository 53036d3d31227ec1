import os from 'node:os';
import type { Client } from 'pg';
import { ActiveCluster } from '../commit/active-cluster';
import { OffsetsTable, type StoredPartition } from '../commit/offsets-table';
import type { RecordMark } from '../commit/record-marks';
import type { ClusterName, DrConfig, EngineConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { connectPg } from '../sink/pg-connection';
import { aliasOf, clusterView, otherCluster, positionsGroup, streamOf, streamTopic } from '../source/clusters';
import { ClusterReader, createTopic } from '../source/mirror';
import type { Checkpoint } from '../source/mm2-checkpoints';

/**
 * [DR] `engine failover --to dr|primary`: moves a group's positions to the other Kafka cluster and makes it
 * the active one, in one PostgreSQL transaction that first locks the group's active-cluster row (so no
 * batch of the old cluster commits meanwhile, active-cluster.ts) and ends by fencing every position of the
 * old cluster.
 *
 * Per partition of each stream (clusters.ts), exactly-once translates what the offsets table holds:
 *   1. where to start looking on the target: MM2's checkpoint of the group (conservative: at or before
 *      the record the group had reached) when the target holds a mirror; for a topic that is the target's
 *      own (failback), the target's earlier position less the records it was missing then;
 *   2. search forward from there to the end for the marks (record-marks.ts) of the last record of the
 *      finished prefix and of any finished range above it; resume right after the last copy found (MM2
 *      may have mirrored a span twice);
 *   3. not found: the target never received that record (MM2 lagged when the source died): resume at the
 *      target's end, report how many records were written that the target lacks (from the checkpoint's
 *      pair of offsets), and mark as finished that many offsets past the end, in case MM2 delivers them
 *      later.
 * Target partitions with no translated position keep theirs, or start at their beginning (a topic
 * producers began writing to on the target before the failover is read whole).
 *
 * At-least-once keeps no positions in PostgreSQL: the group resumes where Kafka says on the target
 * (MM2's synced offsets, or the checkpoints committed here) and the report names the re-read window.
 */

export interface PartitionMove {
  /** The topic as configured, and the cluster its records were first written to. */
  topic: string;
  origin: ClusterName;
  partition: number;
  from: { topic: string; resume: number; lastMark: number | null };
  to: { topic: string; resume: number; searchedFrom: number; found: boolean };
  /** Records finished on the source that the target never received (an estimate from the checkpoint; -1 unknown). */
  lost: number;
}

export interface FailoverReport {
  group: string;
  from: ClusterName;
  to: ClusterName;
  delivery: EngineConfig['engine']['delivery'];
  moves: PartitionMove[];
  /** Target partitions that start at their beginning (no position anywhere). */
  started: Array<{ topic: string; partition: number; offset: number }>;
  createdTopics: string[];
  lost: number;
  seconds: number;
  already?: boolean;
}

/** Whether the cluster a view reads answers a new connection within 5 s. */
export async function clusterAnswers(view: EngineConfig): Promise<boolean> {
  try {
    await (await ClusterReader.open(view, 5_000)).close();
    return true;
  } catch {
    return false;
  }
}

/** The cluster the group reads now (the primary when nothing is stored). */
export async function activeCluster(config: EngineConfig): Promise<ClusterName> {
  if (config.kafka.dr === null) return 'primary';
  const client = await connectForFailover(config);
  try {
    return (await new ActiveCluster(config.engine.offsetsTable, config.kafka.groupId).ensure(client)).cluster;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function failover(config: EngineConfig, to: ClusterName): Promise<FailoverReport> {
  const dr = config.kafka.dr;
  if (dr === null) throw new EngineError(ErrorCodes.CONFIG_INVALID, 'kafka.dr is not configured: there is no other cluster to fail over to');
  const started = Date.now();
  const owner = `${os.hostname()}:${process.pid} failover`;
  const active = new ActiveCluster(config.engine.offsetsTable, config.kafka.groupId);
  const client = await connectForFailover(config);
  try {
    if (config.engine.delivery === 'exactly-once') await new OffsetsTable(config.engine.offsetsTable, config.kafka.groupId, owner).ensure(client);
    await active.ensure(client);
    await client.query('BEGIN');
    const now = await active.read(client, 'FOR UPDATE');
    const report: FailoverReport = { group: config.kafka.groupId, from: now.cluster, to, delivery: config.engine.delivery, moves: [], started: [], createdTopics: [], lost: 0, seconds: 0 };
    if (now.cluster === to) {
      await client.query('ROLLBACK');
      return { ...report, already: true };
    }
    const fromTable = new OffsetsTable(config.engine.offsetsTable, positionsGroup(config, now.cluster), owner);
    const toTable = new OffsetsTable(config.engine.offsetsTable, positionsGroup(config, to), owner);
    const toView = clusterView(config, to);
    const target = await ClusterReader.open(toView);
    try {
      const stored = config.engine.delivery === 'exactly-once' ? await fromTable.read(client) : [];
      const storedTarget = config.engine.delivery === 'exactly-once' ? await toTable.read(client) : [];
      const previous = (now.report as FailoverReport | null)?.moves ?? [];
      const move: Move = { config, dr, from: now.cluster, to, target, toView, report };
      if (config.engine.delivery === 'exactly-once') {
        const plan = await planMoves(move, stored, storedTarget, previous);
        await fromTable.fenceAll(client);
        await toTable.place(client, plan);
      } else {
        target.commit(await planAtLeastOnce(move));
      }
      report.lost = report.moves.reduce((n, m) => n + Math.max(0, m.lost), 0);
      report.seconds = (Date.now() - started) / 1000;
      await active.switchTo(client, to, owner, report);
      await client.query('COMMIT');
      return report;
    } finally {
      await target.close();
    }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

type Placement = { topic: string; partition: number; done: Array<[number, number]>; marks: RecordMark[] };

/** One failover: the group's config, the two clusters, the target's reader and view, the report it fills. */
interface Move {
  config: EngineConfig;
  dr: DrConfig;
  from: ClusterName;
  to: ClusterName;
  target: ClusterReader;
  toView: EngineConfig;
  report: FailoverReport;
}

function noMirror(m: Move, mirror: string, of: string): EngineError {
  const alias = m.from === 'primary' ? 'primaryAlias' : 'drAlias';
  return new EngineError(ErrorCodes.FAILOVER, `the ${m.to} cluster (${m.target.brokers}) has no topic ${mirror}, the mirror of ${of} (kafka.dr.${alias} ${aliasOf(m.dr, m.from)}, replicationPolicy ${m.dr.replicationPolicy}): is MirrorMaker 2 replicating it under that name? Nothing moved`);
}

/** The group's checkpoints on the target, refusing a mirror that has none. */
function checkpointsOf(m: Move, all: Map<string, Checkpoint> | null, checkpointTopic: string, mirror: string): Map<string, Checkpoint> {
  if (all === null || ![...all.keys()].some((k) => k.startsWith(`${mirror}:`))) {
    throw new EngineError(ErrorCodes.FAILOVER, `the ${m.to} cluster (${m.target.brokers}) holds no MM2 checkpoint of group ${m.config.kafka.groupId} for ${mirror} (${checkpointTopic}${all === null ? ' does not exist' : ''}): is MirrorMaker 2 checkpointing the group (groups filter, emit.checkpoints.enabled)? Nothing moved`);
  }
  return all;
}

/** The target's positions (exactly-once), filling report.moves / started / createdTopics. */
async function planMoves(m: Move, stored: StoredPartition[], storedTarget: StoredPartition[], previous: PartitionMove[]): Promise<Placement[]> {
  const { config, dr, from, to, target, toView, report } = m;
  const topics = await target.topics();
  const logical = new Set<string>();
  for (const p of config.pipelines) for (const t of p.topics ?? []) logical.add(t);
  for (const s of stored) logical.add(streamOf(dr, s.topic, from).topic);
  // MM2 checkpoints what it mirrors from the source into the target: `<sourceAlias>.checkpoints.internal`.
  const checkpointTopic = `${aliasOf(dr, from)}.checkpoints.internal`;
  const checkpoints = await target.checkpoints(checkpointTopic, config.kafka.groupId);
  const out: Placement[] = [];
  const seen = new Set<string>();
  for (const topic of [...logical].sort()) {
    for (const origin of ['primary', 'dr'] as const) {
      const fromTopic = streamTopic(dr, topic, origin, from);
      const toTopic = streamTopic(dr, topic, origin, to);
      if (seen.has(toTopic)) continue;
      seen.add(toTopic);
      const rows = stored.filter((s) => s.topic === fromTopic);
      const mirror = origin !== to;
      let partitions = topics.get(toTopic);
      if (partitions === undefined) {
        if (mirror && rows.length > 0) throw noMirror(m, toTopic, fromTopic);
        if (mirror) continue;
        // The topic producers write to after they fail over: as many partitions as its mirror.
        partitions = topics.get(streamTopic(dr, topic, otherCluster(to), to)) ?? Math.max(1, ...rows.map((r) => r.partition + 1));
        await createTopic(toView, toTopic, partitions);
        await target.awaitTopic(toTopic, partitions);
        report.createdTopics.push(toTopic);
      }
      if (mirror && rows.length > 0) checkpointsOf(m, checkpoints, checkpointTopic, toTopic);
      for (let partition = 0; partition < partitions; partition++) {
        const row = rows.find((r) => r.partition === partition) ?? null;
        const mine = storedTarget.find((s) => s.topic === toTopic && s.partition === partition) ?? null;
        const ends = await target.ends(toTopic, partition);
        if (row === null) {
          if (mine === null) {
            out.push({ topic: toTopic, partition, done: [[-Infinity, ends.low]], marks: [] });
            report.started.push({ topic: toTopic, partition, offset: ends.low });
          }
          continue;
        }
        const cp = checkpoints?.get(`${toTopic}:${partition}`) ?? null;
        const earlier = previous.find((m) => m.to.topic === fromTopic && m.partition === partition);
        const searchedFrom = mirror ? mirrorSearchStart(row, cp, ends.low) : Math.max(ends.low, mine ? mine.resume - 1 - Math.max(0, earlier?.lost ?? 0) : ends.low);
        const placed = await translate(target, toTopic, partition, row, Math.max(searchedFrom, ends.low), ends.high, cp);
        out.push({ topic: toTopic, partition, done: placed.done, marks: placed.marks });
        report.moves.push({
          topic,
          origin,
          partition,
          from: { topic: fromTopic, resume: row.resume, lastMark: placed.lastMark },
          to: { topic: toTopic, resume: placed.done[0][1], searchedFrom, found: placed.found },
          lost: placed.lost,
        });
      }
    }
  }
  return out;
}

/**
 * At-least-once: the group's offsets on the target are MM2's checkpoints (the target's own topics: their
 * start, unless the group committed there before). The re-read window per partition is what the engine
 * wrote after the checkpointed commit, plus up to offset.lag.max records of MM2's conservative translation.
 */
async function planAtLeastOnce(m: Move): Promise<Array<{ topic: string; partition: number; offset: number }>> {
  const { config, dr, from, to, target, toView, report } = m;
  const topics = await target.topics();
  const checkpointTopic = `${aliasOf(dr, from)}.checkpoints.internal`;
  const checkpoints = await target.checkpoints(checkpointTopic, config.kafka.groupId);
  const commits: Array<{ topic: string; partition: number; offset: number }> = [];
  const logical = [...new Set(config.pipelines.flatMap((p) => p.topics ?? []))].sort();
  for (const topic of logical) {
    const mirrorTopic = streamTopic(dr, topic, from, to);
    const partitions = topics.get(mirrorTopic);
    if (partitions === undefined) throw noMirror(m, mirrorTopic, topic);
    const known = checkpointsOf(m, checkpoints, checkpointTopic, mirrorTopic);
    for (let partition = 0; partition < partitions; partition++) {
      const cp = known.get(`${mirrorTopic}:${partition}`) ?? null;
      const ends = await target.ends(mirrorTopic, partition);
      const resume = cp?.downstreamOffset ?? ends.low;
      commits.push({ topic: mirrorTopic, partition, offset: resume });
      const fromTopic = streamTopic(dr, topic, from, from);
      report.moves.push({ topic, origin: from, partition, from: { topic: fromTopic, resume: cp?.upstreamOffset ?? -1, lastMark: null }, to: { topic: mirrorTopic, resume, searchedFrom: resume, found: false }, lost: -1 });
    }
    const local = streamTopic(dr, topic, to, to);
    let localPartitions = topics.get(local);
    if (localPartitions === undefined) {
      localPartitions = partitions;
      await createTopic(toView, local, partitions);
      await target.awaitTopic(local, partitions);
      report.createdTopics.push(local);
    }
    const parts = Array.from({ length: localPartitions }, (_, partition) => ({ topic: local, partition }));
    const committed = await target.committed(parts);
    for (const [i, part] of parts.entries()) {
      if (committed[i] >= 0) continue;
      const { low } = await target.ends(part.topic, part.partition);
      commits.push({ ...part, offset: low });
      report.started.push({ ...part, offset: low });
    }
  }
  return commits;
}

/**
 * Where a search of a mirror starts. MM2 translates conservatively: a checkpoint (U upstream, D downstream)
 * puts the copy of any record o at or after o + D − U. So: one before D (a checkpoint of an exact sync names
 * the next record), and no later than where the newest older mark below U can be: when the last written
 * record never arrived, that mark's copy lines the offsets up (records are mirrored one for one).
 */
function mirrorSearchStart(row: StoredPartition, cp: Checkpoint | null, low: number): number {
  if (cp === null) return low;
  const prefix = row.marks.filter((m) => m[0] < row.resume).sort((a, b) => a[0] - b[0]);
  const older = prefix.slice(0, -1).filter((m) => m[0] < cp.upstreamOffset);
  let from = cp.downstreamOffset - 1;
  if (older.length > 0) from = Math.min(from, older[older.length - 1][0] + cp.downstreamOffset - cp.upstreamOffset);
  return Math.max(low, from);
}

/** One partition: where the source's finished ranges are on the target. */
async function translate(
  target: ClusterReader,
  topic: string,
  partition: number,
  row: StoredPartition,
  searchFrom: number,
  high: number,
  cp: Checkpoint | null,
): Promise<{ done: Array<[number, number]>; marks: RecordMark[]; found: boolean; lost: number; lastMark: number | null }> {
  const prefix = row.marks.filter((m) => m[0] < row.resume).sort((a, b) => a[0] - b[0]);
  const last = prefix.length > 0 ? prefix[prefix.length - 1] : null;
  if (last === null) {
    // No record of the prefix made a row that was marked (all dead-lettered, or written before kafka.dr
    // was configured): from the checkpoint, which is at or before it. Records there may be written again.
    return { done: [[-Infinity, searchFrom]], marks: [], found: false, lost: 0, lastMark: null };
  }
  const above = row.skip.map(([lo, hi]) => row.marks.filter((m) => m[0] >= lo && m[0] < hi));
  const wanted = [...prefix, ...above.flat()];
  const at = await target.find(topic, partition, searchFrom, wanted);
  const lastAt = at[prefix.length - 1];
  if (lastAt < 0) {
    // Never mirrored: the target ends before the last record written. Records are mirrored one for one, so
    // the newest older mark it has lines the offsets up; without one, MM2's checkpoint does, as an estimate
    // (it may be up to offset.lag.max behind).
    let delta: number | null = null;
    for (let i = prefix.length - 2; i >= 0 && delta === null; i--) if (at[i] >= 0) delta = prefix[i][0] - at[i];
    const lost = delta !== null ? Math.max(0, last[0] + 1 - high - delta) : cp === null ? -1 : Math.max(0, last[0] + 1 - (cp.upstreamOffset + (high - cp.downstreamOffset)));
    const end = lost > 0 ? high + lost : high;
    // The mark stays, at the offset the record would have here: a failback finds it again on the source.
    return { done: [[-Infinity, end]], marks: [[end - 1, last[1], last[2]]], found: false, lost, lastMark: last[0] };
  }
  const done: Array<[number, number]> = [[-Infinity, lastAt + 1]];
  const marks: RecordMark[] = prefix.flatMap((m, i): RecordMark[] => (at[i] >= 0 ? [[at[i], m[1], m[2]]] : []));
  let i = prefix.length;
  for (const range of above) {
    const idx = range.map(() => i++);
    const offsets = idx.map((k) => at[k]);
    if (offsets.length > 0 && offsets.every((o) => o >= 0)) {
      done.push([offsets[0], offsets[offsets.length - 1] + 1]);
      idx.forEach((k, j) => marks.push([offsets[j], wanted[k][1], wanted[k][2]]));
    }
  }
  return { done, marks, found: true, lost: 0, lastMark: last[0] };
}

async function connectForFailover(config: EngineConfig): Promise<Client> {
  try {
    return await connectPg(config.postgres, { application_name: 'kafka-pg-engine failover' });
  } catch (err) {
    throw new EngineError(ErrorCodes.FAILOVER, `PostgreSQL: ${messageOf(err)}; nothing moved`, { cause: err });
  }
}
