/**
 * `engine.memory`: one number from which the engine sizes every buffer that grows with the data, unless
 * the buffer is set explicitly. Where the memory goes, per part of the budget M:
 *
 *   ring (engine.ringBytes)                       3/16 M   raw records in flight; a full ring stops polling
 *   COPY tuples of batches in flight              ≤ 3/16 M every batch part belongs to a chunk still in the
 *                                                          ring, and a tuple is about as large as its record
 *   librdkafka's fetch queue                      1/64 M   queued.max.messages.kbytes, and at most M/8KiB
 *                                                          messages (queued.min.messages)
 *   fetch responses being parsed                  1/64 M   fetch.max.bytes (one response per broker)
 *   librdkafka's record of those messages         a few hundred bytes per fetched message (an op), in
 *                                                          neither limit above: why the count is bounded too
 *   dead letters, rescue copies, headroom         the rest
 *
 * and, outside the budget, a constant: Node and V8 for the main thread and each decode worker (measured by
 * `npm run bench -- memory`, see docs/memory.md). Freed blocks go back to the system because the engine keeps
 * glibc from serving large blocks out of its arenas (source/native-binding.ts, keepLargeBlocksMapped).
 * Nothing else grows with the backlog: polling stops when the ring is full, so librdkafka's queue stays at
 * its limit. librdkafka's share is small because a larger one bought no throughput here: at M/16 each
 * (the first plan) the engine drained as fast and its peak RSS was 40–50 MiB higher (docs/memory.md).
 */
export interface MemoryPlan {
  ringBytes: number;
  /** queued.max.messages.kbytes */
  fetchQueueKBytes: number;
  /** queued.min.messages: librdkafka fetches for a partition until its queue holds this many messages (or kbytes). */
  fetchQueueMessages: number;
  /** fetch.max.bytes */
  fetchMaxBytes: number;
  /** Upper bound for a pipeline's batch.maxBytes. */
  maxBatchBytes: number;
}

export const DEFAULT_MEMORY = 128 << 20;

export function planMemory(memory: number, ringBytes: number | null): MemoryPlan {
  const ring = ringBytes ?? Math.floor((memory * 3) / 16);
  return {
    ringBytes: ring,
    fetchQueueKBytes: Math.max(1024, Math.floor(memory / 64 / 1024)),
    fetchQueueMessages: Math.max(4096, Math.floor(memory / 8192)),
    fetchMaxBytes: Math.max(1 << 20, Math.floor(memory / 64)),
    // A batch holds at most a quarter of the ring's worth of tuples, so four can be in flight.
    maxBatchBytes: Math.max(1 << 20, Math.floor(ring / 4)),
  };
}
