import type { TopicPartitionOffset } from '../commit/commit-tracker';
import type { EngineConfig } from '../config/types';
import { DEFAULT_MEMORY, planMemory } from '../config/memory';
import { EngineError, ErrorCodes } from '../errors';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface SourceEvents {
  /**
   * New partitions, before they are assigned. librdkafka assigns them when `assign` is called, which may
   * be later (exactly-once reads the positions from PostgreSQL first), with the offsets to start at (null:
   * the committed offsets); rebalance events that come meanwhile wait for it.
   */
  assigned(parts: TopicPartition[], assign: (starts: TopicPartitionOffset[] | null) => void): void;
  /**
   * Partitions going away. librdkafka keeps them assigned (and the group waits) until `release` is
   * called, which may be later, once their work in flight is settled. `lost`: the group already gave
   * them to someone else (session timeout), so nothing of them may be committed.
   */
  revoked(parts: TopicPartition[], release: () => void, lost: boolean): void;
  /** A non-fatal client error (librdkafka retries by itself) or a fatal one. */
  error(err: EngineError): void;
  /**
   * An asynchronous commit the broker refused (e.g. ILLEGAL_GENERATION while a cooperative rebalance is
   * under way): the engine sends those partitions' positions again with its next commit. Commits are only
   * sent when a position moves, so without this a partition whose last commit failed would stay behind.
   */
  commitFailed?(offsets: TopicPartitionOffset[]): void;
}

/**
 * What the engine needs of a Kafka consumer besides getting records into the ring: the group, commits and
 * positions. Two implementations: KafkaSource (node-rdkafka's JS API) and NativeSource (native/ addon).
 */
export interface ConsumerClient {
  readonly kind: 'native' | 'node-rdkafka';
  connect(timeoutMs: number): Promise<void>;
  subscribe(topics: string[]): void;
  /** Asynchronous commit of next-offsets to read (the engine coalesces these). */
  commit(offsets: TopicPartitionOffset[]): void;
  /**
   * A commit whose answer is awaited, for shutdown and revocation, where the commit must be done before
   * going on. The main thread never waits for the broker: it resolves or rejects (ENG_KAFKA_COMMIT) later.
   */
  commitAndWait(offsets: TopicPartitionOffset[]): Promise<void>;
  committed(parts: TopicPartition[], timeoutMs: number): Promise<TopicPartitionOffset[]>;
  /**
   * Moves assigned partitions to these offsets. Only between polls (ChunkPoller.betweenPolls): no message
   * fetched before it resolves is handed out after it.
   */
  seek(offsets: TopicPartitionOffset[]): Promise<void>;
  watermarks(topic: string, partition: number, timeoutMs: number): Promise<{ low: number; high: number }>;
  /** librdkafka's fetch position (next offset it will hand out) per partition; negative when unknown. */
  positions(parts: TopicPartition[]): TopicPartitionOffset[];
  /** The consumer group as librdkafka's statistics last described it (every second); null before the first. */
  groupState(): GroupState | null;
  /** Each partition's end offset as librdkafka last saw it in a fetch (no request; negative when unknown). */
  cachedHighWatermarks(parts: TopicPartition[]): TopicPartitionOffset[];
  /**
   * Serves the group's callbacks (rebalances) for up to `timeoutMs` once polling has stopped; a record
   * fetched meanwhile is dropped: it was never written, so it is not committed and is read again.
   */
  serve(timeoutMs: number): Promise<void>;
  /**
   * Leaves the group and frees the client (waiting up to 10 s). leaveGroup false ([DR]: the cluster was
   * failed over from, perhaps dead): frees it without waiting for a coordinator, where the client can.
   */
  disconnect(leaveGroup?: boolean): Promise<void>;
}

/**
 * The settings every Kafka client the engine makes needs besides the consumer (the dead-letter producer,
 * the admin client, the CLI's clients): the brokers, and the user's security and connection settings
 * from `kafka.config` (TLS, SASL including OAUTHBEARER, sockets). Consumer-only settings stay out.
 */
