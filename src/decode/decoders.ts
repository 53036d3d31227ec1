import type avro from 'avsc';
import { encoderFor, type ColumnEncoder, type ValueHint } from '../copy/column-encoders';
import type { RowWriter } from '../copy/copy-binary';
import type { ErrorCode } from '../errors';
import { AvroReader, avroChangeRow, avroFieldInfo, parseAvro } from './avro';
import { AvroTranscoder } from './avro-transcoder';
import type { FastRow } from './fast-row';
import type { WorkerPipeline } from './column-plan';
import type { FieldInfo } from './field-info';
import { JsonReader } from './json';
import { findMessage, messageByIndexes, parseProto, ProtoReader, protoFieldInfo } from './protobuf';
import { ProtoTranscoder } from './proto-transcoder';
import type protobuf from 'protobufjs';

/** Decodes one record's value bytes [start, end) of the ring into a JS value; throws when malformed. */
export interface ValueReader {
  decode(start: number, end: number): unknown;
}

/** Everything needed to turn records of one schema into rows: the reader, and per column its path and encoder. */
export interface CompiledSchema {
  reader: ValueReader;
  paths: string[][];
  presence: boolean[];
  encoders: ColumnEncoder[];
  hints: Array<ValueHint | null>;
  /** [Transcode] Straight to tuples (avro-transcoder.ts, proto-transcoder.ts); null: the object path (reader + encoders). */
  transcoder: Transcoder | null;
}

/** [Transcode] A record's value bytes to its row's field columns, no JS value per record. */
export interface Transcoder {
  /** Reads the value bytes [start, end) of the ring; throws for malformed bytes (the object path's errors). */
  read(start: number, end: number): void;
  /** Writes field column `column` of the record read; false when it has no value (NULL, or RECORD_NULL). */
  write(column: number, w: RowWriter): boolean;
  /**
   * [Transcode] The whole row's fields in one generated function (avro-fast-row.ts, proto-fast-row.ts),
   * when the schema and columns are of the shapes it covers: false for a record it leaves to read/write
   * (nothing written).
   */
  readonly row: FastRow | null;
}

/** A writer schema as the registry returned it (Confluent's GET /schemas/ids/{id}), or why it is missing. */
export interface RegisteredSchema {
  schemaType?: 'AVRO' | 'PROTOBUF' | 'JSON';
  schema?: string;
  references?: unknown[];
  error?: string;
  /** With error: the ENG_ code its records fail with (default ENG_RECORD_DECODE). */
  code?: string;
}

/** A schema table entry that is an error: its records fail with the entry's code and message. */
export class SchemaRefused extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
  ) {
    super(message);
  }
}

/** Columns as the plan made them (paths and hints from the pipeline's own schema file). */
function planned(p: WorkerPipeline, reader: ValueReader): CompiledSchema {
  return {
    reader,
    paths: p.columns.map((c) => c.path),
    presence: p.columns.map((c) => c.presence),
    encoders: p.columns.map((c) => encoderFor(c.type, c.hint)!),
    hints: p.columns.map((c) => c.hint),
    transcoder: null,
  };
}

/** Columns resolved against a writer schema (registry pipelines without a schema file of their own). */
function resolved(p: WorkerPipeline, reader: ValueReader, info: (path: string[]) => FieldInfo | null): CompiledSchema {
  const infos = p.columns.map((c) => (c.source === 'field' ? info(c.path) : null));
  return {
    reader,
    paths: p.columns.map((c, i) => infos[i]?.path ?? c.path),
    presence: infos.map((info) => info?.presence ?? false),
    encoders: p.columns.map((c, i) => encoderFor(c.type, infos[i]?.hint ?? null)!),
    hints: infos.map((info) => info?.hint ?? null),
    transcoder: null,
  };
}

