/**
 * Kafka record headers as a frame carries them (layout.ts): entries of u16 nameLength, name (UTF-8),
 * i32 valueLength (-1 = null), value; little-endian. Only records that have headers pay for this.
 */
export interface RecordHeader {
  name: string;
  value: Buffer | null;
}

/** node-rdkafka's form: one object per header, { name: value }. */
export type RdkafkaHeaders = ReadonlyArray<Record<string, string | Buffer | Uint8Array | null | undefined>>;

export function encodeHeaders(headers: RdkafkaHeaders | undefined): Uint8Array | null {
  if (!headers || headers.length === 0) return null;
  const entries: Array<[Buffer, Buffer | null]> = [];
  let size = 0;
  for (const h of headers) {
    for (const [name, v] of Object.entries(h)) {
      const n = Buffer.from(name);
      const value = v === null || v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      entries.push([n, value]);
      size += 2 + n.length + 4 + (value ? value.length : 0);
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [n, value] of entries) {
    at = out.writeUInt16LE(n.length, at);
    at += n.copy(out, at);
    at = out.writeInt32LE(value ? value.length : -1, at);
    if (value) at += value.copy(out, at);
  }
  return out;
}

export function decodeHeaders(buf: Buffer, start: number, length: number): RecordHeader[] {
  const out: RecordHeader[] = [];
  const end = start + length;
  let at = start;
  while (at < end) {
    const nameLength = buf.readUInt16LE(at);
    at += 2;
    const name = buf.toString('utf8', at, at + nameLength);
    at += nameLength;
    const valueLength = buf.readInt32LE(at);
    at += 4;
    out.push({ name, value: valueLength < 0 ? null : Buffer.from(buf.subarray(at, at + valueLength)) });
    if (valueLength > 0) at += valueLength;
  }
  return out;
}
