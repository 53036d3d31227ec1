import Kafka from 'node-rdkafka';
import { recordHash, type RecordMark } from '../commit/record-marks';
import type { ClusterName, EngineConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { decodeCheckpoint, type Checkpoint } from './mm2-checkpoints';
import { connectionSettings } from './source';

/**
 * [DR] What a failover reads of a Kafka cluster: topics and their ends, MirrorMaker 2's checkpoints, and
 * records searched for by their marks. A consumer that assigns partitions itself and never joins the
 * group (nothing it does moves a running member's partitions).
 */
export class ClusterReader {
  /** Set by librdkafka's end-of-partition event: a scan's partition holds nothing more (markers may end it). */
  private atEnd = false;

  private constructor(
    private readonly c: Kafka.KafkaConsumer,
    readonly name: ClusterName,
    readonly brokers: string,
  ) {
    c.setDefaultConsumeTimeout(200);
    c.on('partition.eof', () => (this.atEnd = true));
  }

  /** Connects to the cluster `view` reads (clusterView); an unreachable cluster is ENG_FAILOVER naming it. */
  static async open(view: EngineConfig, timeoutMs = 10_000): Promise<ClusterReader> {
    const { cluster, brokers } = view.kafka;
    const c = new Kafka.KafkaConsumer({ ...connectionSettings(view.kafka), 'group.id': view.kafka.groupId, 'enable.auto.commit': false, 'enable.partition.eof': true }, { 'auto.offset.reset': 'earliest' });
    try {
      await new Promise<void>((resolve, reject) => c.connect({ timeout: timeoutMs }, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new EngineError(ErrorCodes.FAILOVER, `the ${cluster} Kafka cluster (${brokers}) is unreachable: ${messageOf(err)}; nothing moved`, { cause: err });
    }
    return new ClusterReader(c, cluster, brokers);
  }

  async close(): Promise<void> {
    if (this.c.isConnected()) await new Promise<void>((resolve) => this.c.disconnect(() => resolve()));
  }

  /** Topic → partition count, for every topic of the cluster. */
  async topics(): Promise<Map<string, number>> {
    const md = await this.call<Kafka.Metadata>('reading metadata', (cb) => this.c.getMetadata({ timeout: 10_000 }, cb));
    return new Map(md.topics.map((t) => [t.name, t.partitions.length]));
  }

  /**
   * Waits until this reader's metadata shows `topic` with `partitions` partitions, each with a leader. A
   * topic just created (createTopic, on another client) is unknown to this client's cached metadata until
   * it refreshes: its partitions read as "Local: Unknown partition" (seen in CI's deploy test).
   */
  async awaitTopic(topic: string, partitions: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const md = await this.call<Kafka.Metadata>(`reading the metadata of ${topic}`, (cb) => this.c.getMetadata({ topic, timeout: 10_000 }, cb)).catch(() => null);
      const t = md?.topics.find((x) => x.name === topic);
      if (t !== undefined && t.partitions.length >= partitions && t.partitions.every((p) => p.leader >= 0)) return;
      if (Date.now() > deadline) throw new EngineError(ErrorCodes.FAILOVER, `${topic} on the ${this.name} cluster (${this.brokers}) was created but its ${partitions} partitions have no leader after ${timeoutMs / 1000} s; nothing moved`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async ends(topic: string, partition: number): Promise<{ low: number; high: number }> {
    // A topic just created (the one producers fail over to) has no leader for a moment.
    for (let attempt = 1; ; attempt++) {
      try {
        const o = await this.call<Kafka.WatermarkOffsets>(`reading the ends of ${topic}[${partition}]`, (cb) => this.c.queryWatermarkOffsets(topic, partition, 10_000, cb));
        return { low: o.lowOffset, high: o.highOffset };
      } catch (err) {
        if (attempt >= 30 || !/not leader|leader not available|unknown topic|unknown partition/i.test(messageOf(err))) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** The group's committed offsets on this cluster (-1: none). */
  async committed(parts: Array<{ topic: string; partition: number }>): Promise<number[]> {
    if (parts.length === 0) return [];
    const tps = await this.call<Kafka.TopicPartitionOffset[]>('reading the group\'s committed offsets', (cb) => this.c.committed(parts, 10_000, cb));
    return parts.map((p) => tps.find((t) => t.topic === p.topic && t.partition === p.partition)?.offset ?? -1).map((o) => (o >= 0 ? o : -1));
  }

  /** Commits offsets for the group (which has no member on this cluster: its engines read the other one). */
  commit(offsets: Array<{ topic: string; partition: number; offset: number }>): void {
    if (offsets.length === 0) return;
    try {
      this.c.commitSync(offsets);
    } catch (err) {
      throw new EngineError(ErrorCodes.FAILOVER, `committing the group's offsets on the ${this.name} cluster (${this.brokers}): ${messageOf(err)}; nothing moved`, { cause: err });
    }
  }

  /**
   * The newest checkpoint of `group` per mirrored partition (`topic:partition` as named on this cluster),
   * read whole from `<sourceAlias>.checkpoints.internal`; null when the topic does not exist.
   */
  async checkpoints(topic: string, group: string): Promise<Map<string, Checkpoint> | null> {
    const partitions = (await this.topics()).get(topic);
    if (partitions === undefined) return null;
    const out = new Map<string, Checkpoint>();
    for (let p = 0; p < partitions; p++) {
      await this.scan(topic, p, null, (m) => {
        const cp = decodeCheckpoint(keyOf(m), m.value);
        if (typeof cp === 'string') throw new EngineError(ErrorCodes.FAILOVER, `${topic}[${p}]@${m.offset} on the ${this.name} cluster is not an MM2 checkpoint: ${cp}`);
        if (cp.group === group) out.set(`${cp.topic}:${cp.partition}`, cp);
        return false;
      });
    }
    return out;
  }

  /**
   * Where each mark is in `topic[partition]`: the LAST record at or after `from` with its timestamp and
   * hash (MM2 may mirror a span twice when a task restarts: resuming after the last copy of the last record
   * written skips the repeats too), -1 for a mark not found before the partition's end. Only records whose
   * timestamp some mark has are hashed.
   */
  async find(topic: string, partition: number, from: number, marks: readonly RecordMark[]): Promise<number[]> {
    const found = marks.map(() => -1);
    if (marks.length === 0) return found;
    const byTimestamp = new Map<number, number[]>();
    marks.forEach((m, i) => byTimestamp.set(m[1], [...(byTimestamp.get(m[1]) ?? []), i]));
    await this.scan(topic, partition, from, (m) => {
      const candidates = m.timestamp === undefined ? undefined : byTimestamp.get(m.timestamp);
      if (candidates === undefined) return false;
      const hash = recordHash(keyOf(m), m.value);
      for (const i of candidates) if (marks[i][2] === hash) found[i] = m.offset;
      return false;
    });
    return found;
  }

  /** Reads a partition from `from` (null: its start) to its end as it is now, until `visit` says stop. */
  private async scan(topic: string, partition: number, from: number | null, visit: (m: Kafka.Message) => boolean): Promise<void> {
    const { low, high } = await this.ends(topic, partition);
    const start = Math.max(low, from ?? low);
    if (start >= high) return;
    this.atEnd = false;
    this.c.assign([{ topic, partition, offset: start }]);
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const batch = await this.call<Kafka.Message[]>(`reading ${topic}[${partition}]`, (cb) => this.c.consume(1000, cb));
        for (const m of batch) {
          if (visit(m) || m.offset >= high - 1) return;
        }
        if (batch.length === 0 && this.atEnd) return;
        if (Date.now() > deadline) throw new EngineError(ErrorCodes.FAILOVER, `reading ${topic}[${partition}] on the ${this.name} cluster from ${start} to ${high} took over 120 s; nothing moved`);
      }
    } finally {
      this.c.unassign();
    }
  }

  private call<T>(what: string, fn: (cb: (err: Kafka.LibrdKafkaError | null | undefined, value: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) =>
      fn((err, value) => (err ? reject(new EngineError(ErrorCodes.FAILOVER, `${what} on the ${this.name} cluster (${this.brokers}): ${err.message}; nothing moved`, { cause: err })) : resolve(value))),
    );
  }
}

function keyOf(m: Kafka.Message): Buffer | null {
  return m.key === null || m.key === undefined ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key);
}

/** Creates a topic (the one producers write to after they fail over), as many partitions as its mirror. */
export async function createTopic(view: EngineConfig, topic: string, partitions: number): Promise<void> {
  const admin = Kafka.AdminClient.create({ ...connectionSettings(view.kafka), 'client.id': 'kafka-pg-engine-failover' });
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: -1 }, 15_000, (err) => (err && !/already exists/i.test(err.message) ? reject(err) : resolve())),
    );
  } catch (err) {
    throw new EngineError(ErrorCodes.FAILOVER, `cannot create ${topic} on the ${view.kafka.cluster} cluster (${view.kafka.brokers}): ${messageOf(err)}; nothing moved`, { cause: err });
  } finally {
    admin.disconnect();
  }
}
