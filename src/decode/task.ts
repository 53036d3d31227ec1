import type { EngineErrorData } from '../errors';
import type { WorkerPipeline } from './column-plan';

/** Sent once to every worker. */
export interface DecodeWorkerData {
  ring: SharedArrayBuffer;
  /** The shared schema table (ring/schema-table.ts), when a pipeline reads a schema registry. */
  schemaTable: SharedArrayBuffer | null;
  pipelines: WorkerPipeline[];
}

/** One task: decode the frames of ring bytes [start, end). */
export interface DecodeTask {
  start: number;
  end: number;
  frames: number;
}

/** Binary COPY tuples of one pipeline's records in the chunk (the buffer is transferred, not copied). */
export interface PipelineRows {
  pipeline: number;
  rows: number;
  byteLength: number;
  buffer: ArrayBuffer;
  /** Int32 ring position of each row's frame, in row order: which record a row the server rejects came from. */
  frames: ArrayBuffer;
}

/** A record that produced no row, and why. */
export interface RecordFailure {
  /** Ring position of the record's frame (it stays in the ring until its chunk is settled). */
  pos: number;
  pipeline: number;
  topicId: number;
  partition: number;
  offset: number;
  error: EngineErrorData;
}

export interface DecodeResult {
  outputs: PipelineRows[];
  failures: RecordFailure[];
  /** Records with a null value (tombstones): nothing to append. */
  tombstones: number;
  /** Frames marked PIPELINE_SKIP (already durable, or of a fenced partition). */
  skipped: number;
  /** [Transcode] Records written by a transcoder; the others of the chunk took the object path. */
  transcoded: number;
  /** [Transcode] Of those, the rows a generated row function wrote (avro-fast-row.ts, proto-fast-row.ts); the rest took the closures. */
  generated: number;
  /** Time the worker spent on the chunk. */
  decodeMs: number;
  /** A failure of the whole task (a bug, not a record); returned as data, never thrown across threads. */
  fatal: EngineErrorData | null;
}
