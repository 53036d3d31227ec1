import { from as copyFrom } from 'pg-copy-streams';

/**
 * A patch of pg-copy-streams 7's private internals, kept here alone so that an upgrade finds it
 * (test/unit/sink/pg-copy-streams-patch.test.ts fails when what it relies on changes).
 *
 * The COPY FROM stream waits for the socket's 'drain' to flush more data; when the server refuses the
 * COPY first (a CHECK violation in row 5 of 20,000) the stream drops its `connection`, and the 'drain'
 * that comes after dereferences null and throws out of an event handler, killing the process. A COPY that
 * has already failed has nothing left to send, so its flush becomes a no-op.
 *
 * Relies on: the stream's prototype has a `flush(cb)` method, and the stream sets `connection` to null
 * once the query ended.
 */
export interface CopyStreamInternals {
  flush: (this: { connection: unknown }, cb?: () => void) => void;
  /** Set on the prototype once patched, so that a second load (tests) does not wrap twice. */
  kpePatched?: boolean;
}

export function copyStreamPrototype(): CopyStreamInternals {
  return Object.getPrototypeOf(copyFrom('COPY x FROM STDIN')) as CopyStreamInternals;
}

/** Applies the patch (once per process); returns the prototype it patched. */
export function patchCopyFlush(): CopyStreamInternals {
  const proto = copyStreamPrototype();
  if (proto.kpePatched) return proto;
  const flushCopy = proto.flush;
  if (typeof flushCopy !== 'function') throw new Error('pg-copy-streams changed: its COPY FROM stream has no flush() to patch (see src/sink/pg-copy-streams-patch.ts)');
  proto.flush = function flush(this: { connection: unknown }, cb?: () => void): void {
    if (this.connection === null) return;
    flushCopy.call(this, cb);
  };
  proto.kpePatched = true;
  return proto;
}
