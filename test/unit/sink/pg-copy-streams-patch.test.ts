import assert from 'node:assert/strict';
import { test } from 'node:test';
import { from as copyFrom } from 'pg-copy-streams';
import { copyStreamPrototype, patchCopyFlush } from '../../../src/sink/pg-copy-streams-patch';
import '../../../src/sink/pg-sink';

interface StreamInternals {
  connection: unknown;
  chunks: Array<{ chunk: Buffer }>;
  callback: () => void;
  flush(cb?: () => void): void;
  submit(connection: unknown): void;
  handleError(e: Error): void;
}

test('pg-copy-streams still has what the flush patch relies on; patched, a flush after a refused COPY is a no-op', () => {
  const proto = copyStreamPrototype();
  assert.equal(typeof proto.flush, 'function', 'the COPY FROM stream has a flush()');
  assert.equal(proto.kpePatched, true, 'loading the sink applied the patch');
  assert.equal(patchCopyFlush().flush, proto.flush, 'a second call wraps nothing');

  // What the stream does when the server refuses the COPY: handleError drops the connection.
  const stream = copyFrom('COPY x FROM STDIN') as unknown as StreamInternals;
  const written: Buffer[] = [];
  const connection = { query: () => undefined, stream: { write: (b: Buffer) => (written.push(b), false), once: () => undefined } };
  stream.submit(connection);
  assert.equal(stream.connection, connection, 'submit keeps the connection on the stream');
  stream.callback = () => undefined;
  (stream as unknown as { on(e: string, f: () => void): void }).on('error', () => undefined);
  stream.handleError(new Error('23514'));
  assert.equal(stream.connection, null, 'a refused COPY leaves connection null');
  // The late 'drain' calls flush with data still queued: unpatched, it would dereference null.
  stream.chunks.push({ chunk: Buffer.from('row') });
  assert.doesNotThrow(() => stream.flush(() => undefined));
});