export function connectionSettings(kafka: EngineConfig['kafka']): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = { 'metadata.broker.list': kafka.brokers };
  for (const [key, value] of Object.entries(kafka.config)) if (CONNECTION_SETTING.test(key)) out[key] = value;
  return out;
}

const CONNECTION_SETTING = /^(security\.protocol|sasl\.|ssl\.|ssl_|enable\.ssl\.|enable\.sasl\.|https\.|socket\.|broker\.|client\.rack$|client\.dns\.lookup$|connections\.max\.idle\.ms$|reconnect\.backoff|api\.version|allow\.auto\.create\.topics$)/;

/** librdkafka's codes for a refused login (ERR__AUTHENTICATION) and a TLS failure (ERR__SSL). */
const ERR_AUTHENTICATION = -169;
const ERR_SSL = -181;
/** Broker errors of static membership: another member took this group.instance.id (82), or still holds it (111). */
const ERR_FENCED_INSTANCE_ID = 82;
const ERR_UNRELEASED_INSTANCE_ID = 111;
/** librdkafka's ERR__FATAL. */
const ERR_FATAL = -150;

/**
 * What to check when the broker refuses the client's credentials or TLS cannot be set up, or fences a
 * static member whose instance id another process uses; null for other errors. librdkafka retries these forever, but no retry fixes them: the engine stops with this instead.
 */
export function finalKafkaProblem(code: number | null, message: string): string | null {
  if (code === ERR_AUTHENTICATION || /SASL authentication error|Authentication failed|authentication failure/i.test(message)) {
    return 'the broker refused the credentials: check kafka.config sasl.mechanisms, sasl.username and sasl.password';
  }
  if (code === ERR_SSL || /SSL handshake failed|certificate verify failed/i.test(message)) {
    return 'TLS to the broker failed: check kafka.config ssl.ca.location (the broker\'s certificate must be signed by it) and security.protocol';
  }
  if (code === ERR_FENCED_INSTANCE_ID || code === ERR_UNRELEASED_INSTANCE_ID || /FENCED_INSTANCE_ID|UNRELEASED_INSTANCE_ID|fenced by other consumer with same group\.instance\.id|instance ID is still used by another member/i.test(message)) {
    return 'another running process of the group uses the same kafka.instanceId (group.instance.id), and the broker fenced this one: give every engine process its own, e.g. ${HOSTNAME}';
  }
  // A fatal error that reaches the engine as a consume error (KIP-848's heartbeat) rather than the error callback.
  if (code === ERR_FATAL || /(^|: )Fatal (consumer )?error: /.test(message)) return 'librdkafka cannot go on after a fatal error';
  return null;
}

/** The error of a connect that failed: final (not retriable) for credentials and TLS, with what to check. */
export function kafkaConnectError(brokers: string, message: string, cause: unknown): EngineError {
  const final = finalKafkaProblem(null, message);
  return new EngineError(ErrorCodes.KAFKA_CONNECT, `cannot connect to Kafka at ${brokers}: ${message}${final ? `; ${final}` : ''}`, { cause, retriable: final === null });
}

/** librdkafka's buffers at the default engine.memory (see config/memory.ts), for clients built outside the engine. */
export const DEFAULT_BUFFERS = planMemory(DEFAULT_MEMORY, null);

/** kafka.groupProtocol … kafka.metadataRefresh at their defaults, for clients built outside a config (benches, tests). */
export const DEFAULT_GROUP_SETTINGS: Pick<EngineConfig['kafka'], 'groupProtocol' | 'assignmentStrategy' | 'instanceId' | 'metadataRefreshMs'> = {
  groupProtocol: 'classic',
  assignmentStrategy: 'cooperative-sticky',
  instanceId: null,
  metadataRefreshMs: 10_000,
};

