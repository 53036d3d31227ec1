import type { CommitTracker, PartitionTrack, TopicPartitionOffset } from '../commit/commit-tracker';
import type { ClaimedPartition, ClaimRequest } from '../commit/offsets-table';
import { messageOf } from '../errors';
import { log } from '../log';
import type { Operations } from './operations';
import type { ChunkPoller } from '../source/poller';
import type { TopicRoutes } from '../source/routes';
import type { ConsumerClient, TopicPartition } from '../source/source';

/** What the partition lifecycle needs of the engine. */
export interface PartitionsHost {
  source(): ConsumerClient;
  poller(): ChunkPoller | undefined;
  stopping(): boolean;
  fail(err: unknown): void;
  /** --until-caught-up: everything present at assignment is durable. */
  caughtUp(): void;
  /** Exactly-once: takes the partitions over in the offsets table (null in at-least-once). */
  claim: ((parts: ClaimRequest[]) => Promise<ClaimedPartition[]>) | null;
  /**
   * auto.offset.reset says "latest": a partition with no position anywhere starts at the end, unless the
   * group has positions for its topic (or `sharePattern` topic): then it was added while the group ran.
   */
  startAtEnd: boolean;
  sharePattern(stored: string, topic: string): boolean;
}

/** librdkafka's logical offsets: the log's first record, and "the committed offset, else auto.offset.reset". */
const OFFSET_BEGINNING = -2;
const OFFSET_STORED = -1001;

/**
 * The life of the engine's partitions: what happens when the group assigns them (tracks, where they
 * start and, for --until-caught-up, where they end), when it takes them away (their work in flight
 * settles and is committed first), and the last commit before leaving the group.
 */
export class Partitions {
  /** --until-caught-up: the end offset of each assigned partition, as seen at assignment. */
  private readonly targets = new Map<PartitionTrack, number>();
  /** A revoke waiting for the revoked partitions' work in flight to settle. */
  private revoking: { tracks: PartitionTrack[]; finish: () => Promise<void>; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly tracker: CommitTracker,
    private readonly routes: TopicRoutes,
    private readonly ops: Operations,
    private readonly untilCaughtUp: boolean,
    private readonly host: PartitionsHost,
  ) {}

  /** A chunk became durable: a revoke waiting for its partitions' work may go on. */
  settled(): void {
    if (this.revoking && this.revoking.tracks.every((t) => t.inFlight === 0)) this.finishRevoke();
  }

  /**
   * New partitions, before librdkafka assigns them (`assign`). At-least-once: assigned at once, at Kafka's
   * committed offsets. Exactly-once: first claimed in the offsets table (new owner epoch), then assigned
   * at the positions PostgreSQL holds.
   */
  assigned(parts: TopicPartition[], assign: (starts: TopicPartitionOffset[] | null) => void): void {
    const tracks: PartitionTrack[] = [];
    for (const { topic, partition } of parts) {
      let route;
      try {
        route = this.routes.route(topic);
      } catch (err) {
        this.host.fail(err);
        assign(null);
        return;
      }
      const track = this.tracker.assign(topic, partition);
      track.pipeline = route.pipeline;
      track.topicId = route.id;
      tracks.push(track);
    }
    this.host.poller()?.invalidate();
    this.ops.readiness.assignmentReceived = true;
    this.ops.metrics.rebalances.inc({ kind: 'assign' });
    log.info(`assigned ${parts.map((p) => `${p.topic}[${p.partition}]`).join(', ') || 'no partitions'}`);
    const claim = this.host.claim;
    // Partitions assigned while stopping are handed back on leaving; nothing of them is written.
    if (this.host.stopping()) {
      for (const t of tracks) t.fenced = claim !== null;
      assign(null);
      return;
    }
    if (claim === null) {
      const starts = this.host.startAtEnd ? this.startsOfNewPartitions(tracks) : Promise.resolve(null);
      starts
        .then(async (s) => {
          await this.startFetching(tracks, s, assign);
          return this.loadStartPositions(tracks);
        }, async (err) => {
          await this.startFetching(tracks, null, assign);
          throw err;
        })
        .catch((err) => (this.host.stopping() ? log.warn(messageOf(err)) : this.host.fail(err)));
      return;
    }
    this.claimPositions(tracks, claim).then(
      (starts) => this.startFetching(tracks, starts, assign),
      async (err) => {
        // Nothing of these partitions may be written without a claim: their records are passed over.
        for (const t of tracks) t.fenced = true;
        await this.startFetching(tracks, null, assign);
        if (this.host.stopping()) log.warn(messageOf(err));
        else this.host.fail(err);
      },
    );
  }

