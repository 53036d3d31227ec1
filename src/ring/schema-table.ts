import { SCHEMA_TABLE_BYTES, ST_COUNT, ST_ENTRIES, ST_ENTRY_INT32S, ST_MAX_ENTRIES, ST_TEXT_START } from './layout';

/**
 * The entries' pipeline for topic names ($topic columns): (TOPIC_NAMES, topic id, name), published when
 * the main thread gives a topic its id, before any frame of it is written.
 */
export const TOPIC_NAMES = -1;

/** The shared schema table (see layout.ts). `publish` is for the main thread, `find` for workers. */
export class SchemaTable {
  readonly sab: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly bytes: Buffer;
  private textEnd = ST_TEXT_START;
  /** Main thread only: what is published, by pipeline and id. */
  private readonly known = new Set<number>();

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(SCHEMA_TABLE_BYTES)) {
    this.sab = sab;
    this.i32 = new Int32Array(sab);
    this.bytes = Buffer.from(sab);
  }

  static key(pipeline: number, id: number): number {
    return pipeline * 4294967296 + (id >>> 0);
  }

  has(pipeline: number, id: number): boolean {
    return this.known.has(SchemaTable.key(pipeline, id));
  }

  publish(pipeline: number, id: number, text: string): void {
    const count = this.i32[ST_COUNT];
    const length = Buffer.byteLength(text);
    if (count >= ST_MAX_ENTRIES || this.textEnd + length > this.bytes.length) {
      throw new Error(`the schema table is full (${count} schemas, ${this.textEnd - ST_TEXT_START} bytes)`);
    }
    this.bytes.write(text, this.textEnd);
    const e = ST_ENTRIES + count * ST_ENTRY_INT32S;
    this.i32[e] = pipeline;
    this.i32[e + 1] = id;
    this.i32[e + 2] = this.textEnd;
    this.i32[e + 3] = length;
    this.textEnd += length;
    this.known.add(SchemaTable.key(pipeline, id));
    Atomics.store(this.i32, ST_COUNT, count + 1);
  }

  /** Worker side: the published text for (pipeline, id), or null. */
  find(pipeline: number, id: number): string | null {
    const count = Atomics.load(this.i32, ST_COUNT);
    for (let i = count - 1; i >= 0; i--) {
      const e = ST_ENTRIES + i * ST_ENTRY_INT32S;
      if (this.i32[e] === pipeline && this.i32[e + 1] === id) {
        return this.bytes.toString('utf8', this.i32[e + 2], this.i32[e + 2] + this.i32[e + 3]);
      }
    }
    return null;
  }
}
