import type avro from 'avsc';
import { ErrorCodes, messageOf, type EngineErrorData } from '../errors';
import { FrameReader } from '../ring/frame-reader';
import { MAX_HEADER_NAME_BYTES } from '../ring/headers';
import { PIPELINE_SKIP } from '../ring/layout';
import { SchemaTable, TOPIC_NAMES } from '../ring/schema-table';
import { encoderFor, ValueError, type ColumnEncoder } from '../copy/column-encoders';
import { RowWriter } from '../copy/copy-binary';
import { AvroReader, parseAvro } from './avro';
import { changeEvent, keyField, keyValue } from './change-events';
import type { WorkerColumn, WorkerPipeline } from './column-plan';
import { compileRegistered, compileStatic, SchemaRefused, type CompiledSchema, type RegisteredSchema, type Transcoder } from './decoders';
import { pick } from './pick';
import { RecordRouter } from './record-routes';
import type { DecodeResult, DecodeTask, PipelineRows, RecordFailure } from './task';

interface PipelineState {
  spec: WorkerPipeline;
  columns: WorkerColumn[];
  /** The one schema of a pipeline without registry framing. */
  fixed: CompiledSchema | null;
  /** Registry pipelines: compiled writer schemas by id (and Protobuf message-index path). */
  registered: Map<string | number, CompiledSchema>;
  readerAvro: avro.Type | null;
  writer: RowWriter | null;
  /** Tuple bytes per ring byte in this pipeline's last chunk: sizes the next output buffer (see startOutput). */
  outputRatio: number;
  rows: number;
  /** Frame position of each row written so far (see PipelineRows.frames). */
  frames: Int32Array | null;
  /** upsert/cdc: per column, the encoder a delete row uses for a key column (null for the others). */
  keyEncoders: Array<ColumnEncoder | null> | null;
  /** upsert/cdc with a registry: readers of Avro record keys by writer-schema id. */
  keyReaders: Map<number, AvroReader>;
  /** [Tables] A routed pipeline's router (its records are written by route pipelines). */
  router: RecordRouter | null;
}

/**
 * The first size of a chunk's tuple buffer: what the pipeline's last chunk needed for as many ring bytes,
 * plus a sixteenth. Binary tuples are often twice the Avro they come from, so sizing by the ring bytes
 * alone grew almost every buffer once, leaving the first one as garbage; pages never written cost nothing.
 */
function outputBytes(p: PipelineState, chunkBytes: number): number {
  return Math.ceil(chunkBytes * p.outputRatio * 1.0625) + 4096;
}

/** A record that, by the pipeline's config, produces no row and is no error (a cdc truncate with truncate: skip). */
const NO_ROW = 'no-row';
/** routeTarget's answers besides a pipeline index. */
const ROUTE_FAILED = -1;
const ROUTE_NO_ROW = -2;

/**
 * Decodes chunks of the shared ring: reads each frame in place, decodes its value, and writes one binary
 * COPY tuple per record into a per-pipeline buffer. A record that fails (malformed bytes, an unknown
 * schema, a value that does not fit its column) produces no row and a RecordFailure; decoding never
 * throws for a record. One instance per worker thread (worker.ts); benchmarks drive it directly.
 */
/** A frame whose headers could not be framed (headersLength -1, see ring/layout.ts). */
const UNFRAMED_HEADERS: EngineErrorData = {
  code: ErrorCodes.RECORD_DECODE,
  message: `a header name is longer than ${MAX_HEADER_NAME_BYTES} bytes: the record's headers cannot be kept (it is dead-lettered without them)`,
  retriable: false,
};

