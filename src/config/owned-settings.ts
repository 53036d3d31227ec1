/**
 * librdkafka settings the engine sets itself because its guarantees rest on them. `kafka.config` is
 * applied after the engine's own settings (source/source.ts consumerSettings), so without this check a
 * user's `enable.auto.commit: true` would silently commit offsets of rows that are not yet durable.
 * Each entry says why the key is the engine's; `allowed` lists the values that change nothing.
 */
interface OwnedSetting {
  why: string;
  allowed?: readonly string[];
}

const OWNED: Readonly<Record<string, OwnedSetting>> = {
  'enable.auto.commit': { why: 'the engine commits offsets itself, only for rows that are durable in PostgreSQL' },
  'auto.commit.interval.ms': { why: 'the engine commits offsets itself (engine.commitIntervalMs), only for rows that are durable' },
  'enable.auto.offset.store': { why: 'the engine stores offsets itself, only for rows that are durable in PostgreSQL' },
  'group.id': { why: 'set kafka.groupId instead (the offsets table and the CLI read it there)' },
  'bootstrap.servers': { why: 'set kafka.brokers instead (every client of the engine uses it)' },
  'metadata.broker.list': { why: 'set kafka.brokers instead (every client of the engine uses it)' },
  'isolation.level': {
    why: 'records of aborted or open transactions would be written to PostgreSQL; only read_committed is allowed',
    allowed: ['read_committed'],
  },
  'enable.partition.eof': { why: 'the engine reads every consumed message as a record; end-of-partition events would be taken for records' },
  'queued.max.messages.kbytes': { why: 'sized from engine.memory (the engine\'s memory bound rests on it): set engine.memory instead' },
  'queued.min.messages': { why: 'sized from engine.memory (the engine\'s memory bound rests on it): set engine.memory instead' },
  'fetch.max.bytes': { why: 'sized from engine.memory (the engine\'s memory bound rests on it): set engine.memory instead' },
  'group.protocol': { why: 'set kafka.groupProtocol instead (classic or consumer; docs/scaling.md)' },
  'partition.assignment.strategy': { why: 'set kafka.assignmentStrategy instead (docs/scaling.md)' },
  'group.instance.id': { why: 'set kafka.instanceId instead (static membership; docs/scaling.md)' },
  'topic.metadata.refresh.interval.ms': { why: 'set kafka.metadataRefresh instead (how soon new partitions and topics are consumed)' },
  rebalance_cb: { why: 'the engine handles rebalances itself (claims, fences and the commit on revoke rest on it)' },
  offset_commit_cb: { why: 'the engine handles commit results itself' },
};

/** Problems (`kafka.config.KEY: …`) for every owned key `kafka.config` tries to set. */
export function ownedSettingProblems(config: Readonly<Record<string, string | number | boolean>>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    const owned = OWNED[key];
    if (!owned || owned.allowed?.includes(String(value))) continue;
    problems.push(`kafka.config.${key}: the engine sets this itself and it may not be overridden: ${owned.why}`);
  }
  return problems;
}