  /**
   * Hands librdkafka the new assignment between two polls, and only then lets the partitions' messages
   * through (PartitionTrack.fetching). A consume in flight when the group rebalanced, or the rest of a
   * batch the poller could not write yet (ring full), may hold messages of these partitions fetched under
   * their previous assignment here; written into the new track, they would be written again when the
   * partition is fetched from its new start (CI, node-rdkafka source: a scale-out wrote 30 records twice).
   * At the barrier no consume is in flight; what the poller holds of them is dropped, and every later
   * consume starts after the assign, which purges librdkafka's fetched messages of earlier assignments.
   */
  private startFetching(tracks: PartitionTrack[], starts: TopicPartitionOffset[] | null, assign: (starts: TopicPartitionOffset[] | null) => void): Promise<void> {
    let done = false;
    const poller = this.host.poller();
    const go = () => {
      if (done) return;
      done = true;
      poller?.dropPending(tracks);
      for (const t of tracks) t.fetching = true;
      assign(starts);
    };
    if (!poller) return Promise.resolve(go());
    // A stopped loop resolves without running it: then no poll can interleave.
    return poller.betweenPolls(go).then(go);
  }

  /** Exactly-once: where each new partition starts, from the offsets table (see commit/offsets-table.ts). */
  private async claimPositions(tracks: PartitionTrack[], claim: (parts: ClaimRequest[]) => Promise<ClaimedPartition[]>): Promise<TopicPartitionOffset[]> {
    if (tracks.length === 0) return [];
    const source = this.host.source();
    const committed = await source.committed(tracks.map((t) => ({ topic: t.topic, partition: t.partition })), 10_000);
    const marks = await this.watermarksWhereNeeded(tracks, committed);
    const claimed = await claim(
      tracks.map((t, i) => {
        const c = committed[i]?.offset ?? -1;
        if (c >= 0) return { topic: t.topic, partition: t.partition, start: c };
        if (!this.host.startAtEnd) return { topic: t.topic, partition: t.partition, start: marks[i].low };
        return { topic: t.topic, partition: t.partition, start: marks[i].high, startIfTopicKnown: marks[i].low };
      }),
    );
    const byKey = new Map(claimed.map((c) => [`${c.partition}:${c.topic}`, c]));
    const starts: TopicPartitionOffset[] = [];
    tracks.forEach((track, i) => {
      const c = byKey.get(`${track.partition}:${track.topic}`);
      if (!c) throw new Error(`the offsets table returned nothing for ${track.topic}[${track.partition}]`);
      track.ownerEpoch = c.epoch;
      track.start(c.resume);
      track.skip = c.skip;
      if ((committed[i]?.offset ?? -1) >= 0) track.committed = committed[i].offset;
      if (this.untilCaughtUp) this.targets.set(track, marks[i].high);
      starts.push({ topic: track.topic, partition: track.partition, offset: c.resume });
    });
    log.info(`claimed ${claimed.map((c) => `${c.topic}[${c.partition}]@${c.resume}${c.skip.length > 0 ? ` (skipping ${c.skip.map(([a, b]) => `${a}-${b - 1}`).join(', ')})` : ''} epoch ${c.epoch}`).join(', ')}`);
    setImmediate(() => this.checkCaughtUp(false));
    return starts;
  }

  private reclaiming: Promise<void> | null = null;
  private reclaimAgain = false;