export class ChunkDecoder {
  private readonly reader: FrameReader;
  private readonly schemas: SchemaTable | null;
  /** $topic and $header.NAME columns: names met so far. */
  private readonly topicNames: string[] = [];
  private readonly pipelines: PipelineState[];
  /** Set by routeTarget when it returns ROUTE_FAILED. */
  private routeError: EngineErrorData | null = null;
  /** Set by frameSchema: where the payload starts after registry framing. */
  private payloadStart = 0;
  /** Records of the chunk being decoded that went through a transcoder (the rest took the object path). */
  private transcoded = 0;
  /** Rows written by a generated row function (avro-fast-row.ts, proto-fast-row.ts) since this decoder was made. */
  fastRows = 0;
  /** The same, for the chunk being decoded. */
  private generated = 0;

  /**
   * `transcode: false` keeps every record on the object path (the reference; bench decode compares both);
   * `fastRow: false` keeps transcoded records off the generated row functions (their closures' path).
   */
  constructor(ring: SharedArrayBuffer, specs: readonly WorkerPipeline[], schemaTable: SharedArrayBuffer | null = null, private readonly transcode = true, private readonly fastRow = true) {
    this.reader = new FrameReader(ring);
    this.schemas = schemaTable ? new SchemaTable(schemaTable) : null;
    this.pipelines = specs.map((spec) => ({
      spec,
      columns: spec.columns,
      fixed: compileStatic(this.reader.buffer, spec),
      registered: new Map(),
      keyReaders: new Map(),
      readerAvro: spec.registry && spec.format === 'avro' && spec.schemaText !== null ? parseAvro(spec.schemaText, spec.name) : null,
      writer: null,
      outputRatio: 1,
      rows: 0,
      frames: null,
      keyEncoders: spec.merge ? spec.columns.map((c, i) => (spec.merge!.keyColumns.includes(i) ? encoderFor(c.type) : null)) : null,
      router: spec.routes ? new RecordRouter(spec.routes) : null,
    }));
  }

  /** Decodes a chunk; `transfer` lists the output buffers, to be moved (not copied) to the caller. */
  decode(task: DecodeTask): { result: DecodeResult; transfer: ArrayBuffer[] } {
    const reader = this.reader;
    const failures: RecordFailure[] = [];
    let tombstones = 0;
    let skipped = 0;
    this.transcoded = 0;
    this.generated = 0;
    try {
      reader.acquire();
      let pos = task.start;
      for (let n = 0; n < task.frames && pos < task.end; n++) {
        reader.at(pos);
        const size = reader.frameBytes;
        if (reader.pipeline === PIPELINE_SKIP) skipped++;
        else {
          let p = this.pipelines[reader.pipeline];
          // [Tables] routes: the record is written by the route pipeline of its table.
          const to = p.router === null ? 0 : this.routeTarget(p);
          if (to >= 0 && p.router !== null) p = this.pipelines[to];
          const failure = to === ROUTE_FAILED
            ? this.routeError!
            : to === ROUTE_NO_ROW
            ? NO_ROW
            : reader.headersLength < 0
            ? UNFRAMED_HEADERS
            : reader.valueLength >= 0
            ? this.encodeRecord(p, task.end - task.start, task.frames)
            : p.spec.merge?.deleteOnTombstone ? this.encodeDelete(p, null, task.end - task.start, task.frames) : NO_ROW;
          if (failure === NO_ROW) tombstones++;
          else if (failure !== null) failures.push(this.failure(failure));
        }
        pos += size;
      }
      const outputs: PipelineRows[] = [];
      const transfer: ArrayBuffer[] = [];
      const chunkBytes = task.end - task.start;
      this.pipelines.forEach((p, index) => {
        if (p.writer === null) return;
        p.outputRatio = p.writer.pos / chunkBytes;
        const buffer = p.writer.buf.buffer as ArrayBuffer;
        const frames = p.frames!.buffer as ArrayBuffer;
        outputs.push({ pipeline: index, rows: p.rows, byteLength: p.writer.pos, buffer, frames });
        transfer.push(buffer, frames);
        p.writer = null;
        p.frames = null;
        p.rows = 0;
      });
      return { result: { outputs, failures, tombstones, skipped, transcoded: this.transcoded, generated: this.generated, decodeMs: 0, fatal: null }, transfer };
    } catch (err) {
      for (const p of this.pipelines) {
        p.writer = null;
        p.frames = null;
        p.rows = 0;
      }
      const fatal: EngineErrorData = { code: ErrorCodes.WORKER_FAILED, message: `decode worker failed on a chunk: ${messageOf(err)}`, retriable: false };
      return { result: { outputs: [], failures, tombstones, skipped, transcoded: 0, generated: 0, decodeMs: 0, fatal }, transfer: [] };
    }
  }

