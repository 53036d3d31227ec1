import { performance } from 'node:perf_hooks';
import { planColumns } from '../src/decode/column-plan';
import { ChunkDecoder } from '../src/decode/chunk-decoder';
import { RingWriter, type RingChunk } from '../src/ring/ring-writer';
import { encodeOrder, encodeOrderJson, encodeOrderProto, ORDER_TABLE_COLUMNS, orderPipeline } from './lib/orders';
import { flag } from './lib/scenario';

/**
 * Decode + encode throughput of one decode thread (what one Piscina worker does per chunk) for the
 * reference Order record: ring frames → decoded record → binary COPY tuples. No Kafka, no database.
 *   node dist/bench/decode.js [--records 200000] [--seconds 5] [--rounds 3] [--only avro-transcoder]
 */
function measure(format: 'avro' | 'protobuf' | 'json', transcode: boolean, records: number, seconds: number) {
  const problems: string[] = [];
  const plan = planColumns(orderPipeline(format), 'bench', ORDER_TABLE_COLUMNS, problems);
  if (problems.length) throw new Error(problems.join('\n'));
  const ring = new RingWriter(256 << 20);
  const encode = format === 'avro' ? encodeOrder : format === 'protobuf' ? encodeOrderProto : encodeOrderJson;
  const chunks: RingChunk[] = [];
  let bytes = 0;
  for (let i = 0; i < records; i++) {
    const value = encode(i);
    bytes += value.length;
    if (!ring.write(0, 0, i % 8, i, Date.now(), Buffer.from(String(i)), value)) throw new Error('ring too small');
    if ((i + 1) % 1000 === 0) chunks.push(ring.close()!);
  }
  const last = ring.close();
  if (last) chunks.push(last);
  const decoder = new ChunkDecoder(ring.sab, [plan], null, transcode);
  let done = 0;
  let transcoded = 0;
  let rowBytes = 0;
  const warmupEnd = performance.now() + 1000;
  while (performance.now() < warmupEnd) for (const c of chunks.slice(0, 20)) decoder.decode({ start: c.start, end: c.end, frames: c.frames });
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (const c of chunks) {
      const { result } = decoder.decode({ start: c.start, end: c.end, frames: c.frames });
      if (result.failures.length || result.fatal) throw new Error(JSON.stringify(result.failures[0] ?? result.fatal));
      done += c.frames;
      transcoded += result.transcoded;
      rowBytes += result.outputs[0].byteLength;
      if (performance.now() >= end) break;
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  return {
    bench: 'decode', format, path: transcoded > 0 ? 'transcoder' : 'object', recordsPerSecond: Math.round(done / elapsed), microsPerRecord: Number(((elapsed * 1e6) / done).toFixed(2)),
    valueBytes: Math.round(bytes / records), rowBytes: Math.round(rowBytes / done),
  };
}

function main(): void {
  const records = flag('records', 200_000);
  const seconds = flag('seconds', 5);
  const rounds = flag('rounds', 3);
  const runId = `de${Date.now().toString(36)}`;
  console.log(`bench decode ${runId}: decode + binary COPY encode of the reference Order record, one thread, ${seconds} s each, ${rounds} alternating rounds`);
  // [Transcode] Avro and Protobuf have two paths: the transcoder (default) and the object path it
  // replaces; JSON has the object path only.
  // --only avro-transcoder (or avro-object, protobuf-transcoder, json-object): one contender, e.g. under node --cpu-prof.
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
  const contenders = ([['avro', true], ['avro', false], ['protobuf', true], ['protobuf', false], ['json', true]] as const).filter(([f, t]) => only === null || only === `${f}-${t ? 'transcoder' : 'object'}` || (only === 'json-object' && f === 'json'));
  const figures = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [format, transcode] of contenders) {
      const r = measure(format, transcode, records, seconds);
      const name = `${format} ${r.path}`;
      figures.set(name, [...(figures.get(name) ?? []), r.recordsPerSecond]);
      console.log(`${name.padEnd(16)} ${String(r.recordsPerSecond).padStart(8)} records/s  ${r.microsPerRecord} µs/record  value ${r.valueBytes} B → row ${r.rowBytes} B`);
      console.log(JSON.stringify({ ...r, runId, round }));
    }
  }
  for (const [name, xs] of figures) {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`${name.padEnd(16)} mean ${Math.round(mean)} records/s (${(1e6 / mean).toFixed(2)} µs), spread ${Math.min(...xs)}–${Math.max(...xs)}`);
  }
}

main();
