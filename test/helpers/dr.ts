import { execFileSync } from 'node:child_process';
import Kafka from 'node-rdkafka';
import { REPO } from './env';

/**
 * [DR] A primary cluster of the test's own (PRIMARY_PORT: killing it leaves the suite's broker alone), the
 * DR cluster and MirrorMaker 2 between them (scripts/dr.sh).
 */
export const PRIMARY_PORT = 9292;
export const DR_PORT = 9192;
export const PRIMARY = `127.0.0.1:${PRIMARY_PORT}`;
export const DR = `127.0.0.1:${DR_PORT}`;

/** `scripts/kafka.sh <action>` for the test's primary broker. */
export function primaryBroker(action: 'start' | 'kill' | 'stop'): void {
  execFileSync('bash', [`${REPO}/scripts/kafka.sh`, action], { stdio: 'inherit', env: { ...process.env, KAFKA_PORT: String(PRIMARY_PORT), KAFKA_HEAP: '384m' } });
}

/** `scripts/dr.sh <args>` between the test's primary and the DR cluster, mirroring only `topics` and `groups`. */
export function drScript(args: string[], filters: { topics: string; groups: string }): string {
  return execFileSync('bash', [`${REPO}/scripts/dr.sh`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KAFKA_PORT: String(PRIMARY_PORT), DR_PORT: String(DR_PORT), DR_TOPICS: filters.topics, DR_GROUPS: filters.groups },
  });
}

/** High watermarks of a topic's partitions on a cluster (0 for a topic that does not exist yet). */
export async function ends(brokers: string, topic: string, partitions: number): Promise<number[]> {
  const c = new Kafka.KafkaConsumer({ 'metadata.broker.list': brokers, 'group.id': 'kpe-dr-probe' }, {});
  await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const out: number[] = [];
    for (let p = 0; p < partitions; p++) {
      out.push(await new Promise<number>((resolve) => c.queryWatermarkOffsets(topic, p, 5_000, (err, o) => resolve(err ? 0 : o.highOffset))));
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Per partition, how many distinct records (key and value) a topic holds, and how many in all: MM2 may
 * mirror a span twice when one of its tasks restarts (it is at-least-once).
 */
export async function distinctRecords(brokers: string, topic: string, partitions: number): Promise<Array<{ distinct: number; total: number }>> {
  const highs = await ends(brokers, topic, partitions);
  const c = new Kafka.KafkaConsumer({ 'metadata.broker.list': brokers, 'group.id': 'kpe-dr-probe', 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  c.setDefaultConsumeTimeout(200);
  try {
    const out: Array<{ distinct: number; total: number }> = [];
    for (let p = 0; p < partitions; p++) {
      const seen = new Set<string>();
      let total = 0;
      if (highs[p] > 0) {
        c.assign([{ topic, partition: p, offset: 0 }]);
        while (total < highs[p]) {
          const batch = await new Promise<Kafka.Message[]>((resolve, reject) => c.consume(1000, (err, m) => (err ? reject(err) : resolve(m))));
          for (const m of batch) {
            total++;
            seen.add(`${m.key?.toString('hex') ?? '-'}:${m.value?.toString('hex') ?? '-'}`);
          }
        }
        c.unassign();
      }
      out.push({ distinct: seen.size, total });
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}