  /** Decodes and encodes the record under the reader; returns null, NO_ROW or the failure's error. */
  private encodeRecord(p: PipelineState, chunkBytes: number, chunkFrames: number): EngineErrorData | typeof NO_ROW | null {
    const reader = this.reader;
    const end = reader.valueStart + reader.valueLength;
    let value: unknown;
    let schema: CompiledSchema;
    try {
      schema = p.fixed ?? this.frameSchema(p, end);
      if (schema.transcoder !== null && this.transcode) return this.transcodeRecord(p, schema, schema.transcoder, p.fixed ? reader.valueStart : this.payloadStart, end, chunkBytes, chunkFrames);
      value = schema.reader.decode(p.fixed ? reader.valueStart : this.payloadStart, end);
    } catch (err) {
      if (err instanceof SchemaRefused) return { code: err.code, message: err.message, retriable: false };
      return { code: ErrorCodes.RECORD_DECODE, message: `cannot decode ${p.spec.format} value: ${messageOf(err)}`, retriable: false };
    }
    const merge = p.spec.merge;
    if (merge?.cdc) {
      const change = changeEvent(value);
      const op = change?.op;
      if (op === 'd') return this.encodeDelete(p, change!.before ?? null, chunkBytes, chunkFrames);
      if (op === 't') {
        return merge.skipTruncate ? NO_ROW : { code: ErrorCodes.CDC_TRUNCATE, message: 'a truncate event (op "t") is not applied to the table (truncate: skip ignores them)', retriable: false };
      }
      if (op !== 'c' && op !== 'r' && op !== 'u') {
        const why = change === null ? 'the value is not a Debezium change event (no "op" field)' : `unknown change event op "${String(op)}" (expected c, r, u, d or t)`;
        return { code: ErrorCodes.RECORD_DECODE, message: why, retriable: false };
      }
      value = change!.after;
      if (value === null || typeof value !== 'object') return { code: ErrorCodes.RECORD_DECODE, message: `change event op "${op}" has no "after" row`, retriable: false };
    }
    const w = this.beginRow(p, chunkBytes, chunkFrames);
    const columns = p.columns;
    for (let i = 0; i < columns.length; i++) {
      const col = columns[i];
      const v = col.source === 'field' ? pick(value, schema.paths[i], schema.presence[i]) : this.meta(col);
      if (v === null || v === undefined) {
        if (col.required) return nullFailure(w, col);
        w.null();
        continue;
      }
      try {
        schema.encoders[i](w, v);
      } catch (err) {
        return valueFailure(w, col, err);
      }
    }
    this.endRow(p, w);
    return null;
  }

  /** Starts a row in the pipeline's output for the chunk (made on its first row); upsert/cdc rows have 2 more fields. */
  private beginRow(p: PipelineState, chunkBytes: number, chunkFrames: number): RowWriter {
    const w = p.writer ?? (p.writer = new RowWriter(outputBytes(p, chunkBytes)));
    p.frames ??= new Int32Array(chunkFrames);
    w.beginRow(p.spec.merge ? p.columns.length + 2 : p.columns.length);
    return w;
  }

  /** Ends a row that is not a delete: upsert/cdc's two fields (see sink/merge.ts), the row's frame. */
  private endRow(p: PipelineState, w: RowWriter): void {
    if (p.spec.merge) {
      w.bool(false);
      w.int64(this.reader.offset);
    }
    p.frames![p.rows++] = this.reader.pos;
  }