  /**
   * Exactly-once, after the sink replaced a connection it lost: the server it writes to now may be a
   * promoted replica that lacks the last transactions the old primary acknowledged (asynchronous
   * replication), their rows and their positions alike. So every partition this engine owns is claimed
   * again on that server (a new epoch, above any it wrote with, so batches still in flight under the old
   * one write nothing) and consumption goes back to where that server says each partition stands: rows
   * lost in the promotion are written again, rows that survived are skipped. Requests while one runs are
   * folded into one more run.
   */
  reclaim(why: string): void {
    if (this.host.claim === null || this.host.stopping()) return;
    if (this.reclaiming) {
      this.reclaimAgain = true;
      return;
    }
    this.reclaiming = (async () => {
      do {
        this.reclaimAgain = false;
        await this.reclaimOnce(why, this.host.claim!);
      } while (this.reclaimAgain && !this.host.stopping());
    })()
      .catch((err) => (this.host.stopping() ? log.warn(messageOf(err)) : this.host.fail(err)))
      .finally(() => (this.reclaiming = null));
  }

  private async reclaimOnce(why: string, claim: (parts: ClaimRequest[]) => Promise<ClaimedPartition[]>): Promise<void> {
    const owned = [...this.tracker.all()].filter((t) => !t.draining && !t.fenced && t.floor >= 0);
    if (owned.length === 0) return;
    // A partition whose row the new server lacks altogether starts where this assignment started.
    const claimed = await claim(owned.map((t) => ({ topic: t.topic, partition: t.partition, start: t.floor, epochAbove: t.ownerEpoch })));
    const byKey = new Map(claimed.map((c) => [`${c.partition}:${c.topic}`, c]));
    const poller = this.host.poller();
    if (!poller) return;
    await poller.betweenPolls(async () => {
      const starts: TopicPartitionOffset[] = [];
      const moved: string[] = [];
      for (const old of owned) {
        const c = byKey.get(`${old.partition}:${old.topic}`);
        // Revoked by a rebalance meanwhile, or claimed by another process: the group's business now.
        if (!c || old.revoked || old.draining || this.tracker.get(old.topic, old.partition) !== old) continue;
        old.fenced = true;
        const track = this.tracker.assign(old.topic, old.partition);
        track.pipeline = old.pipeline;
        track.topicId = old.topicId;
        track.ownerEpoch = c.epoch;
        track.start(c.resume);
        track.skip = c.skip;
        track.fetching = true;
        const target = this.targets.get(old);
        if (target !== undefined) {
          this.targets.delete(old);
          this.targets.set(track, target);
        }
        starts.push({ topic: old.topic, partition: old.partition, offset: c.resume });
        if (c.resume < old.polled) moved.push(`${old.topic}[${old.partition}] ${old.polled}→${c.resume}`);
      }
      poller.invalidate();
      poller.dropPending(starts);
      await this.host.source().seek(starts);
      this.ops.metrics.reclaims.inc();
      log.info(`positions re-read from PostgreSQL (${why}): ${moved.length === 0 ? 'every partition stands where the engine had it' : `going back to write again what the server lacks: ${moved.join(', ')}`}`);
    });
  }

  /**
   * The log's ends of the partitions that need them: no commit yet (where to start), or --until-caught-up
   * (where to stop). A partition moving between members has a commit, and needs none: each query is a
   * blocking broker request on libuv's thread pool, where the native source's fills run too, so a dozen of
   * them at every rebalance would hold up the fills of the partitions that did not move.
   */
  private async watermarksWhereNeeded(tracks: PartitionTrack[], committed: TopicPartitionOffset[]): Promise<Array<{ low: number; high: number }>> {
    const unknown = { low: -1, high: -1 };
    return Promise.all(
      tracks.map((t, i) => ((committed[i]?.offset ?? -1) >= 0 && !this.untilCaughtUp ? Promise.resolve(unknown) : this.host.source().watermarks(t.topic, t.partition, 10_000))),
    );
  }

