/**
 * Table names from the config, read the way PostgreSQL reads them, so that what reaches SQL text is
 * always a quoted identifier the engine built itself and never text the config wrote.
 *
 *   orders                  → "orders"              (unquoted: folded to lower case, like the server does)
 *   Sales.Orders            → "sales"."orders"
 *   "Sales-EU"."Order Items" → "Sales-EU"."Order Items"   (quoted: kept as written, "" is one quote)
 *
 * Anything else (a semicolon, a space outside quotes, three parts, an empty or unterminated quoted name,
 * a name over 63 bytes, which the server would silently cut) is refused with the reason.
 */
export interface QualifiedName {
  schema: string | null;
  name: string;
}

/** PostgreSQL's NAMEDATALEN − 1: longer names are truncated by the server, so two could collide. */
const MAX_IDENTIFIER_BYTES = 63;
const UNQUOTED = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/;

/** Parses `table` or `schema.table`; returns the reason as a string when it is not a name. */
export function parseQualifiedName(text: string): QualifiedName | string {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let part = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) return `unterminated quoted identifier at character ${i + 1}`;
        if (text[j] === '"') {
          if (text[j + 1] === '"') {
            part += '"';
            j += 2;
            continue;
          }
          break;
        }
        part += text[j++];
      }
      if (part.length === 0) return `empty quoted identifier at character ${i + 1}`;
      if (part.includes('\0')) return 'a name may not contain a NUL character';
      parts.push(part);
      i = j + 1;
    } else {
      const m = UNQUOTED.exec(text.slice(i));
      if (!m) return i >= text.length ? 'a name is missing at the end' : `unexpected "${text[i]}" at character ${i + 1} (quote names that hold it: "My Table")`;
      parts.push(m[0].toLowerCase());
      i += m[0].length;
    }
    if (i === text.length) break;
    if (text[i] !== '.') return `unexpected "${text[i]}" at character ${i + 1} (quote names that hold it: "My Table")`;
    i++;
  }
  if (parts.length > 2) return 'too many dots (write table or schema.table)';
  const long = parts.find((p) => Buffer.byteLength(p) > MAX_IDENTIFIER_BYTES);
  if (long !== undefined) return `"${long}" is longer than ${MAX_IDENTIFIER_BYTES} bytes (PostgreSQL would cut it)`;
  return parts.length === 2 ? { schema: parts[0], name: parts[1] } : { schema: null, name: parts[0] };
}

/** A name as an SQL identifier: always quoted, inner quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The name as SQL text (`"schema"."table"`, or `"table"` resolved by search_path). */
export function qualifiedSql(q: QualifiedName): string {
  return q.schema === null ? quoteIdent(q.name) : `${quoteIdent(q.schema)}.${quoteIdent(q.name)}`;
}