  /** encodeRecord for a schema with a transcoder: the same rows and failures, no JS value per record. */
  private transcodeRecord(p: PipelineState, schema: CompiledSchema, t: Transcoder, start: number, end: number, chunkBytes: number, chunkFrames: number): EngineErrorData | null {
    if (t.row !== null && this.fastRow) {
      const reader = this.reader;
      const w = this.beginRow(p, chunkBytes, chunkFrames);
      if (t.row(reader.buffer, start, end, w, reader.partition, reader.offset, reader.timestamp)) {
        this.endRow(p, w);
        this.transcoded++;
        this.fastRows++;
        this.generated++;
        return null;
      }
      // Left to the steps below, which write the same bytes or fail the record with its error.
      w.rollback();
    }
    try {
      t.read(start, end);
    } catch (err) {
      if (err instanceof SchemaRefused) return { code: err.code, message: err.message, retriable: false };
      return { code: ErrorCodes.RECORD_DECODE, message: `cannot decode ${p.spec.format} value: ${messageOf(err)}`, retriable: false };
    }
    const w = this.beginRow(p, chunkBytes, chunkFrames);
    const columns = p.columns;
    for (let i = 0; i < columns.length; i++) {
      const col = columns[i];
      let written: boolean;
      try {
        if (col.source === 'field') written = t.write(i, w);
        else {
          const v = this.meta(col);
          written = v !== null && v !== undefined;
          if (written) schema.encoders[i](w, v);
        }
      } catch (err) {
        return valueFailure(w, col, err);
      }
      if (written) continue;
      if (col.required) return nullFailure(w, col);
      w.null();
    }
    this.endRow(p, w);
    this.transcoded++;
    return null;
  }

  /**
   * A delete row (upsert/cdc): the key columns from `image` (a cdc event's `before`) or else from the
   * record key, every other column NULL, then the delete flag and the offset (see sink/merge.ts).
   */
  private encodeDelete(p: PipelineState, image: unknown, chunkBytes: number, chunkFrames: number): EngineErrorData | null {
    const reader = this.reader;
    const merge = p.spec.merge!;
    let key: unknown;
    try {
      key = image !== null && typeof image === 'object' ? image : this.recordKey(p);
    } catch (err) {
      return { code: ErrorCodes.RECORD_DECODE, message: `cannot delete: the record key does not decode: ${messageOf(err)}`, retriable: false };
    }
    const w = this.beginRow(p, chunkBytes, chunkFrames);
    const columns = p.columns;
    for (let i = 0; i < columns.length; i++) {
      const encoder = p.keyEncoders![i];
      if (encoder === null) {
        w.null();
        continue;
      }
      const col = columns[i];
      const v = col.source === 'field' ? keyField(key, col.path, col.name, merge.keyColumns.length) : this.meta(col);
      if (v === null || v === undefined) {
        w.rollback();
        const from = image !== null && typeof image === 'object' ? 'the "before" row' : reader.keyLength < 0 ? 'the record, which has no key' : 'the record key';
        return { code: ErrorCodes.RECORD_NULL, message: `cannot delete: key column "${col.name}" has no value in ${from}`, retriable: false };
      }
      try {
        encoder(w, v);
      } catch (err) {
        w.rollback();
        return { code: ErrorCodes.RECORD_VALUE, message: `cannot delete: key column "${col.name}" (${col.type.typname}): ${err instanceof ValueError ? err.message : messageOf(err)}`, retriable: false };
      }
    }
    w.bool(true);
    w.int64(reader.offset);
    p.frames![p.rows++] = reader.pos;
    return null;
  }

