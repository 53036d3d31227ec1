/**
 * What the engine uses of avsc beyond its public API, kept here alone so that an upgrade finds it
 * (test/unit/decode/avsc-internals.test.ts fails when any of it changes):
 *
 * - `Tap` from `avsc/lib/utils`: avsc's cursor over a buffer. One Tap over the whole ring, moved to each
 *   record, saves a Buffer and a Tap per record (what `Type#fromBuffer` would make).
 * - `Type#_read(tap)`: the private method every type reads its value with, and that a resolver
 *   (`createResolver`) has too. AvroReader calls it at a ring position; the guarded types
 *   (avro-guards.ts) and the wide long (avro.ts) override it, and avsc's generated record readers call
 *   the field types' `_read`, so the overrides take effect inside records.
 * - `Type#_skip(tap)`: steps over a value; the transcoder (avro-transcoder.ts) skips a writer field that
 *   the reader schema lacks with it, as avsc's resolver does.
 */

/** avsc's Tap, with the members the engine touches. */
export interface AvroTap {
  buf: Buffer & { utf8Slice(start: number, end: number): string };
  pos: number;
  readLong(): number;
  skipLong(): void;
}

/** A type or resolver, seen through its private read method. */
export interface AvroReadable {
  _read(tap: AvroTap): unknown;
  _skip(tap: AvroTap): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const Tap = (require('avsc/lib/utils') as { Tap: new (buf: Buffer, pos?: number) => AvroTap }).Tap;

/** A type (or resolver) as something that reads at a Tap. */
export function readable(type: unknown): AvroReadable {
  return type as AvroReadable;
}
