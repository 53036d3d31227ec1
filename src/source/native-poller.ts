import { log } from '../log';
import { FRAME_HEADER_BYTES } from '../ring/layout';
import {
  FILL_FULL, FILL_IDLE, FILL_SCHEMA, OUT_FRAMES, OUT_HEAD, OUT_HELD_OFFSET, OUT_HELD_PARTITION, OUT_HELD_TOPIC_ID,
  OUT_NEED_BYTES, OUT_PART0, OUT_PARTS, OUT_SCHEMA_ID, OUT_SCHEMA_PIPELINE, OUT_STATUS,
} from './native-binding';
import { FILL_REPORT_PARTITIONS, type NativeSource } from './native-source';
import { ChunkPoller, type PollerWiring } from './poller';

/**
 * The polling loop on the native consumer (engine.source: native). Each turn reserves the contiguous room
 * at the ring's head and lets the addon write up to `pollBatch` messages there as frames on a libuv
 * thread; what comes back is counts and, per partition, the last offset written. Each fill becomes one
 * chunk, closed before the rebalance events of that fill are handed on, so a revoke always sees the work
 * of the partitions it takes. A message that does not fit (ring full) or whose writer schema is not yet
 * published stays in the addon and is written by a later fill.
 */
export class NativePoller extends ChunkPoller {
  private readonly out = new Float64Array(OUT_PART0 + 3 * FILL_REPORT_PARTITIONS);
  /** Bytes the next frame needs: a header at least, or what the held message needs. */
  private need = FRAME_HEADER_BYTES;
  private warnedUntracked = false;

  constructor(
    private readonly source: NativeSource,
    w: PollerWiring,
  ) {
    super(w);
    source.handle.attachRing(new Uint8Array(w.ring.sab));
    const schemas = w.schemas;
    if (schemas) w.routes.pipelineIndexes().forEach((p) => schemas.framed(p) && source.handle.registry(p, schemas.keysFramed(p)));
  }

  async run(): Promise<void> {
    const out = this.out;
    const ring = this.ring;
    while (!this.stopped) {
      await this.runBarriers();
      if (this.need > ring.maxFrameBytes) throw this.tooLarge(this.held(), this.need);
      const pos = ring.reserveSpan(this.need);
      if (pos < 0) {
        await this.waitForSpace();
        continue;
      }
      const limit = Math.min(ring.spanEnd, pos + Math.max(this.need, this.options.maxChunkBytes));
      try {
        await this.source.fill(pos, limit, this.options.pollBatch, this.options.pollTimeoutMs, out);
      } catch (err) {
        ring.advance(pos, 0);
        throw err;
      }
      const frames = out[OUT_FRAMES];
      ring.advance(out[OUT_HEAD], frames);
      if (frames > 0) {
        this.track(out);
        this.closeChunk();
      }
      this.source.dispatchEvents(out);
      const status = out[OUT_STATUS];
      this.need = status === FILL_FULL ? out[OUT_NEED_BYTES] : FRAME_HEADER_BYTES;
      if (status === FILL_IDLE) this.onIdle();
      else if (status === FILL_SCHEMA && this.schemas) {
        const pipeline = out[OUT_SCHEMA_PIPELINE];
        const id = out[OUT_SCHEMA_ID];
        await this.schemas.request(pipeline, id);
        if (this.schemas.table.has(pipeline, id)) this.source.handle.knownSchema(pipeline, id);
      }
    }
  }

  /** The fill's per-partition report → the open chunk's partitions and last offsets. */
  private track(out: Float64Array): void {
    const n = out[OUT_PARTS];
    for (let i = 0; i < n; i++) {
      const at = OUT_PART0 + 3 * i;
      const route = this.routes.byTopicId(out[at]);
      const track = route ? this.tracker.get(route.name, out[at + 1]) : undefined;
      if (track && !track.revoked) this.touch(track, out[at + 2]);
      else if (!this.warnedUntracked) {
        // Cannot happen while the addon accepts only assigned partitions; if it did, the rows would be
        // written but never committed (read again after a restart), so say so once.
        this.warnedUntracked = true;
        log.warn(`native source: records of ${route?.name ?? `topic #${out[at]}`}[${out[at + 1]}] arrived for no assigned partition; they are written but not committed`);
      }
    }
  }

  invalidate(): void {
    // Nothing cached: every fill looks its partitions up.
  }

  dropPending(): void {
    // The addon drops what it holds of a partition when it is sought (NativeConsumer::Seek).
    this.need = FRAME_HEADER_BYTES;
  }

  private held(): string {
    const route = this.routes.byTopicId(this.out[OUT_HELD_TOPIC_ID]);
    return `${route?.name ?? '?'}[${this.out[OUT_HELD_PARTITION]}]@${this.out[OUT_HELD_OFFSET]}`;
  }
}
