import type { CommitTracker } from '../commit/commit-tracker';
import type { EngineConfig } from '../config/types';
import type { RingWriter } from '../ring/ring-writer';
import { KafkaSource } from './kafka-source';
import { NativePoller } from './native-poller';
import { NativeSource } from './native-source';
import type { ChunkWork } from '../ring/chunk-work';
import { MessagePoller, type ChunkPoller, type PollerOptions } from './poller';
import type { TopicRoutes } from './routes';
import type { SchemaGate } from './schema-registry';
import { selectSource } from './select';
import type { ConsumerClient, SourceEvents } from './source';

export interface SourceWiring {
  config: EngineConfig;
  routes: TopicRoutes;
  tracker: CommitTracker;
  ring: RingWriter;
  events: SourceEvents;
  pollTimeoutMs: number;
  onChunk: (chunk: ChunkWork) => void;
  /** Called right after a poll returned nothing. */
  onIdle: () => void;
  schemas: SchemaGate | null;
}

/** The Kafka client that feeds the ring (engine.source, see select.ts) and the polling loop that goes with it. */
export function createSource(w: SourceWiring): { source: ConsumerClient; poller: ChunkPoller } {
  const native = selectSource(w.config.engine.source) === 'native';
  const options: PollerOptions = {
    // A native fill costs the main thread the same for 5000 messages as for 1000, and bigger chunks mean
    // fewer decode tasks; node-rdkafka builds its objects before the first one is usable.
    pollBatch: w.config.engine.pollBatch ?? (native ? 5000 : 1000),
    pollTimeoutMs: w.pollTimeoutMs,
    maxChunkBytes: Math.max(64 << 10, Math.floor(w.ring.capacity / 16)),
  };
  if (native) {
    const source = new NativeSource(w.config.kafka, w.routes, w.events, w.config.engine);
    return { source, poller: new NativePoller(source, { ...w, options }) };
  }
  const source = new KafkaSource(w.config.kafka, options.pollTimeoutMs, w.events, w.config.engine);
  return { source, poller: new MessagePoller(source, { ...w, options }) };
}
