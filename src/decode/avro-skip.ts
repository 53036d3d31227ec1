import avro from 'avsc';
import { bounds, GuardedArrayType, GuardedBytesType, GuardedMapType, GuardedStringType, lengthPrefixed, maxItems, skipBlocks } from './avro-guards';
import { readWideLong, WideLongType } from './avro';
import { readable, type AvroTap } from './avsc-internals';

/**
 * [Transcode] Stepping over an Avro value without making it. A skip moves the tap exactly as the type's
 * `_read` would and refuses exactly what it refuses, with the same message (a bad union or enum index, a
 * length or count the record cannot hold): the transcoder's errors are the object path's errors. A type
 * this file does not know precisely is read with its own `_read` and the value dropped.
 */
export type Skip = (tap: AvroTap) => void;

const GUARDED_KEY = new GuardedStringType();

export function skipperOf(t: avro.Type): Skip {
  if (t instanceof avro.types.NullType) return () => {};
  if (t instanceof avro.types.BooleanType) return (tap) => void tap.pos++;
  if (t instanceof avro.types.IntType) return (tap) => void tap.readLong();
  if (t instanceof WideLongType) return (tap) => void readWideLong(tap);
  if (t instanceof avro.types.FloatType) return (tap) => void (tap.pos += 4);
  if (t instanceof avro.types.DoubleType) return (tap) => void (tap.pos += 8);
  if (t instanceof GuardedStringType) return (tap) => void lengthPrefixed(tap, 'a string length');
  if (t instanceof GuardedBytesType) return (tap) => void lengthPrefixed(tap, 'a bytes length');
  if (t instanceof avro.types.FixedType) {
    const size = t.size;
    return (tap) => void (tap.pos += size);
  }
  if (t instanceof avro.types.EnumType) {
    const symbols = t.symbols;
    const name = t.name;
    return (tap) => {
      const index = tap.readLong();
      if (symbols[index] === undefined) throw invalidEnum(name, index);
    };
  }
  if (t instanceof avro.types.UnwrappedUnionType) {
    const branches = t.types.map(skipperOf);
    return (tap) => {
      const index = tap.readLong();
      const branch = branches[index];
      if (branch === undefined) throw invalidUnion(index);
      branch(tap);
    };
  }
  if (t instanceof avro.types.RecordType) {
    const fields = t.fields.map((f) => skipperOf(f.type));
    return (tap) => {
      for (let i = 0; i < fields.length; i++) fields[i](tap);
    };
  }
  if (t instanceof GuardedArrayType) return blocks(skipperOf(t.itemsType), (tap, n) => n > maxItems(tap, t.itemsType), 'an array block count');
  if (t instanceof GuardedMapType) {
    const value = skipperOf(t.valuesType);
    const key = skipperOf(GUARDED_KEY);
    return blocks((tap) => {
      key(tap);
      value(tap);
    }, (tap, n) => n > bounds.recordEnd - tap.pos, 'a map block count');
  }
  const read = readable(t);
  return (tap) => void read._read(tap);
}

function blocks(item: Skip, tooMany: (tap: AvroTap, n: number) => boolean, what: string): Skip {
  return (tap) => skipBlocks(tap, item, tooMany, what);
}

/** avsc's messages, word for word (types.js): a dead letter says the same whichever path read it. */
export function invalidUnion(index: number): Error {
  return new Error(`invalid union index: ${index}`);
}

export function invalidEnum(name: string | undefined, index: number): Error {
  return new Error(`invalid ${name} enum index: ${index}`);
}

/** The non-null branch of a union of null and one other type, and the index of null; null for other types. */
export function nullableBranch(t: avro.Type): { branch: avro.Type; nullIndex: number } | null {
  if (!(t instanceof avro.types.UnwrappedUnionType) || t.types.length !== 2) return null;
  const nullIndex = t.types.findIndex((b) => b instanceof avro.types.NullType);
  if (nullIndex < 0) return null;
  const branch = t.types[1 - nullIndex];
  return branch instanceof avro.types.NullType ? null : { branch, nullIndex };
}
