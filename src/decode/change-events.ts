/**
 * What upsert and cdc pipelines read besides a record's value: the Debezium change event inside a record
 * and the record key a delete is made from. Both accept the Kafka Connect JSON envelope
 * (`{"schema": ..., "payload": ...}`) as well as the bare payload.
 */

/** The change event of a Debezium record (`op`, `before`, `after`), or null if the value is none. */
export function changeEvent(value: unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.op === 'string') return v;
  const payload = v.payload;
  // The JSON reader returns envelopes after the first of a schema as { payload } alone (decode/json.ts).
  if (payload !== null && typeof payload === 'object' && typeof (payload as Record<string, unknown>).op === 'string') {
    return payload as Record<string, unknown>;
  }
  return null;
}

/**
 * A record key as a value: JSON when it parses (an object, unwrapped from a Connect envelope, or a
 * scalar), otherwise its text. Only tombstones and deletes without a `before` image pay for this.
 */
export function keyValue(text: string): unknown {
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    return text;
  }
  if (key !== null && typeof key === 'object' && !Array.isArray(key)) {
    const k = key as Record<string, unknown>;
    if ('schema' in k && 'payload' in k) return k.payload;
  }
  return key;
}

/** A key column's value in a key: the field at the column's path or of its name, or the key itself when scalar. */
export function keyField(key: unknown, path: readonly string[], column: string, keyColumns: number): unknown {
  if (key === null || key === undefined) return undefined;
  if (typeof key !== 'object') return keyColumns === 1 ? key : undefined;
  let v: unknown = key;
  for (const segment of path) {
    if (v === null || typeof v !== 'object') {
      v = undefined;
      break;
    }
    v = (v as Record<string, unknown>)[segment];
  }
  return v !== undefined ? v : (key as Record<string, unknown>)[column];
}
