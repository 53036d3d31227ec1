import avro from 'avsc';
import { readable, type AvroTap } from './avsc-internals';

/**
 * Avro types that refuse lengths and counts the record cannot hold. avsc trusts them: a string length of
 * 2^34 makes it slice (and allocate) whatever the buffer holds past the record, and an array count of
 * 2^34 makes it loop that many times reading nothing, so one poisoned record could stall a worker for
 * minutes. Here a length or count larger than the bytes left in the record is a decode error.
 *
 * `recordEnd` is where the record being decoded ends in the ring; AvroReader sets it before each decode
 * (one worker decodes one record at a time).
 */
export const bounds = { recordEnd: Number.MAX_SAFE_INTEGER };

type Tap = AvroTap;

export function tooLong(what: string, n: number, tap: Tap): Error {
  return new Error(`malformed Avro: ${what} of ${n} with ${Math.max(0, bounds.recordEnd - tap.pos)} bytes left in the record`);
}

/** Each item of an array or map takes at least one byte unless its type is null (or an empty record). */
export function maxItems(tap: Tap, itemsType: avro.Type): number {
  const left = bounds.recordEnd - tap.pos;
  const free = itemsType.typeName === 'null' || (itemsType instanceof avro.types.RecordType && itemsType.fields.length === 0);
  return free ? left + 1_000_000 : left;
}

/** Reads a length prefix and steps over that many bytes; returns where they start. */
export function lengthPrefixed(tap: Tap, what: string): number {
  // A one-byte varint (lengths below 64) read here; readLong for the others, same value and position.
  const first = tap.buf[tap.pos];
  let len: number;
  if (first < 0x80) {
    len = (first >> 1) ^ -(first & 1);
    tap.pos++;
  } else len = tap.readLong();
  const pos = tap.pos;
  if (len < 0 || pos + len > bounds.recordEnd) throw tooLong(what, len, tap);
  tap.pos = pos + len;
  return pos;
}

/** Array and map blocks as the guarded types read them: a count (negative: a byte size follows), items, 0 ends. */
export function skipBlocks(tap: Tap, item: (tap: Tap) => void, tooMany: (tap: Tap, n: number) => boolean, what: string): void {
  let n: number;
  while ((n = tap.readLong())) {
    if (n < 0) {
      n = -n;
      tap.skipLong();
    }
    if (tooMany(tap, n)) throw tooLong(what, n, tap);
    while (n--) item(tap);
  }
}

export class GuardedStringType extends avro.types.StringType {
  _read(tap: Tap): string {
    const pos = lengthPrefixed(tap, 'a string length');
    return tap.buf.utf8Slice(pos, tap.pos);
  }

  _skip(tap: Tap): void {
    lengthPrefixed(tap, 'a string length');
  }
}

export class GuardedBytesType extends avro.types.BytesType {
  _read(tap: Tap): Buffer {
    const pos = lengthPrefixed(tap, 'a bytes length');
    return Buffer.from(tap.buf.subarray(pos, tap.pos));
  }

  _skip(tap: Tap): void {
    lengthPrefixed(tap, 'a bytes length');
  }
}

export class GuardedArrayType extends avro.types.ArrayType {
  _read(tap: Tap): unknown[] {
    const items = readable(this.itemsType);
    const out: unknown[] = [];
    let n: number;
    while ((n = tap.readLong())) {
      if (n < 0) {
        n = -n;
        tap.skipLong();
      }
      if (n > maxItems(tap, this.itemsType)) throw tooLong('an array block count', n, tap);
      while (n--) out.push(items._read(tap));
    }
    return out;
  }

  /** A resolver skips a writer field the reader lacks: guarded too (avsc's own skip loops on a count of 2^34). */
  _skip(tap: Tap): void {
    const items = readable(this.itemsType);
    skipBlocks(tap, (t) => items._skip(t), (t, n) => n > maxItems(t, this.itemsType), 'an array block count');
  }
}

export class GuardedMapType extends avro.types.MapType {
  _read(tap: Tap): Record<string, unknown> {
    const values = readable(this.valuesType);
    const keys = GUARDED_STRING;
    // No prototype: a key "__proto__" is a key like any other (on {} it would replace the prototype).
    const out = Object.create(null) as Record<string, unknown>;
    let n: number;
    while ((n = tap.readLong())) {
      if (n < 0) {
        n = -n;
        tap.skipLong();
      }
      if (n > bounds.recordEnd - tap.pos) throw tooLong('a map block count', n, tap);
      while (n--) {
        const key = keys._read(tap);
        out[key] = values._read(tap);
      }
    }
    return out;
  }

  _skip(tap: Tap): void {
    const values = readable(this.valuesType);
    skipBlocks(tap, (t) => {
      GUARDED_STRING._skip(t);
      values._skip(t);
    }, (t, n) => n > bounds.recordEnd - t.pos, 'a map block count');
  }
}

const GUARDED_STRING = new GuardedStringType();

/** For parseAvro's typeHook: the guarded type for a string, bytes, array or map schema, else undefined. */
export function guardedType(schema: avro.Schema, opts: avro.ForSchemaOptions): avro.Type | undefined {
  const s = schema as { type?: unknown; logicalType?: unknown };
  const type = typeof schema === 'string' ? schema : s.logicalType === undefined ? s.type : undefined;
  switch (type) {
    case 'string':
      return new GuardedStringType();
    case 'bytes':
      return new GuardedBytesType();
    case 'array':
      return new GuardedArrayType(schema, opts);
    case 'map':
      return new GuardedMapType(schema, opts);
    default:
      return undefined;
  }
}