/** The pipeline's one schema, for pipelines whose records are not registry-framed. */
export function compileStatic(ring: Buffer, p: WorkerPipeline): CompiledSchema | null {
  if (p.registry) return null;
  switch (p.format) {
    case 'json':
      return planned(p, new JsonReader(ring));
    case 'avro': {
      const writer = parseAvro(p.schemaText ?? '', p.name);
      return withAvroTranscoder(ring, p, planned(p, new AvroReader(ring, writer)), writer, null);
    }
    case 'protobuf': {
      const message = findMessage(parseProto(p.schemaText ?? '', p.name), p.messageType ?? '', p.name);
      return withProtoTranscoder(ring, p, planned(p, new ProtoReader(ring, message)), message);
    }
  }
}

/**
 * A writer schema from the registry. Avro records are resolved to the pipeline's own schema when it has
 * one (so columns keep their planned shape while producers evolve); otherwise columns follow each
 * writer schema by field name. Protobuf records decode with the writer's message type.
 */
export function compileRegistered(ring: Buffer, p: WorkerPipeline, id: number, registered: RegisteredSchema, indexes: readonly number[], readerAvro: avro.Type | null): CompiledSchema {
  if (registered.error !== undefined || registered.schema === undefined) {
    if (registered.code !== undefined) throw new SchemaRefused(registered.error ?? '', registered.code as ErrorCode);
    throw new Error(registered.error ?? `schema id ${id}: the registry returned no schema`);
  }
  const where = `schema id ${id}`;
  const type = registered.schemaType ?? 'AVRO';
  if (p.format === 'json') return planned(p, new JsonReader(ring));
  if (p.format === 'avro') {
    if (type !== 'AVRO') throw new Error(`${where} is a ${type} schema, but the pipeline's format is avro`);
    const writer = parseAvro(registered.schema, where);
    if (readerAvro) return withAvroTranscoder(ring, p, planned(p, new AvroReader(ring, writer, readerAvro)), writer, readerAvro);
    // cdc: columns are read from the event's row (`after`; a delete's `before` has the same type).
    const row = p.merge?.cdc ? avroChangeRow(writer) : writer;
    if (row === null) throw new Error(`${where} is not a Debezium change event schema (a record with "op" and an "after" record)`);
    return withAvroTranscoder(ring, p, resolved(p, new AvroReader(ring, writer), (path) => avroFieldInfo(row, path)), writer, null);
  }
  if (type !== 'PROTOBUF') throw new Error(`${where} is a ${type} schema, but the pipeline's format is protobuf`);
  if ((registered.references?.length ?? 0) > 0) throw new Error(`${where} references other schemas, which the engine does not follow yet`);
  const message = messageByIndexes(parseProto(registered.schema, where), indexes);
  if (!message) throw new Error(`${where} has no message at index path [${indexes.join(', ')}]`);
  const reader = new ProtoReader(ring, message);
  return withProtoTranscoder(ring, p, p.schemaText !== null ? planned(p, reader) : resolved(p, reader, (path) => protoFieldInfo(message, path)), message);
}

/**
 * Adds the Avro transcoder when it applies: not for cdc (the row is inside a change event, which the
 * object path unwraps) and not when compiling it fails (an unusual resolution): those records take the
 * object path, counted by kpe_records_decoded_total{path="object"}.
 */
function withAvroTranscoder(ring: Buffer, p: WorkerPipeline, compiled: CompiledSchema, writer: avro.Type, reader: avro.Type | null): CompiledSchema {
  if (p.merge?.cdc) return compiled;
  try {
    compiled.transcoder = AvroTranscoder.compile(ring, writer, reader, p.columns, compiled.paths, compiled.encoders, compiled.hints);
  } catch {
    compiled.transcoder = null;
  }
  return compiled;
}

/** The same for Protobuf (proto-transcoder.ts): not for types it does not mirror (then null). */
function withProtoTranscoder(ring: Buffer, p: WorkerPipeline, compiled: CompiledSchema, message: protobuf.Type): CompiledSchema {
  try {
    compiled.transcoder = ProtoTranscoder.compile(ring, message, compiled.reader as ProtoReader, p.columns, compiled.paths, compiled.presence, compiled.encoders, compiled.hints);
  } catch {
    compiled.transcoder = null;
  }
  return compiled;
}
