import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { ErrorCodes, messageOf, type EngineErrorData } from '../errors';
import { FrameReader } from '../ring/frame-reader';
import { RowWriter } from '../sink/copy-binary';
import { encoderFor, ValueError, type ColumnEncoder } from '../sink/column-encoders';
import { createDecoder, type Decoder } from './decoders';
import type { WorkerColumn, WorkerPipeline } from './column-plan';
import type { DecodeResult, DecodeTask, DecodeWorkerData, PipelineRows, RecordFailure } from './task';

/**
 * The decode worker: reads a chunk's frames in place from the shared ring, decodes each value, and
 * writes one binary COPY tuple per record into a per-pipeline buffer that is transferred back.
 * A record that fails (malformed bytes, a value that does not fit its column) produces no row and a
 * RecordFailure; the worker itself never throws for a record.
 */

interface PipelineState {
  spec: WorkerPipeline;
  decoder: Decoder;
  columns: WorkerColumn[];
  encoders: ColumnEncoder[];
  writer: RowWriter | null;
  rows: number;
}

const data = workerData as DecodeWorkerData;
const reader = new FrameReader(data.ring);
const pipelines: PipelineState[] = data.pipelines.map((spec) => ({
  spec,
  decoder: createDecoder(reader.buffer, spec),
  columns: spec.columns,
  encoders: spec.columns.map((c) => encoderFor(c.type)!),
  writer: null,
  rows: 0,
}));

class Moved {
  constructor(
    private readonly value: DecodeResult,
    private readonly transfer: ArrayBuffer[],
  ) {}
  get [transferableSymbol](): ArrayBuffer[] {
    return this.transfer;
  }
  get [valueSymbol](): DecodeResult {
    return this.value;
  }
}

export default function decodeChunk(task: DecodeTask): unknown {
  const failures: RecordFailure[] = [];
  let tombstones = 0;
  try {
    reader.acquire();
    let pos = task.start;
    for (let n = 0; n < task.frames && pos < task.end; n++) {
      reader.at(pos);
      const size = reader.frameBytes;
      const p = pipelines[reader.pipeline];
      if (reader.valueLength < 0) tombstones++;
      else {
        const failure = encodeRecord(p, task.end - task.start);
        if (failure !== null) failures.push(recordFailure(failure));
      }
      pos += size;
    }
    const outputs: PipelineRows[] = [];
    const transfer: ArrayBuffer[] = [];
    pipelines.forEach((p, index) => {
      if (p.writer === null) return;
      const buffer = p.writer.buf.buffer as ArrayBuffer;
      outputs.push({ pipeline: index, rows: p.rows, byteLength: p.writer.pos, buffer });
      transfer.push(buffer);
      p.writer = null;
      p.rows = 0;
    });
    return move(new Moved({ outputs, failures, tombstones, fatal: null }, transfer));
  } catch (err) {
    for (const p of pipelines) {
      p.writer = null;
      p.rows = 0;
    }
    const fatal: EngineErrorData = { code: ErrorCodes.WORKER_FAILED, message: `decode worker failed on a chunk: ${messageOf(err)}`, retriable: false };
    return { outputs: [], failures, tombstones, fatal } satisfies DecodeResult;
  }
}

/** Decodes and encodes the record under the reader; returns null or the failure's error. */
function encodeRecord(p: PipelineState, chunkBytes: number): EngineErrorData | null {
  const start = reader.valueStart;
  let value: unknown;
  try {
    value = p.decoder.decode(start, start + reader.valueLength);
  } catch (err) {
    return { code: ErrorCodes.RECORD_DECODE, message: `cannot decode ${p.spec.format} value: ${messageOf(err)}`, retriable: false };
  }
  const w = p.writer ?? (p.writer = new RowWriter(chunkBytes + 4096));
  const columns = p.columns;
  w.beginRow(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i];
    const v = col.source === 'field' ? pick(value, col.path) : meta(col);
    if (v === null || v === undefined) {
      if (col.required) {
        w.rollback();
        return { code: ErrorCodes.RECORD_NULL, message: `column "${col.name}" is NOT NULL but the record has no value for ${describePath(col)}`, retriable: false };
      }
      w.null();
      continue;
    }
    try {
      p.encoders[i](w, v);
    } catch (err) {
      w.rollback();
      const why = err instanceof ValueError ? err.message : messageOf(err);
      return { code: ErrorCodes.RECORD_VALUE, message: `column "${col.name}" (${col.type.typname}) from ${describePath(col)}: ${why}`, retriable: false };
    }
  }
  p.rows++;
  return null;
}

function pick(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[path[i]];
  }
  return v;
}

function meta(col: WorkerColumn): unknown {
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
    default:
      return undefined;
  }
}

function describePath(col: WorkerColumn): string {
  return col.source === 'field' ? `field "${col.path.join('.')}"` : `$${col.source}`;
}

function recordFailure(error: EngineErrorData): RecordFailure {
  return { pipeline: reader.pipeline, topicId: reader.topicId, partition: reader.partition, offset: reader.offset, error };
}
