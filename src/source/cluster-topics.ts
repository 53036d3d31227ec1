import Kafka from 'node-rdkafka';
import { expandTableTemplates } from '../config/table-template';
import type { EngineConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { connectionSettings } from './source';

/**
 * [Tables] The config the engine starts with: table-template pipelines expanded over their topics
 * (config/table-template.ts). Only a template with a topicPattern needs the cluster's topic list, read
 * here with a short-lived consumer (no group is joined).
 */
export async function expandForStart(config: EngineConfig): Promise<EngineConfig> {
  const needsTopics = config.pipelines.some((p) => p.tableTemplate !== null && p.topicPattern !== null);
  const topics = needsTopics ? await clusterTopics(config) : [];
  try {
    return expandTableTemplates(config, topics);
  } catch (err) {
    throw new EngineError(ErrorCodes.TABLE_MAPPING, messageOf(err), { cause: err });
  }
}

async function clusterTopics(config: EngineConfig): Promise<string[]> {
  const c = new Kafka.KafkaConsumer({ ...connectionSettings(config.kafka), 'group.id': config.kafka.groupId, 'enable.auto.commit': false }, {});
  try {
    await new Promise<void>((resolve, reject) => c.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
    const md = await new Promise<Kafka.Metadata>((resolve, reject) => c.getMetadata({ timeout: 30_000 }, (err, m) => (err ? reject(err) : resolve(m))));
    return md.topics.map((t) => t.name).filter((name) => !name.startsWith('__'));
  } catch (err) {
    throw new EngineError(ErrorCodes.KAFKA_CONNECT, `cannot list the topics of ${config.kafka.brokers} (a table-template pipeline with a topicPattern expands over them): ${messageOf(err)}`, { cause: err });
  } finally {
    if (c.isConnected()) await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}
