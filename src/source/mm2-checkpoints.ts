/**
 * MirrorMaker 2's checkpoint records, as MirrorCheckpointConnector writes them to
 * `<sourceAlias>.checkpoints.internal` on the target cluster (connect-mirror-client's Checkpoint.java).
 * Both are Kafka protocol Structs: strings are an int16 byte length then UTF-8, integers big-endian.
 *
 *   key   group            int16 n, n bytes   the consumer group on the source cluster
 *         topic            int16 n, n bytes   the topic as named on the TARGET (primary.orders)
 *         partition        int32
 *   value version          int16              0 (the only version)
 *         upstreamOffset   int64              the group's committed offset on the source
 *         offset           int64              that offset translated to the target, conservatively:
 *                                             at or before the record upstreamOffset names
 *         metadata         int16 n, n bytes   the commit's metadata
 */
export interface Checkpoint {
  group: string;
  topic: string;
  partition: number;
  upstreamOffset: number;
  downstreamOffset: number;
  metadata: string;
}

/** The checkpoint in a record, or a message saying why it is not one (naming what was read). */
export function decodeCheckpoint(key: Uint8Array | null, value: Uint8Array | null): Checkpoint | string {
  if (key === null || value === null) return 'a checkpoint record needs a key and a value';
  const k = new StructReader(key);
  const v = new StructReader(value);
  try {
    const group = k.string();
    const topic = k.string();
    const partition = k.int32();
    k.end('key');
    const version = v.int16();
    if (version !== 0) return `checkpoint version ${version} is not known (only 0)`;
    const checkpoint = { group, topic, partition, upstreamOffset: v.int64(), downstreamOffset: v.int64(), metadata: v.string() };
    v.end('value');
    return checkpoint;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The record MM2 would write for `c` (tests build checkpoint topics with it). */
export function encodeCheckpoint(c: Checkpoint): { key: Buffer; value: Buffer } {
  const str = (s: string) => {
    const bytes = Buffer.from(s, 'utf8');
    const out = Buffer.alloc(2 + bytes.length);
    out.writeInt16BE(bytes.length, 0);
    bytes.copy(out, 2);
    return out;
  };
  const int32 = Buffer.alloc(4);
  int32.writeInt32BE(c.partition, 0);
  const value = Buffer.alloc(18);
  value.writeInt16BE(0, 0);
  value.writeBigInt64BE(BigInt(c.upstreamOffset), 2);
  value.writeBigInt64BE(BigInt(c.downstreamOffset), 10);
  return { key: Buffer.concat([str(c.group), str(c.topic), int32]), value: Buffer.concat([value, str(c.metadata)]) };
}

class StructReader {
  private at = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number, what: string): void {
    if (this.at + n > this.bytes.length) throw new Error(`checkpoint record cut short: ${what} needs ${n} bytes at byte ${this.at} of ${this.bytes.length}`);
  }

  int16(): number {
    this.need(2, 'an int16');
    const n = this.view.getInt16(this.at);
    this.at += 2;
    return n;
  }

  int32(): number {
    this.need(4, 'an int32');
    const n = this.view.getInt32(this.at);
    this.at += 4;
    return n;
  }

  int64(): number {
    this.need(8, 'an int64');
    const n = this.view.getBigInt64(this.at);
    this.at += 8;
    return Number(n);
  }

  string(): string {
    const n = this.int16();
    if (n < 0) throw new Error(`checkpoint record holds a null string at byte ${this.at - 2}`);
    this.need(n, 'a string');
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.at, n).toString('utf8');
    this.at += n;
    return s;
  }

  end(what: string): void {
    if (this.at !== this.bytes.length) throw new Error(`checkpoint ${what} has ${this.bytes.length - this.at} bytes after its fields`);
  }
}