/** librdkafka settings the engine relies on; the user's `kafka.config` is applied after these. */
export function consumerSettings(kafka: EngineConfig['kafka'], engine: Pick<EngineConfig['engine'], 'fetchQueueKBytes' | 'fetchQueueMessages' | 'fetchMaxBytes'>): Record<string, string | number | boolean> {
  return {
    'metadata.broker.list': kafka.brokers,
    'group.id': kafka.groupId,
    'client.id': 'kafka-pg-engine',
    // Offsets are committed by the engine, only for rows that are durable.
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    // Without this the fetcher stalls for 1 s whenever the local queue fills (see stack notes).
    'fetch.queue.backoff.ms': 10,
    // Sized by engine.memory (config/memory.ts): the fetch queue and the largest fetch response.
    'queued.max.messages.kbytes': engine.fetchQueueKBytes,
    // librdkafka's own record of each fetched message (a few hundred bytes) is in neither byte limit: with
    // small records it costs more than the records, so the count is bounded too.
    'queued.min.messages': engine.fetchQueueMessages,
    'fetch.max.bytes': engine.fetchMaxBytes,
    'socket.nagle.disable': true,
    'auto.offset.reset': 'earliest',
    // The group's state for the watchdog (engine/watchdog.ts) and the commit gate (engine.ts
    // scheduleCommit) comes from the statistics; the cgrp part is all that is read of them.
    'statistics.interval.ms': 1_000,
    // [Scale] docs/scaling.md: the protocol and strategy that stall least, new partitions seen within seconds.
    'group.protocol': kafka.groupProtocol,
    ...(kafka.assignmentStrategy ? { 'partition.assignment.strategy': kafka.assignmentStrategy } : {}),
    ...(kafka.instanceId ? { 'group.instance.id': kafka.instanceId } : {}),
    'topic.metadata.refresh.interval.ms': kafka.metadataRefreshMs,
    ...kafka.config,
  };
}

/**
 * librdkafka's view of the consumer group: `state` is "up" once the coordinator is known and connected
 * (else query-coord, wait-coord, wait-broker-transport, …), `joinState` "steady" once an assignment is
 * in force; `stateAgeMs` is how long the state has lasted.
 */
export interface GroupState {
  state: string;
  stateAgeMs: number;
  joinState: string;
  assignmentSize: number;
}

/** The `cgrp` object of librdkafka's statistics JSON (the object itself, or the whole statistics). */
export function parseGroupState(json: string): GroupState | null {
  // Only the cgrp object is parsed: the whole statistics hold every partition's figures. librdkafka prints
  // it flat, after the topics (the last match is the group, not a topic named "cgrp").
  const at = json.lastIndexOf('"cgrp": {');
  const text = at < 0 ? json : json.slice(json.indexOf('{', at), json.indexOf('}', at) + 1);
  try {
    const c = JSON.parse(text) as Record<string, unknown>;
    if (typeof c.state !== 'string') return null;
    return { state: c.state, stateAgeMs: Number(c.stateage ?? 0), joinState: typeof c.join_state === 'string' ? c.join_state : '', assignmentSize: Number(c.assignment_size ?? 0) };
  } catch {
    return null;
  }
}

export function describeOffsets(offsets: TopicPartitionOffset[]): string {
  return offsets.map((o) => `${o.topic}[${o.partition}]@${o.offset}`).join(', ');
}

/**
 * Keeps rebalance steps in order when one finishes later than the callback that started it (an
 * assignment waiting for positions from PostgreSQL): the steps after it wait.
 */
export class RebalanceSteps {
  private held: Array<() => void> | null = null;

  /** Runs `step` now or after the steps before it finished; `step` calls `done` once, now or later. */
  run(step: (done: () => void) => void): void {
    if (this.held !== null) {
      this.held.push(() => this.run(step));
      return;
    }
    this.held = [];
    let finished = false;
    step(() => {
      if (finished) return;
      finished = true;
      const next = this.held ?? [];
      this.held = null;
      for (const f of next) f();
    });
  }
}
