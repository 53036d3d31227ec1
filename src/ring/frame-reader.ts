import { CONTROL_INT32S, CTRL_PUBLISHED_SEQ, F_HEADERS_LENGTH, F_KEY_LENGTH, F_OFFSET, F_PARTITION, F_PIPELINE, F_TIMESTAMP, F_TOPIC_ID, F_VALUE_LENGTH, FRAME_HEADER_BYTES, TWO_POW_32 } from './layout';

/**
 * A worker's read-only view of the ring. One instance per worker; `at(pos)` moves it to a frame and
 * the getters read that frame's fields without allocating.
 */
export class FrameReader {
  readonly buffer: Buffer;
  private readonly i32: Int32Array;
  private readonly u16: Uint16Array;
  private readonly control: Int32Array;
  private i = 0;
  pos = 0;
  /** Set by findHeader: the length of the header value it found. */
  foundLength = -1;
  /** Header names as UTF-8, made once per name. */
  private readonly headerNames = new Map<string, Buffer>();

  constructor(sab: SharedArrayBuffer) {
    this.buffer = Buffer.from(sab);
    this.i32 = new Int32Array(sab);
    this.u16 = new Uint16Array(sab);
    this.control = new Int32Array(sab, 0, CONTROL_INT32S);
  }

  /** Acquire fence: everything the main thread wrote before publishing a chunk is visible after this. */
  acquire(): number {
    return Atomics.load(this.control, CTRL_PUBLISHED_SEQ);
  }

  at(pos: number): void {
    this.pos = pos;
    this.i = pos >> 2;
  }

  get frameBytes(): number {
    return this.i32[this.i] >>> 0;
  }
  get pipeline(): number {
    return this.u16[(this.pos + F_PIPELINE) >> 1];
  }
  get topicId(): number {
    return this.u16[(this.pos + F_TOPIC_ID) >> 1];
  }
  get partition(): number {
    return this.i32[this.i + (F_PARTITION >> 2)];
  }
  get keyLength(): number {
    return this.i32[this.i + (F_KEY_LENGTH >> 2)];
  }
  get valueLength(): number {
    return this.i32[this.i + (F_VALUE_LENGTH >> 2)];
  }
  get offset(): number {
    const j = this.i + (F_OFFSET >> 2);
    return this.i32[j + 1] * TWO_POW_32 + (this.i32[j] >>> 0);
  }
  get timestamp(): number {
    const j = this.i + (F_TIMESTAMP >> 2);
    return this.i32[j + 1] * TWO_POW_32 + (this.i32[j] >>> 0);
  }
  get keyStart(): number {
    return this.pos + FRAME_HEADER_BYTES;
  }
  get valueStart(): number {
    const k = this.keyLength;
    return this.pos + FRAME_HEADER_BYTES + (k > 0 ? k : 0);
  }
  get headersLength(): number {
    return this.i32[this.i + (F_HEADERS_LENGTH >> 2)];
  }
  get headersStart(): number {
    const v = this.valueLength;
    return this.valueStart + (v > 0 ? v : 0);
  }

  /** Where the value of the record's last header `name` starts (its length in foundLength); -1: none, or a null value. */
  findHeader(name: string): number {
    const length = this.headersLength;
    if (length <= 0) return -1;
    let wanted = this.headerNames.get(name);
    if (wanted === undefined) this.headerNames.set(name, (wanted = Buffer.from(name)));
    const buf = this.buffer;
    let pos = this.headersStart;
    const end = pos + length;
    let found = -1;
    let foundLength = -1;
    while (pos < end) {
      const nameLength = buf.readUInt16LE(pos);
      const nameAt = pos + 2;
      const valueLength = buf.readInt32LE(nameAt + nameLength);
      const valueAt = nameAt + nameLength + 4;
      if (nameLength === wanted.length && buf.compare(wanted, 0, nameLength, nameAt, nameAt + nameLength) === 0) {
        found = valueAt;
        foundLength = valueLength;
      }
      pos = valueAt + (valueLength > 0 ? valueLength : 0);
    }
    if (found < 0 || foundLength < 0) return -1;
    this.foundLength = foundLength;
    return found;
  }
}
