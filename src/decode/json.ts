import type { ValueReader } from './decoders';

const SCHEMA_PREFIX = Buffer.from('{"schema":');
const PAYLOAD_KEY = Buffer.from(',"payload":');

/**
 * JSON records. Kafka Connect's JsonConverter (schemas.enable=true, also Debezium's JSON output) wraps
 * every value as {"schema": …, "payload": …}, and the schema, often most of the bytes, is the same in
 * every record. The first record of each distinct schema is parsed whole and the payload's position is
 * checked against it; later records with byte-identical schema text have only their payload parsed and
 * come back as { payload } (so `payload.x` column paths behave the same). Anything else is parsed whole.
 */
export class JsonReader implements ValueReader {
  /** The verified `{"schema":…,"payload":` prefix of the last envelope seen, or null. */
  private envelope: Buffer | null = null;

  constructor(private readonly ring: Buffer) {}

  decode(start: number, end: number): unknown {
    const ring = this.ring;
    const env = this.envelope;
    if (env !== null && end - start > env.length && ring[end - 1] === 0x7d && ring.compare(env, 0, env.length, start, start + env.length) === 0) {
      return { payload: JSON.parse(ring.toString('utf8', start + env.length, end - 1)) as unknown };
    }
    const value = JSON.parse(ring.toString('utf8', start, end)) as unknown;
    if (ring.compare(SCHEMA_PREFIX, 0, SCHEMA_PREFIX.length, start, start + SCHEMA_PREFIX.length) === 0) this.learn(value, start, end);
    return value;
  }

  /** Remembers the envelope prefix if the payload really starts where `,"payload":` is first found. */
  private learn(value: unknown, start: number, end: number): void {
    const v = value as { schema?: unknown; payload?: unknown } | null;
    if (v === null || typeof v !== 'object' || Object.keys(v).join() !== 'schema,payload') return;
    const at = this.ring.indexOf(PAYLOAD_KEY, start);
    if (at < 0 || at >= end || this.ring[end - 1] !== 0x7d) return;
    const prefixEnd = at + PAYLOAD_KEY.length;
    try {
      const payload = JSON.parse(this.ring.toString('utf8', prefixEnd, end - 1)) as unknown;
      if (JSON.stringify(payload) !== JSON.stringify(v.payload)) return;
    } catch {
      return;
    }
    this.envelope = Buffer.from(this.ring.subarray(start, prefixEnd));
  }
}
