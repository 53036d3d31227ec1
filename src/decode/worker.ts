import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { ChunkDecoder } from './chunk-decoder';
import type { DecodeResult, DecodeTask, DecodeWorkerData } from './task';

/** The Piscina worker: one ChunkDecoder over the shared ring; results move back without a copy. */
const data = workerData as DecodeWorkerData;
const decoder = new ChunkDecoder(data.ring, data.pipelines, data.schemaTable);

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
