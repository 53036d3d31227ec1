import os from 'node:os';
import Kafka from 'node-rdkafka';
import type { Client } from 'pg';
import { OffsetsTable, type StoredPartition } from '../commit/offsets-table';
import { topicPattern } from '../config/topic-pattern';
import type { EngineConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { log } from '../log';
import { connectPg } from '../sink/pg-connection';
import { connectionSettings } from '../source/source';
import { otherCluster, positionsGroup } from '../source/clusters';

/** Where `engine offsets reset --to` moves a pipeline: an end of the log, an offset, or the first record at or after a time. */
export type ResetTarget = { kind: 'earliest' | 'latest' } | { kind: 'offset'; offset: number } | { kind: 'time'; ms: number };

export function parseTarget(text: string): ResetTarget | null {
  if (text === 'earliest' || text === 'latest') return { kind: text };
  if (/^\d+$/.test(text)) return { kind: 'offset', offset: Number(text) };
  const ms = Date.parse(text);
  return /^\d{4}-\d\d-\d\d/.test(text) && !Number.isNaN(ms) ? { kind: 'time', ms } : null;
}

export interface PartitionPosition {
  topic: string;
  partition: number;
  /** Exactly-once: where the offsets table resumes (-1 none); what was skipped above it. */
  stored: StoredPartition | null;
  /** Kafka's committed offset for the group (-1 none). */
  committed: number;
  low: number;
  high: number;
}

/**
 * A consumer in the pipeline's group that never subscribes: it reads metadata, watermarks and the
 * group's committed offsets, and commits new ones (which Kafka accepts only while no member of the group
 * is running).
 */
async function withGroupClient<T>(config: EngineConfig, groupId: string, fn: (c: Kafka.KafkaConsumer) => Promise<T>): Promise<T> {
  const c = new Kafka.KafkaConsumer({ ...connectionSettings(config.kafka), 'group.id': groupId, 'enable.auto.commit': false }, {});
  try {
    await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    return await fn(c);
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new EngineError(ErrorCodes.OFFSETS, `Kafka at ${config.kafka.brokers}: ${messageOf(err)}`, { cause: err });
  } finally {
    if (c.isConnected()) await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}

/** The topics a pipeline reads now: its literal topics, or those in the cluster matching its pattern. */
async function partitionsOf(c: Kafka.KafkaConsumer, topics: string[] | null, pattern: string | null): Promise<Array<{ topic: string; partition: number }>> {
  const md = await new Promise<Kafka.Metadata>((resolve, reject) => c.getMetadata({ timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m))));
  const re = pattern ? topicPattern(pattern).re : null;
  const out: Array<{ topic: string; partition: number }> = [];
  for (const t of md.topics) {
    // [DR] a cluster view has both: its own topics by name, the mirrors by pattern.
    if (!(topics?.includes(t.name) === true || re?.test(t.name) === true)) continue;
    for (const p of t.partitions) out.push({ topic: t.name, partition: p.id });
  }
  for (const t of topics ?? []) if (!out.some((o) => o.topic === t)) throw new EngineError(ErrorCodes.OFFSETS, `topic ${t} does not exist`);
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

function watermarks(c: Kafka.KafkaConsumer, topic: string, partition: number): Promise<Kafka.WatermarkOffsets> {
  return new Promise((resolve, reject) => c.queryWatermarkOffsets(topic, partition, 10_000, (err, o) => (err ? reject(err) : resolve(o))));
}

async function withPg<T>(config: EngineConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  let client: Client | null = null;
  try {
    client = await connectPg(config.postgres, { application_name: 'kafka-pg-engine offsets' });
    return await fn(client);
  } catch (err) {
    throw new EngineError(ErrorCodes.OFFSETS, `PostgreSQL: ${messageOf(err)}`, { cause: err });
  } finally {
    await client?.end().catch(() => undefined);
  }
}

function pipelineOf(config: EngineConfig, name: string) {
  const p = config.pipelines.find((x) => x.name === name);
  if (!p) throw new EngineError(ErrorCodes.CONFIG_INVALID, `no pipeline named "${name}" (the config has ${config.pipelines.map((x) => x.name).join(', ')})`);
  return p;
}

function table(config: EngineConfig, groupId: string): OffsetsTable {
  return new OffsetsTable(config.engine.offsetsTable, groupId, `${os.hostname()}:${process.pid} (engine offsets)`);
}

/** `engine offsets show`: per partition, the offsets table's position (exactly-once), Kafka's committed offset and the log's ends. */
export async function showPositions(config: EngineConfig, pipelineName: string, groupId = config.kafka.groupId): Promise<PartitionPosition[]> {
  const positions = groupId === config.kafka.groupId ? positionsGroup(config) : groupId;
  const p = pipelineOf(config, pipelineName);
  return withGroupClient(config, groupId, async (c) => {
    const parts = await partitionsOf(c, p.topics, p.topicPattern);
    const committed = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) => c.committed(parts, 10_000, (err, o) => (err ? reject(err) : resolve(o))));
    const stored =
      config.engine.delivery === 'exactly-once'
        ? await withPg(config, async (pg) => {
            const t = table(config, positions);
            await t.ensure(pg);
            return t.read(pg, [...new Set(parts.map((x) => x.topic))]);
          })
        : [];
    const out: PartitionPosition[] = [];
    for (const [i, part] of parts.entries()) {
      const marks = await watermarks(c, part.topic, part.partition);
      out.push({
        ...part,
        stored: stored.find((s) => s.topic === part.topic && s.partition === part.partition) ?? null,
        committed: committed[i]?.offset ?? -1,
        low: marks.lowOffset,
        high: marks.highOffset,
      });
    }
    return out;
  });
}

