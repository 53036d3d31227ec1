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

/** What encodeHeaders returns for headers that cannot be framed: the frame carries headersLength -1. */
export const UNFRAMEABLE_HEADERS = new Uint8Array(0);
/** Longest header name the u16 length can say. */
export const MAX_HEADER_NAME_BYTES = 0xffff;

/** The encoded headers, null when there are none, UNFRAMEABLE_HEADERS when a name is too long to frame. */
export function encodeHeaders(headers: RdkafkaHeaders | undefined): Uint8Array | null {
  if (!headers || headers.length === 0) return null;
  const entries: Array<[Buffer, Buffer | null]> = [];
  let size = 0;
  for (const h of headers) {
    for (const [name, v] of Object.entries(h)) {
      const n = Buffer.from(name);
      if (n.length > MAX_HEADER_NAME_BYTES) return UNFRAMEABLE_HEADERS;
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

/** The headers of a block; throws naming the header and byte when a length runs past the block. */
export function decodeHeaders(buf: Buffer, start: number, length: number): RecordHeader[] {
  const out: RecordHeader[] = [];
  const end = start + length;
  let at = start;
  const bad = (why: string) => new RangeError(`header ${out.length} at byte ${at - start}: ${why}`);
  while (at < end) {
    if (end - at < 2) throw bad('the block ends inside the name length');
    const nameLength = buf.readUInt16LE(at);
    if (end - at - 2 < nameLength) throw bad(`a name of ${nameLength} bytes runs past the block`);
    const name = buf.toString('utf8', at + 2, at + 2 + nameLength);
    if (end - at - 2 - nameLength < 4) throw bad('the block ends inside the value length');
    const valueLength = buf.readInt32LE(at + 2 + nameLength);
    if (valueLength < -1 || end - at - 6 - nameLength < valueLength) throw bad(`a value of ${valueLength} bytes runs past the block`);
    at += 6 + nameLength;
    out.push({ name, value: valueLength < 0 ? null : Buffer.from(buf.subarray(at, at + valueLength)) });
    if (valueLength > 0) at += valueLength;
  }
  return out;
}
