import type { PipelineConfig } from '../config/types';
import type { EngineErrorData } from '../errors';
import { FrameReader } from '../ring/frame-reader';
import { encodeHeaders } from '../ring/headers';
import type { TopicRoutes } from '../source/routes';
import type { DeadLetter } from './producer';

/** Why a record was dead-lettered; the server's fields when PostgreSQL refused its row. */
export interface DeadLetterReason {
  error: EngineErrorData;
  sqlstate?: string;
  constraint?: string;
  column?: string;
}

/**
 * Headers added to a dead-lettered record, after its own (which are kept as they came). Values are UTF-8.
 */
export const DLQ_HEADERS = {
  topic: 'kpe.source.topic',
  partition: 'kpe.source.partition',
  offset: 'kpe.source.offset',
  timestamp: 'kpe.source.timestamp',
  pipeline: 'kpe.pipeline',
  code: 'kpe.error.code',
  message: 'kpe.error.message',
  sqlstate: 'kpe.error.sqlstate',
  constraint: 'kpe.error.constraint',
  column: 'kpe.error.column',
} as const;

/**
 * Builds dead-letter records from frames still in the ring (a chunk's space is freed only once all its
 * records are durable or dead-lettered): key, value and headers byte for byte, plus where the record came
 * from and why it produced no row.
 */
export class DeadLetterBuilder {
  private readonly reader: FrameReader;

  constructor(
    ring: SharedArrayBuffer,
    private readonly pipelines: readonly PipelineConfig[],
    private readonly routes: TopicRoutes,
  ) {
    this.reader = new FrameReader(ring);
  }

  /** `topic[partition]@offset` of the frame at `pos`. */
  where(pos: number): string {
    const r = this.reader;
    r.at(pos);
    return `${this.routes.byTopicId(r.topicId)?.name ?? '?'}[${r.partition}]@${r.offset}`;
  }

  build(pos: number, reason: DeadLetterReason): DeadLetter {
    const r = this.reader;
    r.at(pos);
    const pipeline = this.pipelines[r.pipeline];
    const buf = r.buffer;
    const copy = (start: number, length: number) => (length < 0 ? null : Buffer.from(buf.subarray(start, start + length)));
    const added: Array<[string, string | undefined]> = [
      [DLQ_HEADERS.topic, this.routes.byTopicId(r.topicId)?.name ?? '?'],
      [DLQ_HEADERS.partition, String(r.partition)],
      [DLQ_HEADERS.offset, String(r.offset)],
      [DLQ_HEADERS.timestamp, String(r.timestamp)],
      [DLQ_HEADERS.pipeline, pipeline.name],
      [DLQ_HEADERS.code, reason.error.code],
      [DLQ_HEADERS.message, reason.error.message],
      [DLQ_HEADERS.sqlstate, reason.sqlstate],
      [DLQ_HEADERS.constraint, reason.constraint],
      [DLQ_HEADERS.column, reason.column],
    ];
    const extra = encodeHeaders(added.filter((h): h is [string, string] => h[1] !== undefined).map(([name, value]) => ({ [name]: value })))!;
    const own = r.headersLength > 0 ? buf.subarray(r.headersStart, r.headersStart + r.headersLength) : Buffer.alloc(0);
    return {
      topic: pipeline.deadLetter!.topic,
      key: copy(r.keyStart, r.keyLength),
      value: copy(r.valueStart, r.valueLength),
      timestamp: r.timestamp,
      headers: Buffer.concat([own, extra]),
    };
  }
}