/**
 * `engine offsets reset`: moves a pipeline's partitions to `target` in the offsets table (exactly-once:
 * everything below counts as finished, nothing above; the epochs are bumped, so a process still running
 * can write nothing more for them) and in Kafka's committed offsets. Kafka refuses the commit while a
 * member of the group runs: stop the engines first.
 */
export async function resetPositions(config: EngineConfig, pipelineName: string, target: ResetTarget, groupId = config.kafka.groupId): Promise<Array<{ topic: string; partition: number; offset: number }>> {
  const positionsKey = groupId === config.kafka.groupId ? positionsGroup(config) : groupId;
  const p = pipelineOf(config, pipelineName);
  return withGroupClient(config, groupId, async (c) => {
    const parts = await partitionsOf(c, p.topics, p.topicPattern);
    const positions: Array<{ topic: string; partition: number; offset: number }> = [];
    const byTime =
      target.kind === 'time'
        ? await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
            c.offsetsForTimes(parts.map((x) => ({ ...x, offset: target.ms })), 10_000, (err, o) => (err ? reject(err) : resolve(o))),
          )
        : [];
    for (const part of parts) {
      const marks = await watermarks(c, part.topic, part.partition);
      let offset: number;
      if (target.kind === 'earliest') offset = marks.lowOffset;
      else if (target.kind === 'latest') offset = marks.highOffset;
      else if (target.kind === 'offset') offset = Math.min(Math.max(target.offset, marks.lowOffset), marks.highOffset);
      else {
        // No record at or after the time: the end of the log.
        const found = byTime.find((o) => o.topic === part.topic && o.partition === part.partition)?.offset ?? -1;
        offset = found >= 0 ? found : marks.highOffset;
      }
      positions.push({ ...part, offset });
    }
    if (config.engine.delivery === 'exactly-once') {
      await withPg(config, async (pg) => {
        const t = table(config, positionsKey);
        await t.ensure(pg);
        await t.reset(pg, positions);
      });
    }
    try {
      c.commitSync(positions);
    } catch (err) {
      const why = `Kafka refused to commit the new offsets for group ${groupId} (${messageOf(err)}): is an engine of the group still running? Stop it first`;
      // In exactly-once mode the offsets table is the truth and is already reset; Kafka's offsets only feed lag tools.
      if (config.engine.delivery !== 'exactly-once') throw new EngineError(ErrorCodes.OFFSETS, why, { cause: err });
      log.warn(why);
    }
    return positions;
  });
}

/** [DR] The positions kept for the cluster the group does not read now (from PostgreSQL only: it may be down). */
export async function otherClusterPositions(config: EngineConfig): Promise<StoredPartition[]> {
  if (config.kafka.dr === null || config.engine.delivery !== 'exactly-once') return [];
  return withPg(config, async (pg) => {
    const t = table(config, positionsGroup(config, otherCluster(config.kafka.cluster)));
    await t.ensure(pg);
    return t.read(pg);
  });
}

export function formatPositions(rows: PartitionPosition[]): string {
  const lines = [['topic', 'partition', 'position', 'committed', 'low', 'high', 'lag', 'skipped above', 'epoch', 'owner']];
  for (const r of rows) {
    const position = r.stored ? r.stored.resume : r.committed;
    lines.push([
      r.topic,
      String(r.partition),
      position >= 0 ? String(position) : '-',
      r.committed >= 0 ? String(r.committed) : '-',
      String(r.low),
      String(r.high),
      String(r.high - Math.max(position, r.low)),
      r.stored?.skip.map(([a, b]) => `${a}-${b - 1}`).join(',') || '-',
      r.stored ? String(r.stored.epoch) : '-',
      r.stored?.owner ?? '-',
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
