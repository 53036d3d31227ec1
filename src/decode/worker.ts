import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { ChunkDecoder } from './chunk-decoder';
import type { DecodeResult, DecodeTask, DecodeWorkerData } from './task';

/** The Piscina worker: one ChunkDecoder over the shared ring; results move back without a copy. */
const data = workerData as DecodeWorkerData;
// ENGINE_DECODE_PATH=object: every record through the object path, the transcoders' reference (a
// diagnostic switch, and what bench core --decode-path-cost compares).
const decoder = new ChunkDecoder(data.ring, data.pipelines, data.schemaTable, process.env.ENGINE_DECODE_PATH !== 'object');

class Moved {
  constructor(
    private readonly value: DecodeResult,
    private readonly transfer: ArrayBuffer[],
  ) {}
  get [transferableSymbol](): ArrayBuffer[] {
    return this.transfer;
  }
  get [valueSymbol](): DecodeResult {
    return this.value;
  }
}

export default function decodeChunk(task: DecodeTask): unknown {
  const started = performance.now();
  const { result, transfer } = decoder.decode(task);
  result.decodeMs = performance.now() - started;
  return move(new Moved(result, transfer));
}
