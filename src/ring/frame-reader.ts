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
}
