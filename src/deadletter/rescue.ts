import type { BatchPart } from '../batcher/batcher';
import { EngineError, ErrorCodes } from '../errors';

/** One row of a batch: its binary COPY tuple and the ring position of the record it came from. */
export interface BatchRow {
  bytes: Uint8Array;
  frame: number;
}

/** What the server said about a row it refused. */
export interface Rejection {
  error: EngineError;
  sqlstate: string;
  constraint?: string;
  column?: string;
  /** The 1-based row of the COPY the server was on (`COPY t, line N`), when it says. */
  line: number | null;
}

/**
 * The server refused the data itself (SQLSTATE class 22, data exception, or 23, integrity constraint:
 * CHECK, NOT NULL, foreign key, unique): another COPY without the bad rows will land. Anything else
 * (a missing column, permissions, an outage) is not about rows and is not rescued.
 */
export function rejectionOf(err: unknown, what = 'COPY'): Rejection | null {
  let pg: { code?: string; constraint?: string; column?: string; where?: string; message?: string } | undefined;
  if (err instanceof EngineError) {
    if (err.code !== ErrorCodes.PG_REJECTED) return null;
    pg = err.cause as typeof pg;
  } else pg = err as typeof pg;
  const sqlstate = pg?.code ?? '';
  if (!/^(22|23)/.test(sqlstate)) return null;
  if (!(err instanceof EngineError)) err = new EngineError(ErrorCodes.PG_REJECTED, `${what} failed: ${pg?.message ?? ''} [${sqlstate}]`, { cause: err });
  const where = /COPY [^,]+, line (\d+)(?:, column ([^:\s]+))?/.exec(pg?.where ?? '');
  return {
    error: err as EngineError,
    sqlstate,
    constraint: pg?.constraint,
    column: pg?.column ?? where?.[2],
    line: where ? Number(where[1]) : null,
  };
}

/**
 * Splits a batch into rows by walking the binary COPY tuples (int16 field count, then per field an
 * int32 length, -1 for NULL, and the bytes). Only a batch the server refused pays for this.
 */
export function splitRows(parts: readonly BatchPart[]): BatchRow[] {
  const rows: BatchRow[] = [];
  for (const part of parts) {
    const b = part.bytes;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let at = 0;
    for (let i = 0; i < part.rows; i++) {
      const start = at;
      const fields = view.getInt16(at);
      at += 2;
      for (let f = 0; f < fields; f++) {
        const length = view.getInt32(at);
        at += 4 + (length > 0 ? length : 0);
      }
      rows.push({ bytes: b.subarray(start, at), frame: part.frames[i] });
    }
  }
  return rows;
}

export interface RescueStats {
  copies: number;
  rejected: number;
}

/**
 * After the batch `rows` failed with `first`, lands every row the server accepts and hands each row it refuses to `reject` (which dead-letters or
 * skips it). Where the server names the row (`line N`), the rows before it land in one COPY and the rest
 * is split in halves; where it does not (a foreign key checked at the end of the statement), the rows are
 * split in halves. One bad row in n costs about 2·log2(n) extra COPYs at most, usually 3 or 4.
 */
export async function rescue(
  rows: BatchRow[],
  first: Rejection,
  copy: (rows: BatchRow[]) => Promise<void>,
  reject: (row: BatchRow, why: Rejection) => Promise<void>,
  stats: RescueStats,
): Promise<void> {
  const land = async (slice: BatchRow[], known: Rejection | null = null): Promise<void> => {
    if (slice.length === 0) return;
    let why = known;
    if (why === null) {
      try {
        stats.copies++;
        await copy(slice);
        return;
      } catch (err) {
        why = rejectionOf(err);
        if (why === null) throw err;
      }
    }
    if (slice.length === 1) {
      stats.rejected++;
      await reject(slice[0], why);
      return;
    }
    const line = why.line;
    if (line !== null && line >= 1 && line <= slice.length) {
      await land(slice.slice(0, line - 1));
      stats.rejected++;
      await reject(slice[line - 1], why);
      const rest = slice.slice(line);
      await land(rest.slice(0, rest.length >> 1));
      await land(rest.slice(rest.length >> 1));
      return;
    }
    await land(slice.slice(0, slice.length >> 1));
    await land(slice.slice(slice.length >> 1));
  };
  // The whole batch already failed once with `first`.
  await land(rows, first);
}
