import {
  CONTROL_INT32S,
  CTRL_PUBLISHED_SEQ,
  DATA_START,
  F_KEY_LENGTH,
  F_OFFSET,
  F_PARTITION,
  F_PIPELINE,
  F_HEADERS_LENGTH,
  F_TIMESTAMP,
  F_TOPIC_ID,
  F_VALUE_LENGTH,
  FRAME_ALIGN,
  FRAME_HEADER_BYTES,
  PIPELINE_SKIP,
  TWO_POW_32,
  frameBytes,
} from './layout';
import { UNFRAMEABLE_HEADERS } from './headers';

/** A closed run of frames, decoded by one task and freed when all its rows are durable. */
export interface RingChunk {
  readonly seq: number;
  readonly start: number;
  readonly end: number;
  readonly frames: number;
  released: boolean;
}

/**
 * The main thread's side of the ring (see layout.ts): appends frames, closes chunks, frees them.
 * Only the main thread touches this object, so its bookkeeping needs no atomics.
 */
export class RingWriter {
  readonly sab: SharedArrayBuffer;
  private readonly bytes: Uint8Array;
  private readonly i32: Int32Array;
  private readonly u16: Uint16Array;
  private readonly control: Int32Array;
  private readonly end: number;
  private head = DATA_START;
  /** End of the span reserveSpan() last handed out (exclusive), and whether it is being written. */
  private spanLimit = DATA_START;
  private spanActive = false;
  private openStart = DATA_START;
  private openFrames = 0;
  private seq = 0;
  /** Closed, unreleased chunks in the order they were written; live[0].start is the tail. */
  private readonly live: RingChunk[] = [];
  private liveBytes = 0;

  constructor(ringBytes: number) {
    const size = ringBytes & ~7;
    this.sab = new SharedArrayBuffer(size);
    this.bytes = new Uint8Array(this.sab);
    this.i32 = new Int32Array(this.sab);
    this.u16 = new Uint16Array(this.sab);
    this.control = new Int32Array(this.sab, 0, CONTROL_INT32S);
    this.end = size;
  }

  /** Largest frame the ring can ever hold. */
  get maxFrameBytes(): number {
    return this.end - DATA_START - 8;
  }

  /** Bytes held by closed chunks not yet released plus the open chunk. */
  get usedBytes(): number {
    return this.liveBytes + (this.head - this.openStart);
  }

  /** Bytes written to the open chunk so far. */
  get openBytes(): number {
    return this.head - this.openStart;
  }

  get capacity(): number {
    return this.end - DATA_START;
  }

  get openFrameCount(): number {
    return this.openFrames;
  }

  /**
   * Appends one frame to the open chunk. Returns false when there is no room: either the ring is full
   * (wait for a release) or the frame would have to wrap while the open chunk has frames (close it, then
   * retry).
   */
  write(
    pipeline: number,
    topicId: number,
    partition: number,
    offset: number,
    timestamp: number,
    key: Uint8Array | null | undefined,
    value: Uint8Array | null | undefined,
    /** Encoded as drawn in layout.ts (encodeHeaders), null, or UNFRAMEABLE_HEADERS (written as headersLength -1). */
    headers: Uint8Array | null = null,
  ): boolean {
    const keyLength = key ? key.length : -1;
    const valueLength = value ? value.length : -1;
    const headersLength = headers === UNFRAMEABLE_HEADERS ? -1 : headers ? headers.length : 0;
    const size = frameBytes(keyLength, valueLength, Math.max(0, headersLength));
    const pos = this.reserve(size);
    if (pos < 0) return false;
    const i = pos >> 2;
    const i32 = this.i32;
    i32[i] = size;
    this.u16[(pos + F_PIPELINE) >> 1] = pipeline;
    this.u16[(pos + F_TOPIC_ID) >> 1] = topicId;
    i32[i + (F_PARTITION >> 2)] = partition;
    i32[i + (F_KEY_LENGTH >> 2)] = keyLength;
    i32[i + (F_VALUE_LENGTH >> 2)] = valueLength;
    i32[i + (F_HEADERS_LENGTH >> 2)] = headersLength;
    const offsetLow = offset >>> 0;
    i32[i + (F_OFFSET >> 2)] = offsetLow;
    i32[i + (F_OFFSET >> 2) + 1] = (offset - offsetLow) / TWO_POW_32;
    const ts = timestamp >= 0 ? timestamp : -1;
    const tsLow = ts >>> 0;
    i32[i + (F_TIMESTAMP >> 2)] = tsLow;
    i32[i + (F_TIMESTAMP >> 2) + 1] = (ts - tsLow) / TWO_POW_32;
    let at = pos + FRAME_HEADER_BYTES;
    if (keyLength > 0) {
      this.bytes.set(key!, at);
      at += keyLength;
    }
    if (valueLength > 0) {
      this.bytes.set(value!, at);
      at += valueLength;
    }
    if (headersLength > 0) this.bytes.set(headers!, at);
    this.head = pos + size;
    this.openFrames++;
    return true;
  }

