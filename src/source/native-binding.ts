import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The N-API addon in native/ (built by `npm ci` or `npm run build:native`): a librdkafka consumer whose
 * fill() writes messages straight into the ring as frames (src/ring/layout.ts) on a libuv thread and
 * reports only counts. The types below are the addon's contract; native/src/consumer.h is the other side.
 */
export interface NativePartition {
  topic: string;
  partition: number;
  offset?: number;
  error?: string;
}

export interface NativeEvent {
  type: 'assign' | 'revoke' | 'error';
  partitions: Array<{ topic: string; partition: number; offset: number }>;
  /** revoke: the assignment was lost (session timeout, fenced); the partitions may already be elsewhere. */
  lost: boolean;
  code: number;
  fatal: boolean;
  message: string;
}

export interface NativeConsumerHandle {
  attachRing(ring: Uint8Array): void;
  connect(timeoutMs: number, cb: (err: Error | null) => void): void;
  subscribe(topics: string[]): void;
  route(topic: string, topicId: number, pipeline: number): void;
  accept(topic: string, partition: number, yes: boolean): void;
  /** Records of `pipeline` are registry-framed; with `keys`, the keys of its tombstones too. */
  registry(pipeline: number, keys: boolean): void;
  knownSchema(pipeline: number, schemaId: number): void;
  fill(pos: number, limit: number, maxMessages: number, timeoutMs: number, out: Float64Array, cb: (err: Error | null) => void): void;
  takeEvents(): NativeEvent[];
  assign(parts: NativePartition[]): void;
  unassign(): void;
  incrementalAssign(parts: NativePartition[]): void;
  incrementalUnassign(parts: NativePartition[]): void;
  rebalanceProtocol(): 'EAGER' | 'COOPERATIVE' | 'NONE';
  commit(parts: NativePartition[]): void;
  commitAndWait(parts: NativePartition[], cb: (err: Error | null) => void): void;
  committed(parts: NativePartition[], timeoutMs: number, cb: (err: Error | null, parts: NativePartition[]) => void): void;
  watermarks(topic: string, partition: number, timeoutMs: number, cb: (err: Error | null, marks: { low: number; high: number }) => void): void;
  position(parts: NativePartition[]): NativePartition[];
  highWatermarks(parts: NativePartition[]): NativePartition[];
  groupState(): string | null;
  seek(parts: NativePartition[]): NativePartition[];
  pause(parts: NativePartition[]): void;
  resume(parts: NativePartition[]): void;
  /** leaveGroup false: free the client without a word to the coordinator (a cluster failed over from). */
  close(cb: (err: Error | null) => void, leaveGroup?: boolean): void;
}

/** A delivery report: `code` 0 = acknowledged (with the producer's acks), else librdkafka's error. */
export interface NativeDelivery {
  id: number;
  code: number;
  message: string;
}

export interface NativeProducerHandle {
  /** headers in the ring's encoding (src/ring/headers.ts); partition -1 = by key; timestamp -1 = now. */
  produce(topic: string, partition: number, key: Uint8Array | null, value: Uint8Array | null, timestamp: number, headers: Uint8Array | null, id: number): void;
  poll(timeoutMs: number, cb: (err: Error | null, reports: NativeDelivery[]) => void): void;
  close(timeoutMs: number, cb: (err: Error | null) => void): void;
}

export interface NativeAddon {
  NativeConsumer: new (config: Record<string, string>) => NativeConsumerHandle;
  NativeProducer: new (config: Record<string, string>) => NativeProducerHandle;
  librdkafkaVersion: string;
  layout: Record<string, number>;
  /** glibc's mallopt(M_MMAP_THRESHOLD): false elsewhere (see native/src/consumer.cc). */
  tuneMalloc(mmapThresholdBytes: number): boolean;
}

/** Slots of fill()'s `out` array (native/src/consumer.h, FillSlot). */
export const OUT_STATUS = 0;
export const OUT_HEAD = 1;
export const OUT_FRAMES = 2;
export const OUT_NEED_BYTES = 3;
export const OUT_SCHEMA_PIPELINE = 4;
export const OUT_SCHEMA_ID = 5;
export const OUT_EVENTS = 6;
export const OUT_DROPPED = 7;
export const OUT_HELD_TOPIC_ID = 8;
export const OUT_HELD_PARTITION = 9;
export const OUT_HELD_OFFSET = 10;
export const OUT_PARTS = 11;
export const OUT_PART0 = 12;

/** fill() status (native/src/consumer.h, FillStatus). */
export const FILL_IDLE = 0;
export const FILL_DONE = 1;
export const FILL_FULL = 2;
export const FILL_SCHEMA = 3;

const ROOT = path.resolve(__dirname, '../../..');
/** KPE_NATIVE_ADDON: another build of the addon (scripts/native-sanitize.sh loads its AddressSanitizer build). */
export const ADDON_PATH = process.env.KPE_NATIVE_ADDON || path.join(ROOT, 'native/build/Release/kpe_native.node');

let loaded: NativeAddon | null = null;
let loadError: string | null = null;

/** The addon, or null with `nativeUnavailableReason()` saying why. */
export function loadNative(): NativeAddon | null {
  if (loaded || loadError) return loaded;
  try {
    if (!existsSync(ADDON_PATH)) {
      const failed = path.join(ROOT, 'native/build-failed.txt');
      const why = existsSync(failed) ? `its build failed: ${readFileSync(failed, 'utf8').trim()} (log: native/build.log)` : 'it has not been built';
      throw new Error(`${ADDON_PATH} is missing: ${why}; run npm run build:native`);
    }
    const mod = { exports: {} as NativeAddon };
    process.dlopen(mod, ADDON_PATH);
    loaded = mod.exports;
  } catch (err) {
    loadError = err instanceof Error ? err.message : String(err);
  }
  return loaded;
}

/**
 * Keeps blocks of 128 KiB and more out of glibc's per-thread arenas, so that memory freed after a burst
 * (e.g. the catch-up after PostgreSQL was locked) goes back to the system: measured by bench memory, the
 * peak after a 20 s lock went from 304 to 267 MiB. Needs the addon (it calls mallopt); an explicit
 * MALLOC_MMAP_THRESHOLD_ in the environment is left as it is. Returns whether it applied.
 */
export function keepLargeBlocksMapped(): boolean {
  if (process.env.MALLOC_MMAP_THRESHOLD_ !== undefined) return false;
  return loadNative()?.tuneMalloc(128 << 10) ?? false;
}

export function nativeUnavailableReason(): string | null {
  loadNative();
  return loadError;
}
