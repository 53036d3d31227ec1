import avro from 'avsc';
import { GuardedStringType } from './avro-guards';
import { nullableBranch } from './avro-skip';

/**
 * [Transcode] What avro-fast-row.ts and avro-fast-row-writes.ts share: the generated function's text
 * being built (Source), its slots (one per field read in phase 1: p<id> present, v<id> a number, a<id>
 * and l<id> where a string's bytes are) and the varint readers every part of it uses.
 */
export type FastRow = (buf: Buffer, start: number, end: number, w: FastRowWriter, partition: number, offset: number, timestamp: number) => boolean;

/** What the generated code uses of RowWriter. */
export interface FastRowWriter {
  buf: Buffer;
  pos: number;
  ensure(n: number): void;
}

export type Kind = 'number' | 'float' | 'double' | 'boolean' | 'enum' | 'string' | 'bytes' | 'array' | 'map';

export interface Slot {
  id: number;
  kind: Kind;
  type: avro.Type;
}

export interface Target {
  column: number;
  rest: string[];
}

/** Thrown inside compile for a shape this file does not cover; compile then answers null. */
export class Uncovered extends Error {}

export class Source {
  readonly lines: string[] = [];
  readonly consts: unknown[] = [];
  slots: Slot[] = [];
  private temps = 0;

  constant(v: unknown): string {
    this.consts.push(v);
    return `K[${this.consts.length - 1}]`;
  }

  temp(): string {
    return `t${this.temps++}`;
  }

  get tempCount(): number {
    return this.temps;
  }

  emit(line: string): void {
    this.lines.push(line);
  }
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