  /**
   * For writers that place frames themselves (the native consumer): the start of the contiguous room at
   * the head of the open chunk, if it holds at least `minBytes`, else -1 (as write() would return false).
   * The room ends at `spanEnd`; after writing frames there, call advance().
   */
  reserveSpan(minBytes: number): number {
    const pos = this.reserve(minBytes);
    if (pos < 0) return -1;
    const tail = this.live.length > 0 ? this.live[0].start : -1;
    // Room stops short of the tail so a full ring is never mistaken for an empty one.
    this.spanLimit = tail > pos ? tail - FRAME_ALIGN : this.end;
    this.spanActive = true;
    return pos;
  }

  get spanEnd(): number {
    return this.spanLimit;
  }

  /** Start of the open chunk. */
  get openStartPos(): number {
    return this.openStart;
  }

  /**
   * Ends the span: takes `frames` frames written in place from the head up to `newHead` into the open
   * chunk. Must follow every reserveSpan(), also when nothing was written.
   */
  advance(newHead: number, frames: number): void {
    this.spanActive = false;
    if (frames === 0) return;
    if (newHead > this.spanLimit || newHead < this.head) throw new RangeError(`ring: advance to ${newHead} outside the reserved span [${this.head}, ${this.spanLimit})`);
    this.head = newHead;
    this.openFrames += frames;
  }

  /** The Kafka timestamp of the frame at `pos` (ms, -1 when absent). */
  timestampAt(pos: number): number {
    const i = (pos + F_TIMESTAMP) >> 2;
    return this.i32[i + 1] * TWO_POW_32 + (this.i32[i] >>> 0);
  }

  /**
   * Marks the open chunk's frames for which `skip(topicId, partition, offset)` is true as PIPELINE_SKIP
   * (before the chunk is published). A slow walk over the chunk: only for partitions that need it.
   */
  skipOpenFrames(skip: (topicId: number, partition: number, offset: number) => boolean): number {
    let marked = 0;
    let pos = this.openStart;
    for (let n = 0; n < this.openFrames; n++) {
      const i = pos >> 2;
      const offset = this.i32[i + (F_OFFSET >> 2) + 1] * TWO_POW_32 + (this.i32[i + (F_OFFSET >> 2)] >>> 0);
      if (skip(this.u16[(pos + F_TOPIC_ID) >> 1], this.i32[i + (F_PARTITION >> 2)], offset)) {
        this.u16[(pos + F_PIPELINE) >> 1] = PIPELINE_SKIP;
        marked++;
      }
      pos += this.i32[i] >>> 0;
    }
    return marked;
  }

  /** Closes the open chunk (null when it has no frames) and publishes its bytes to the workers. */
  close(): RingChunk | null {
    if (this.openFrames === 0) return null;
    const chunk: RingChunk = { seq: ++this.seq, start: this.openStart, end: this.head, frames: this.openFrames, released: false };
    this.live.push(chunk);
    this.liveBytes += chunk.end - chunk.start;
    this.openStart = this.head;
    this.openFrames = 0;
    Atomics.store(this.control, CTRL_PUBLISHED_SEQ, this.seq);
    return chunk;
  }

  /** Frees a chunk; the tail moves over every released chunk at the front. */
  release(chunk: RingChunk): void {
    if (chunk.released) return;
    chunk.released = true;
    this.liveBytes -= chunk.end - chunk.start;
    let n = 0;
    while (n < this.live.length && this.live[n].released) n++;
    if (n > 0) this.live.splice(0, n);
    // An empty ring starts over at the front, unless a span at the head is being written right now.
    if (this.live.length === 0 && this.openFrames === 0 && !this.spanActive) {
      this.head = DATA_START;
      this.openStart = DATA_START;
    }
  }

  private reserve(size: number): number {
    const tail = this.live.length > 0 ? this.live[0].start : this.openStart;
    const empty = this.live.length === 0 && this.openFrames === 0;
    if (empty) {
      this.head = DATA_START;
      this.openStart = DATA_START;
      return DATA_START + size <= this.end ? DATA_START : -1;
    }
    if (this.head >= tail) {
      if (this.head + size <= this.end) return this.head;
      // Wrapping: only an empty open chunk may move to the start, so no chunk ever wraps.
      if (this.openFrames > 0) return -1;
      if (DATA_START + size < tail) {
        this.head = DATA_START;
        this.openStart = DATA_START;
        return DATA_START;
      }
      return -1;
    }
    return this.head + size < tail ? this.head : -1;
  }
}
