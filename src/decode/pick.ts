/**
 * The value at `path` in a decoded record (undefined when an object on the way is missing or null);
 * with `presence`, the last name counts only when set on the object itself (see FieldInfo.presence).
 */
export function pick(value: unknown, path: readonly string[], presence: boolean): unknown {
  let v = value;
  const last = path.length - 1;
  for (let i = 0; i <= last; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    if (presence && i === last && !Object.prototype.hasOwnProperty.call(v, path[i])) return undefined;
    v = (v as Record<string, unknown>)[path[i]];
  }
  return v;
}
