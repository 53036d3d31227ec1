/** Parses sizes such as `64MiB`, `8MB`, `512k` or a plain byte count. Returns null when malformed. */
export function parseBytes(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : null;
  if (typeof value !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(i?)([bB]?)\s*$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2].toLowerCase();
  const base = m[3] === 'i' || m[4] === '' ? 1024 : 1000;
  const power = unit === 'k' ? 1 : unit === 'm' ? 2 : unit === 'g' ? 3 : 0;
  if (m[3] === 'i' && power === 0) return null;
  return Math.floor(n * base ** power);
}

/** Parses durations such as `100ms`, `2s`, `1m` or a plain millisecond count. Returns null when malformed. */
export function parseMillis(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) return null;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * factor;
}