  /**
   * At-least-once with auto.offset.reset latest: a partition the group never committed starts at the log's
   * first record when a lower partition of its topic (or, for a topicPattern pipeline, a topic of the same
   * pattern) has a commit: it was added to a running group, and the records produced into it before the
   * engine saw it would otherwise be skipped (KAFKA-12261). Only a group's very first start reads from the end.
   */
  private async startsOfNewPartitions(tracks: PartitionTrack[]): Promise<TopicPartitionOffset[] | null> {
    if (tracks.length === 0) return null;
    const asked = new Set(tracks.map((t) => `${t.partition}:${t.topic}`));
    const older: TopicPartition[] = [];
    for (const t of tracks) {
      for (let p = 0; p < t.partition; p++) {
        const key = `${p}:${t.topic}`;
        if (asked.has(key)) continue;
        asked.add(key);
        older.push({ topic: t.topic, partition: p });
      }
    }
    const committed = await this.host.source().committed([...tracks.map((t) => ({ topic: t.topic, partition: t.partition })), ...older], 10_000);
    const known = new Set(committed.filter((c) => c.offset >= 0).map((c) => c.topic));
    for (const t of this.tracker.all()) if (t.committed >= 0) known.add(t.topic);
    const knownTopics = [...known];
    return tracks.map((t, i) => {
      const c = committed[i]?.offset ?? -1;
      if (c >= 0) return { topic: t.topic, partition: t.partition, offset: c };
      const added = known.has(t.topic) || knownTopics.some((k) => this.host.sharePattern(k, t.topic));
      return { topic: t.topic, partition: t.partition, offset: added ? OFFSET_BEGINNING : OFFSET_STORED };
    });
  }

  /** Where each new partition starts (committed offset, else the log start) and, if asked, where it ends. */
  private async loadStartPositions(tracks: PartitionTrack[]): Promise<void> {
    if (tracks.length === 0) return;
    const committed = await this.host.source().committed(tracks.map((t) => ({ topic: t.topic, partition: t.partition })), 10_000);
    const ends = await this.watermarksWhereNeeded(tracks, committed);
    tracks.forEach((track, i) => {
      if (track.revoked) return;
      const c = committed[i]?.offset ?? -1;
      if (c >= 0) track.committed = c;
      if (track.watermark < 0 && track.inFlight === 0) track.watermark = c >= 0 ? c : ends[i].low;
      if (this.untilCaughtUp) this.targets.set(track, ends[i].high);
    });
    this.checkCaughtUp(false);
  }

  /**
   * Called inside the rebalance callback. The revoked partitions stop taking new messages; their work in
   * flight finishes (up to 10 s) and its positions are committed before librdkafka is told to let them
   * go, so the next owner starts right after what this engine wrote: a rebalance writes no duplicates
   * unless a batch outlives the wait.
   */
  revoked(parts: TopicPartition[], release: () => void, lost: boolean): void {
    const tracks = parts.map((p) => this.tracker.get(p.topic, p.partition)).filter((t): t is PartitionTrack => t !== undefined);
    for (const t of tracks) t.draining = true;
    this.host.poller()?.invalidate();
    const finish = async () => {
      if (lost) {
        // The group already gave these partitions to another member: a commit now could move its position back.
        log.warn(`assignment of ${parts.map((p) => `${p.topic}[${p.partition}]`).join(', ')} was lost; nothing of it is committed (the new owner re-reads from the last commit)`);
      } else {
        try {
          // Every revoked partition, even where an asynchronous commit of the same position is still on its
          // way: this one is answered before the partition moves, so the next owner never reads an older one.
          await this.host.source().commitAndWait(this.tracker.positions((t) => tracks.includes(t)));
        } catch (err) {
          log.warn(`commit on revoke failed (the next owner re-reads from the last commit): ${messageOf(err)}`);
        }
      }
      for (const t of tracks) {
        this.tracker.revoke(t.topic, t.partition);
        this.targets.delete(t);
        this.ops.metrics.forgetPartition(t.topic, t.partition);
      }
      this.ops.metrics.rebalances.inc({ kind: lost ? 'lost' : 'revoke' });
      log.info(`revoked ${parts.map((p) => `${p.topic}[${p.partition}]`).join(', ')}`);
      release();
    };
    if (lost || this.host.stopping() || tracks.every((t) => t.inFlight === 0)) return void finish();
    const timer = setTimeout(() => {
      log.warn('revoke: work in flight did not settle within 10 s; releasing the partitions (the next owner re-reads from the last commit)');
      this.finishRevoke();
    }, 10_000);
    this.revoking = { tracks, finish, timer };
  }