  /**
   * The record key of a delete: JSON (with or without the Connect envelope) or text; in a registry
   * pipeline, a key in the wire format (what Confluent's and Debezium's Avro converters write) is decoded
   * with its writer schema, which the poller published before the record entered the ring.
   */
  private recordKey(p: PipelineState): unknown {
    const r = this.reader;
    if (r.keyLength < 0) return null;
    const buf = r.buffer;
    if (!p.spec.registry || r.keyLength < 5 || buf[r.keyStart] !== 0) return keyValue(buf.toString('utf8', r.keyStart, r.keyStart + r.keyLength));
    const id = buf.readInt32BE(r.keyStart + 1);
    let keyReader = p.keyReaders.get(id);
    if (!keyReader) {
      const text = this.schemas?.find(r.pipeline, id) ?? null;
      if (text === null) throw new Error(`key schema id ${id} was not fetched from the registry`);
      const registered = JSON.parse(text) as RegisteredSchema;
      if (registered.error !== undefined || registered.schema === undefined) throw new Error(registered.error ?? `key schema id ${id}: the registry returned no schema`);
      if ((registered.schemaType ?? 'AVRO') !== 'AVRO') throw new Error(`key schema id ${id} is a ${registered.schemaType} schema; registry-framed keys are read as Avro`);
      keyReader = new AvroReader(buf, parseAvro(registered.schema, `key schema id ${id}`));
      p.keyReaders.set(id, keyReader);
    }
    return keyReader.decode(r.keyStart + 5, r.keyStart + r.keyLength);
  }

  /**
   * Registry wire format: magic byte 0, big-endian int32 schema id, and for Protobuf the message-index
   * path (zigzag varints: a count, then the indexes; a lone 0 means [0]). Sets payloadStart.
   */
  private frameSchema(p: PipelineState, end: number): CompiledSchema {
    const buf = this.reader.buffer;
    let pos = this.reader.valueStart;
    if (end - pos < 5 || buf[pos] !== 0) throw new Error('not in schema registry wire format (magic byte 0 and a 4-byte schema id)');
    const id = buf.readInt32BE(pos + 1);
    pos += 5;
    let key: string | number = id;
    let indexes: number[] = [];
    if (p.spec.format === 'protobuf') {
      const count = zigzag(readVarint(buf, pos, end));
      pos = varintEnd;
      for (let i = 0; i < count; i++) {
        indexes.push(zigzag(readVarint(buf, pos, end)));
        pos = varintEnd;
      }
      if (count === 0) indexes = [0];
      if (count > 0 && !(count === 1 && indexes[0] === 0)) key = `${id}:${indexes.join('.')}`;
    }
    this.payloadStart = pos;
    let compiled = p.registered.get(key);
    if (!compiled) {
      const text = this.schemas?.find(this.reader.pipeline, id) ?? null;
      if (text === null) throw new Error(`schema id ${id} was not fetched from the registry`);
      compiled = compileRegistered(buf, p.spec, id, JSON.parse(text) as RegisteredSchema, indexes, p.readerAvro);
      p.registered.set(key, compiled);
    }
    return compiled;
  }

  private meta(col: WorkerColumn): unknown {
    const reader = this.reader;
    switch (col.source) {
      case 'partition':
        return reader.partition;
      case 'offset':
        return reader.offset;
      case 'timestamp':
        return reader.timestamp >= 0 ? reader.timestamp : null;
      case 'key': {
        const length = reader.keyLength;
        return length < 0 ? null : reader.buffer.toString('utf8', reader.keyStart, reader.keyStart + length);
      }
      case 'topic':
        return this.topicName(reader.topicId);
      case 'header':
        return this.header(col);
      default:
        return undefined;
    }
  }

  /** $topic: the name the main thread published for the frame's topic id (ring/schema-table.ts, TOPIC_NAMES). */
  private topicName(id: number): string | null {
    const known = this.topicNames[id] as string | undefined;
    if (known !== undefined) return known;
    const name = this.schemas?.find(TOPIC_NAMES, id) ?? null;
    if (name !== null) this.topicNames[id] = name;
    return name;
  }

