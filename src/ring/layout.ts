/**
 * Shared memory layout of the record ring: the only memory the main thread and the decode workers share.
 *
 *   SharedArrayBuffer (engine.ringBytes)
 *   ┌──────────────── control: CONTROL_BYTES ────────────────┬──────────── data: frames ─────────────┐
 *   │ Int32[CTRL_PUBLISHED_SEQ] (writer: main thread)  ...   │ [chunk][chunk]     [chunk][chunk]...   │
 *   └────────────────────────────────────────────────────────┴───────────────────────────────────────┘
 *                                                             ^DATA_START                  byteLength^
 *
 * The data region is a circular buffer of chunks. A chunk is a run of frames written by the main
 * thread from one or more consume() calls and handed to one decode task as [start, end). A chunk never
 * wraps: when the next frame does not fit before the end, the chunk closes and the next one starts at
 * DATA_START. Space is freed by the main thread alone, when every row of a chunk is durable (chunks
 * complete out of order; the oldest live chunk marks the tail).
 *
 * One frame (all integers little-endian, frame start 8-byte aligned):
 *
 *   offset  size  field
 *   0       4     u32  frameBytes     whole frame incl. padding; the next frame starts here + frameBytes
 *   4       2     u16  pipeline       index into config.pipelines; PIPELINE_SKIP: already written, skip it
 *   6       2     u16  topicId        index into the main thread's topic table (for error reports)
 *   8       4     i32  partition
 *   12      4     i32  keyLength      -1 = null key
 *   16      4     i32  valueLength    -1 = null value (tombstone)
 *   20      4     i32  headersLength  bytes of the record's headers after the value, 0 = none, -1 = the
 *                                      headers cannot be framed (a name over 65,535 bytes): a record error
 *   24      8     i64  offset
 *   32      8     i64  timestamp      ms since epoch, -1 if absent
 *   40      k     key bytes, then value bytes, then headers, then 0-7 bytes of padding
 *
 * Headers (kept so a dead-lettered record can be produced again byte for byte), one entry after another:
 *
 *   u16 nameLength, name bytes (UTF-8), i32 valueLength (-1 = null), value bytes
 *
 * Who writes frames: the main thread (RingWriter.write, node-rdkafka source), or the native addon
 * (native/src/fill.cc, native source) on a libuv thread, inside a span [head, limit) the main thread
 * reserved for that one fill (RingWriter.reserveSpan) and takes back when the fill completes (advance).
 * Never both at once, and never outside the open chunk. Writes to a frame happen-before the worker reads
 * it: a native fill's completion reaches the main thread through libuv (a lock), the main thread then
 * stores CTRL_PUBLISHED_SEQ with Atomics when it closes the chunk, and the worker loads it with Atomics
 * before reading. CTRL_PUBLISHED_SEQ has one writer: the main thread.
 */

/** Int32 slot: count of chunks published. Writer: main thread. Readers: workers (Atomics.load as a fence). */
export const CTRL_PUBLISHED_SEQ = 0;
export const CONTROL_INT32S = 16;
export const CONTROL_BYTES = CONTROL_INT32S * 4;
export const DATA_START = CONTROL_BYTES;

export const FRAME_ALIGN = 8;
export const FRAME_HEADER_BYTES = 40;

/** Byte offsets of the frame fields (see the drawing above). */
export const F_FRAME_BYTES = 0;
export const F_PIPELINE = 4;
export const F_TOPIC_ID = 6;
export const F_PARTITION = 8;
export const F_KEY_LENGTH = 12;
export const F_VALUE_LENGTH = 16;
export const F_HEADERS_LENGTH = 20;
export const F_OFFSET = 24;
export const F_TIMESTAMP = 32;

export const TWO_POW_32 = 4294967296;

/**
 * A frame's pipeline after the main thread found, before publishing its chunk, that the record needs no
 * row: exactly-once, an earlier owner of the partition already made it durable, or the partition is
 * fenced. Workers pass over it; its offset still counts as finished.
 */
export const PIPELINE_SKIP = 0xffff;

/** Frame size for a key, a value (-1 = null counts as 0) and encoded headers of the given lengths. */
export function frameBytes(keyLength: number, valueLength: number, headersLength = 0): number {
  const raw = FRAME_HEADER_BYTES + (keyLength > 0 ? keyLength : 0) + (valueLength > 0 ? valueLength : 0) + headersLength;
  return (raw + FRAME_ALIGN - 1) & ~(FRAME_ALIGN - 1);
}

/**
 * Schema table: a second SharedArrayBuffer, for pipelines whose records are framed for a schema
 * registry. The first time the main thread meets a schema id it fetches the writer schema, appends it
 * here and only then writes the record's frame, so a worker always finds the schema of a frame it reads.
 *
 *   Int32[ST_COUNT]                       entries published (writer: main thread; workers Atomics.load it)
 *   Int32[ST_ENTRIES + i*ST_ENTRY_INT32S] entry i: pipeline, schema id, text byte offset, text byte length
 *   bytes from ST_TEXT_START              UTF-8 JSON of the registry's answer ({schemaType, schema} or {error})
 */
export const ST_COUNT = 0;
export const ST_ENTRIES = 4;
export const ST_ENTRY_INT32S = 4;
export const ST_MAX_ENTRIES = 4096;
export const ST_TEXT_START = (ST_ENTRIES + ST_MAX_ENTRIES * ST_ENTRY_INT32S) * 4;
export const SCHEMA_TABLE_BYTES = 16 << 20;
