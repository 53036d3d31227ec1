import avro from 'avsc';
import { GuardedStringType } from './avro-guards';
import { nullableBranch } from './avro-skip';
import { Source } from './fast-row';

/**
 * [Transcode] What avro-fast-row.ts and avro-fast-row-writes.ts share: the slots of the record's fields
 * and the Avro varint readers every part of the generated function uses.
 */
export type Kind = 'number' | 'float' | 'double' | 'boolean' | 'enum' | 'string' | 'bytes' | 'array' | 'map';

/** A field read in phase 1: locals p<id> present, v<id> a number, a<id> and l<id> where its bytes are. */
export interface Slot {
  id: number;
  kind: Kind;
  type: avro.Type;
}

export interface Target {
  column: number;
  rest: string[];
}

/** An Avro Source: the shared one (fast-row.ts) with the record's slots. */
export class AvroSource extends Source {
  slots: Slot[] = [];
}

const MAX_7_BYTE_SCALE = 2 ** 42;

/** A zigzag varint of at most 7 bytes into `into` (longer ones, which may not fit a double, answer false). */
export function varint(src: Source, into: string): void {
  src.emit(`if (pos >= end) return false; b = buf[pos++];`);
  src.emit(`if (b < 128) ${into} = (b >> 1) ^ -(b & 1); else { n = b & 127; s = 128;`);
  src.emit(`  do { if (pos >= end || s > ${MAX_7_BYTE_SCALE}) return false; b = buf[pos++]; n += (b & 127) * s; s *= 128; } while (b > 127);`);
  src.emit(`  ${into} = n % 2 === 1 ? -(n + 1) / 2 : n / 2; }`);
}

/** A length prefix and that many bytes: their start into `at`, their length into `length`. */
export function lengthPrefixed(src: Source, at: string, length: string): void {
  varint(src, length);
  src.emit(`if (${length} < 0 || pos + ${length} > end) return false; ${at} = pos; pos += ${length};`);
}

/** An array's items as strings: -1 when they cannot be null, else the null branch's index; null: not strings. */
export function stringItems(items: avro.Type): number | null {
  if (items instanceof GuardedStringType) return -1;
  const nullable = nullableBranch(items);
  return nullable !== null && nullable.branch instanceof GuardedStringType ? nullable.nullIndex : null;
}