  finishRevoke(): void {
    const r = this.revoking;
    if (!r) return;
    this.revoking = null;
    clearTimeout(r.timer);
    void r.finish();
  }

  /**
   * Records between each assigned partition's durable position and its end offset as librdkafka last saw it
   * (cached, no request); null when no end offset is known yet.
   */
  lag(): number | null {
    const tracks = [...this.tracker.all()];
    if (tracks.length === 0) return 0;
    const parts = tracks.map((t) => ({ topic: t.topic, partition: t.partition }));
    const ends = this.host.source().cachedHighWatermarks(parts);
    const positions = this.host.source().positions(parts);
    let lag = 0;
    let known = false;
    tracks.forEach((t, i) => {
      const end = ends[i]?.offset ?? -1;
      if (end < 0 || t.watermark < 0) return;
      known = true;
      // With nothing in flight, offsets below librdkafka's position that never reached the engine are
      // transaction markers or compacted away: not lag.
      const at = t.inFlight === 0 ? Math.max(t.watermark, positions[i]?.offset ?? -1) : t.watermark;
      lag += Math.max(0, end - at);
    });
    return known ? lag : null;
  }

  /** --until-caught-up: records between the durable positions and the targets (null until every target is known). */
  remaining(): number | null {
    let left = 0;
    for (const track of this.tracker.all()) {
      const target = this.targets.get(track);
      if (target === undefined) return null;
      left += Math.max(0, target - Math.max(track.watermark, 0));
    }
    return left;
  }

  /**
   * --until-caught-up: stop once every assigned partition's durable watermark reached its target. When
   * `quiescent` (the poller just got an empty poll, so nothing is fetched but unwritten), a partition
   * with nothing in flight may also use librdkafka's position: offsets below it that never reached us
   * are transaction markers or compacted away. Not while positions are re-read from PostgreSQL (reclaim):
   * its claim fences the tracks in flight before it replaces them, and a fenced track's batches finish
   * without writing its rows, so its watermark reaches the target with nothing written (run with CI's
   * outage test: "caught-up" after a PostgreSQL restart with 69,309 of 300,000 records unwritten).
   */
  checkCaughtUp(quiescent: boolean): void {
    if (!this.untilCaughtUp || this.host.stopping() || this.tracker.size === 0 || this.reclaiming !== null) return;
    for (const track of this.tracker.all()) {
      const target = this.targets.get(track);
      if (target === undefined) return;
      if (track.watermark >= target) continue;
      if (!quiescent || track.inFlight > 0) return;
      const position = this.host.source().positions([{ topic: track.topic, partition: track.partition }])[0]?.offset ?? -1;
      if (position < target) return;
      track.watermark = position;
    }
    this.host.caughtUp();
  }

  /**
   * The last commit before leaving the group. Another member's rebalance may be under way (with the
   * cooperative protocol the group rebalances twice when a member joins): the broker then refuses the
   * commit (illegal generation, rebalance in progress) until it completes, so the rebalance is served and
   * the commit retried for up to 30 s. Records fetched meanwhile are not written and not committed.
   */
  async commitFinal(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        // All positions, not only those not yet sent: an asynchronous commit may still be in flight.
        await this.host.source().commitAndWait(this.tracker.positions());
        return;
      } catch (err) {
        // A client in a fatal state (fenced, …) will refuse every commit: nothing to wait for.
        if (Date.now() >= deadline || /Fatal error/i.test(messageOf(err))) {
          log.error(`${messageOf(err)} (gave up; the next owner re-reads from the last commit)`);
          return;
        }
        log.info(`${messageOf(err)}; serving the group's rebalance and retrying`);
        try {
          await this.host.source().serve(250);
        } catch (e) {
          log.warn(messageOf(e));
        }
        this.finishRevoke();
      }
    }
  }
}
