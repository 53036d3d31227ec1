import type avro from 'avsc';
// Tap is avsc's internal cursor; reusing one over the whole ring avoids a Buffer and a Tap per record.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tap } = require('avsc/lib/utils') as { Tap: new (buf: Buffer, pos?: number) => AvroTap };
import { parseAvro } from './schema';
import type { WorkerPipeline } from './column-plan';

interface AvroTap {
  buf: Buffer;
  pos: number;
}

/** Decodes one record's value bytes [start, end) of the ring into a JS value; throws when malformed. */
export interface Decoder {
  decode(start: number, end: number): unknown;
}

class AvroDecoder implements Decoder {
  private readonly tap: AvroTap;
  private readonly type: avro.Type & { _read(tap: AvroTap): unknown };

  constructor(ring: Buffer, schemaText: string, where: string) {
    this.type = parseAvro(schemaText, where) as avro.Type & { _read(tap: AvroTap): unknown };
    this.tap = new Tap(ring, 0);
  }

  decode(start: number, end: number): unknown {
    this.tap.pos = start;
    const value = this.type._read(this.tap);
    if (this.tap.pos !== end) {
      throw new Error(
        this.tap.pos > end
          ? `truncated Avro data: the schema needs more than the ${end - start} bytes of the value`
          : `${end - this.tap.pos} trailing bytes after the Avro record`,
      );
    }
    return value;
  }
}

class JsonDecoder implements Decoder {
  constructor(private readonly ring: Buffer) {}

  decode(start: number, end: number): unknown {
    return JSON.parse(this.ring.toString('utf8', start, end));
  }
}

export function createDecoder(ring: Buffer, p: WorkerPipeline): Decoder {
  switch (p.format) {
    case 'avro':
      return new AvroDecoder(ring, p.schemaText ?? '', p.name);
    case 'json':
      return new JsonDecoder(ring);
    default:
      throw new Error(`format ${p.format} is not available in this version`);
  }
}
