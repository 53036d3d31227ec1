import { spawnSync } from 'node:child_process';
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
 * (--measure NAME: one measurement, printed as JSON; what the run spawns per contender and round)
 */
function measure(format: 'avro' | 'protobuf' | 'json', decodePath: DecodePath, records: number, seconds: number) {
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
  const decoder = new ChunkDecoder(ring.sab, [plan], null, decodePath !== 'object', decodePath === 'transcoder');
  let done = 0;
  let transcoded = 0;
  let generated = 0;
  let rowBytes = 0;
  const warmupEnd = performance.now() + 1000;
  while (performance.now() < warmupEnd) for (const c of chunks.slice(0, 20)) decoder.decode({ start: c.start, end: c.end, frames: c.frames });
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (const c of chunks) {
      const { result } = decoder.decode({ start: c.start, end: c.end, frames: c.frames });
      if (result.failures.length || result.fatal) throw new Error(JSON.stringify(result.failures[0] ?? result.fatal));
      done += c.frames;
      transcoded += result.transcoded;
      generated += result.generated;
      rowBytes += result.outputs[0].byteLength;
      if (performance.now() >= end) break;
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return {
    bench: 'decode', format, path: decodePath,
    // The transcoder: the share of rows its generated row function wrote (the rest took the closures).
    generatedShare: transcoded === 0 ? 0 : Number((generated / transcoded).toFixed(3)), recordsPerSecond: Math.round(done / elapsed), microsPerRecord: Number(((elapsed * 1e6) / done).toFixed(2)),
    // CPU time (user + system) per record: steadier than the wall-clock rate on a VM whose CPU is stolen at times.
    cpuMicrosPerRecord: Number(((cpu.user + cpu.system) / done).toFixed(3)),
    valueBytes: Math.round(bytes / records), rowBytes: Math.round(rowBytes / done),
  };
}

/**
 * transcoder: the default (the generated row function, avro-fast-row.ts or proto-fast-row.ts, where it
 * covers the schema); closures: the transcoder's per-field closures alone (what the generated function
 * falls back to); object: avsc's or protobufjs's value, then the column encoders.
 */
type DecodePath = 'transcoder' | 'closures' | 'object';
type Contender = readonly ['avro' | 'protobuf' | 'json', DecodePath];

const CONTENDERS: Contender[] = [['avro', 'transcoder'], ['avro', 'closures'], ['avro', 'object'], ['protobuf', 'transcoder'], ['protobuf', 'closures'], ['protobuf', 'object'], ['json', 'object']];

function nameOf([format, decodePath]: Contender): string {
  return `${format}-${decodePath}`;
}

/**
 * Each measurement runs in a process of its own: V8 optimizes the functions the paths share (the COPY
 * writers, the JSON string writer) for what ran first, so a contender measured after another in the
 * same process is slower than it is in a worker that decodes one format.
 */
function measureInChild(c: Contender, records: number, seconds: number): ReturnType<typeof measure> {
  const run = spawnSync(process.execPath, [__filename, '--measure', nameOf(c), '--records', String(records), '--seconds', String(seconds)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`bench decode ${nameOf(c)} failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as ReturnType<typeof measure>;
}

function main(): void {
  const records = flag('records', 200_000);
  const seconds = flag('seconds', 5);
  const rounds = flag('rounds', 3);
  const arg = (name: string): string | null => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : null);
  const child = arg('--measure');
  if (child !== null) {
    const c = CONTENDERS.find((x) => nameOf(x) === child)!;
    console.log(JSON.stringify(measure(c[0], c[1], records, seconds)));
    return;
  }
  const runId = `de${Date.now().toString(36)}`;
  console.log(`bench decode ${runId}: decode + binary COPY encode of the reference Order record, one thread, ${seconds} s each, ${rounds} alternating rounds, each in a fresh process`);
  // [Transcode] Avro and Protobuf have two paths: the transcoder (default) and the object path it
  // replaces; JSON has the object path only.
  // --only avro-transcoder (or avro-closures, avro-object, protobuf-transcoder, protobuf-closures, protobuf-object, json-object): one contender.
  const only = arg('--only');
  const contenders = CONTENDERS.filter((c) => only === null || only === nameOf(c));
  const figures = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      const r = measureInChild(c, records, seconds);
      const name = `${r.format} ${r.path}`;
      figures.set(name, [...(figures.get(name) ?? []), r.recordsPerSecond]);
      console.log(`${name.padEnd(20)} ${String(r.recordsPerSecond).padStart(8)} records/s  ${r.microsPerRecord} µs/record  value ${r.valueBytes} B → row ${r.rowBytes} B`);
      console.log(JSON.stringify({ ...r, runId, round }));
    }
  }
  for (const [name, xs] of figures) {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`${name.padEnd(20)} mean ${Math.round(mean)} records/s (${(1e6 / mean).toFixed(2)} µs), spread ${Math.min(...xs)}–${Math.max(...xs)}`);
  }
}

main();