  /**
   * $header.NAME: the value of the record's last header of that name (Kafka allows repeats), as bytes for
   * a bytea column, else as UTF-8 text; null when the record has no such header or its value is null.
   */
  private header(col: WorkerColumn): unknown {
    const found = this.reader.findHeader(col.path[0]);
    if (found < 0) return null;
    const buf = this.reader.buffer;
    return col.type.typname === 'bytea' ? buf.subarray(found, found + this.reader.foundLength) : buf.toString('utf8', found, found + this.reader.foundLength);
  }

  /**
   * [Tables] routes: the route pipeline of the record under the reader; ROUTE_FAILED (routeError says
   * why) or ROUTE_NO_ROW (a tombstone routed by a field, without a default table).
   */
  private routeTarget(p: PipelineState): number {
    const router = p.router!;
    const spec = router.spec;
    const reader = this.reader;
    const buf = reader.buffer;
    if (spec.source !== 'field') {
      const start = spec.source === 'header' ? this.reader.findHeader(spec.path[0]) : reader.keyStart;
      const length = spec.source === 'header' ? (start < 0 ? -1 : this.reader.foundLength) : reader.keyLength;
      const to = router.matchBytes(buf, start, length);
      if (to >= 0) return to;
      return this.noRoute(router, length < 0 ? null : buf.toString('utf8', start, start + length));
    }
    if (reader.valueLength < 0) return spec.fallback >= 0 ? spec.fallback : ROUTE_NO_ROW;
    let value: unknown;
    try {
      const end = reader.valueStart + reader.valueLength;
      const schema = p.fixed ?? this.frameSchema(p, end);
      value = pick(schema.reader.decode(p.fixed ? reader.valueStart : this.payloadStart, end), spec.path, false);
    } catch (err) {
      this.routeError = err instanceof SchemaRefused ? { code: err.code, message: err.message, retriable: false } : { code: ErrorCodes.RECORD_DECODE, message: `cannot decode ${p.spec.format} value: ${messageOf(err)}`, retriable: false };
      return ROUTE_FAILED;
    }
    const to = router.matchValue(value);
    if (to >= 0) return to;
    return this.noRoute(router, value);
  }

  private noRoute(router: RecordRouter, value: unknown): number {
    this.routeError = { code: ErrorCodes.RECORD_ROUTE, message: router.noTable(value), retriable: false };
    return ROUTE_FAILED;
  }

  private failure(error: EngineErrorData): RecordFailure {
    const r = this.reader;
    return { pos: r.pos, pipeline: r.pipeline, topicId: r.topicId, partition: r.partition, offset: r.offset, error };
  }
}

/** Where the last readVarint stopped (a module variable, so reading needs no allocation). */
let varintEnd = 0;

function readVarint(buf: Buffer, pos: number, end: number): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw new Error('truncated message-index list after the schema id');
    const b = buf[pos++];
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      varintEnd = pos;
      return result >>> 0;
    }
  }
  throw new Error('malformed message-index list after the schema id');
}

function zigzag(n: number): number {
  return (n >>> 1) ^ -(n & 1);
}

/** A required column with no value: the half-written row is dropped. */
function nullFailure(w: RowWriter, col: WorkerColumn): EngineErrorData {
  w.rollback();
  return { code: ErrorCodes.RECORD_NULL, message: `column "${col.name}" is NOT NULL but the record has no value for ${describePath(col)}`, retriable: false };
}

/** A value that does not fit its column: the half-written row is dropped. */
function valueFailure(w: RowWriter, col: WorkerColumn, err: unknown): EngineErrorData {
  w.rollback();
  const why = err instanceof ValueError ? err.message : messageOf(err);
  return { code: ErrorCodes.RECORD_VALUE, message: `column "${col.name}" (${col.type.typname}) from ${describePath(col)}: ${why}`, retriable: false };
}

function describePath(col: WorkerColumn): string {
  return col.source === 'field' ? `field "${col.path.join('.')}"` : `$${col.source}`;
}
