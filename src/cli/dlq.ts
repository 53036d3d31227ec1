import Kafka from 'node-rdkafka';
import { withRouteIndexes } from '../config/table-routes';
import type { EngineConfig, PipelineConfig } from '../config/types';
import { DLQ_HEADERS } from '../deadletter/records';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { connectionSettings } from '../source/source';

export interface DlqReport {
  topic: string;
  count: number;
  /** Dead letters per error code. */
  codes: Record<string, number>;
  samples: Array<{ source: string; code: string; message: string; sqlstate?: string; key: string | null; value: string }>;
}

/**
 * `engine dlq inspect`: reads a pipeline's dead-letter topic from the start to its end (with no consumer
 * group, so it commits nothing and moves nothing) and summarises it: how many, which error codes, and a
 * few samples with their source position.
 */
export async function inspectDeadLetters(config: EngineConfig, pipelineName: string, samples = 5): Promise<DlqReport> {
  const topic = pipelineOf(config, pipelineName).deadLetter!.topic;
  const consumer = new Kafka.KafkaConsumer(
    { ...connectionSettings(config.kafka), 'group.id': 'kafka-pg-engine-dlq-inspect', 'enable.auto.commit': false },
    {},
  );
  const report: DlqReport = { topic, count: 0, codes: {}, samples: [] };
  try {
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    const md = await new Promise<Kafka.Metadata>((resolve, reject) => consumer.getMetadata({ topic, timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m))));
    const partitions = md.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    const ends = new Map<number, number>();
    for (const p of partitions) {
      const marks = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) => consumer.queryWatermarkOffsets(topic, p, 10_000, (err, o) => (err ? reject(err) : resolve(o))));
      if (marks.highOffset > marks.lowOffset) ends.set(p, marks.highOffset);
    }
    consumer.assign([...ends.keys()].map((partition) => ({ topic, partition, offset: 0 })));
    consumer.setDefaultConsumeTimeout(500);
    const deadline = Date.now() + 120_000;
    while (ends.size > 0 && Date.now() < deadline) {
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))));
      for (const m of batch) {
        if (m.offset + 1 >= (ends.get(m.partition) ?? 0)) ends.delete(m.partition);
        report.count++;
        const h = headersOf(m);
        const code = h.get(DLQ_HEADERS.code) ?? '(no code)';
        report.codes[code] = (report.codes[code] ?? 0) + 1;
        if (report.samples.length < samples) {
          report.samples.push({
            source: `${h.get(DLQ_HEADERS.topic) ?? '?'}[${h.get(DLQ_HEADERS.partition) ?? '?'}]@${h.get(DLQ_HEADERS.offset) ?? '?'}`,
            code,
            message: h.get(DLQ_HEADERS.message) ?? '',
            sqlstate: h.get(DLQ_HEADERS.sqlstate),
            key: m.key === undefined || m.key === null ? null : m.key.toString(),
            value: m.value ? printable(m.value) : '(null)',
          });
        }
      }
    }
  } catch (err) {
    throw new EngineError(ErrorCodes.KAFKA_CONSUME, `reading the dead-letter topic ${topic}: ${messageOf(err)}`, { cause: err });
  } finally {
    if (consumer.isConnected()) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return report;
}

/**
 * `engine dlq replay`: the pipeline alone, reading its dead-letter topic instead of its topics, in a
 * consumer group of its own (`<groupId>.dlq-replay.<pipeline>`), so a second replay goes on where the
 * first stopped and never writes a record twice. A record that still fails is skipped and logged: it
 * stays in the dead-letter topic (dead-lettering it again would loop).
 */
export function replayConfig(config: EngineConfig, pipelineName: string): EngineConfig {
  const p = pipelineOf(config, pipelineName);
  if (p.routeOf !== null) throw new EngineError(ErrorCodes.CONFIG_INVALID, `pipeline ${p.name} writes a table of pipeline ${config.pipelines[p.routeOf].name}'s routes: replay that one (its dead letters are one topic)`);
  const index = config.pipelines.indexOf(p);
  // [Tables] A routed pipeline replays with its route pipelines (its tables), renumbered after it.
  const routed = config.pipelines.flatMap((r, i) => (r.routeOf === index ? [i] : []));
  const at = (old: number) => (old === index ? 0 : routed.indexOf(old) + 1);
  const replayed = (r: PipelineConfig): PipelineConfig => withRouteIndexes({ ...r, onRecordError: 'skip', deadLetter: null }, at);
  return {
    ...config,
    kafka: { ...config.kafka, groupId: `${config.kafka.groupId}.dlq-replay.${p.name}` },
    pipelines: [replayed({ ...p, topics: [p.deadLetter!.topic], topicPattern: null }), ...routed.map((i) => replayed(config.pipelines[i]))],
  };
}

function pipelineOf(config: EngineConfig, name: string) {
  const pipeline = config.pipelines.find((p) => p.name === name);
  if (!pipeline) throw new EngineError(ErrorCodes.CONFIG_INVALID, `no pipeline named "${name}" (the config has ${config.pipelines.map((p) => p.name).join(', ')})`);
  if (!pipeline.deadLetter) throw new EngineError(ErrorCodes.CONFIG_INVALID, `pipeline ${name} has no deadLetter topic`);
  return pipeline;
}

function headersOf(m: Kafka.Message): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) out.set(k, Buffer.isBuffer(v) ? v.toString() : String(v));
  return out;
}

/** The value as text when it is printable UTF-8, else its first bytes in hex. */
function printable(v: Buffer): string {
  const text = v.toString('utf8');
  return /^[\P{C}\n\t]*$/u.test(text) && !text.includes('\uFFFD') ? text.slice(0, 200) : `0x${v.subarray(0, 64).toString('hex')}${v.length > 64 ? '…' : ''} (${v.length} bytes)`;
}
