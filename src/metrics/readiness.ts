import type { Client } from 'pg';
import type { CommitTracker } from '../commit/commit-tracker';
import { messageOf } from '../errors';
import { connectPg, type PgServer, type PgTarget } from '../sink/pg-connection';
import type { ConsumerClient } from '../source/source';
import type { EngineMetrics } from './metrics';
import type { Check } from './server';

const PROBE_EVERY_MS = 2_000;
const WATERMARKS_EVERY_MS = 5_000;

/**
 * What /readyz reports, kept up to date off the hot path: PostgreSQL answers a probe (its own connection,
 * every 2 s, so an idle engine notices an outage too), Kafka answers the watermark queries that also
 * refresh each partition's high watermark and lag (every 5 s, also while polling is paused), the group
 * has assigned this engine its partitions (none is an answer too), and the sink is not retrying.
 */
export class Readiness {
  assignmentReceived = false;
  /** Set by the engine's watchdog (engine/watchdog.ts): why the engine counts as stalled, or null. */
  stalled: string | null = null;
  private pgProblem: string | null = 'not checked yet';
  private problem: string | null = null;
  /** [DR] Since when (ms) the brokers have not answered; null while they do. */
  kafkaUnreachableSince: number | null = null;
  private probe: Client | null = null;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private tracker: CommitTracker | null = null;

  constructor(
    private readonly target: PgTarget,
    private readonly retrying: () => string | null,
    private readonly server: () => PgServer | null,
  ) {}

  start(source: () => ConsumerClient | undefined, tracker: CommitTracker, metrics: EngineMetrics): void {
    this.tracker = tracker;
    const every = (ms: number, fn: () => Promise<void>) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy || this.stopped) return;
        busy = true;
        void fn().finally(() => (busy = false));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    void this.probePostgres();
    every(PROBE_EVERY_MS, () => this.probePostgres());
    every(WATERMARKS_EVERY_MS, () => this.refreshWatermarks(source(), tracker, metrics));
  }

  private get kafkaProblem(): string | null {
    return this.problem;
  }

  private set kafkaProblem(problem: string | null) {
    if (problem === null) this.kafkaUnreachableSince = null;
    else if (this.problem === null) this.kafkaUnreachableSince = Date.now();
    this.problem = problem;
  }

  /** A client error that says the brokers are unreachable (cleared by the next watermark query that works). */
  kafkaError(message: string): void {
    if (/all broker|brokers? (are )?down|connection refused|transport|timed out/i.test(message)) this.kafkaProblem = message;
  }

  checks(): Record<string, Check> {
    const retrying = this.retrying();
    return {
      kafka: { ok: this.kafkaProblem === null, detail: this.kafkaProblem ?? 'brokers answer' },
      postgres: { ok: this.pgProblem === null, detail: this.pgProblem ?? this.writesTo() },
      assignment: { ok: this.assignmentReceived, detail: this.assignmentDetail() },
      retries: { ok: retrying === null, detail: retrying ?? 'none' },
      watchdog: { ok: this.stalled === null, detail: this.stalled ?? 'moving' },
    };
  }

  /** [Scale] An engine the group gave nothing is ready: a standby, for when another member leaves. */
  private assignmentDetail(): string {
    if (!this.assignmentReceived) return 'waiting for the group to assign partitions';
    const owned = this.tracker?.size ?? 0;
    if (owned > 0) return `${owned} partition${owned === 1 ? '' : 's'}`;
    return 'no partitions: the group has more members than the topics have partitions; this engine stands by and takes partitions over when a member leaves';
  }

  private writesTo(): string {
    const s = this.server();
    return s === null ? 'answers' : `answers; writing to ${s.host} (${s.role}, timeline ${s.timeline})`;
  }

  private async probePostgres(): Promise<void> {
    try {
      if (!this.probe) {
        this.probe = await connectPg(this.target, { application_name: 'kafka-pg-engine readiness', connectionTimeoutMillis: 2_000 }, () => undefined);
      }
      await this.probe.query('SELECT 1');
      this.pgProblem = null;
    } catch (err) {
      this.pgProblem = `PostgreSQL does not answer: ${messageOf(err)}`;
      const c = this.probe;
      this.probe = null;
      await c?.end().catch(() => undefined);
    }
  }

  private async refreshWatermarks(source: ConsumerClient | undefined, tracker: CommitTracker, metrics: EngineMetrics): Promise<void> {
    if (!source) return;
    for (const t of [...tracker.all()]) {
      if (this.stopped) return;
      try {
        const { high } = await source.watermarks(t.topic, t.partition, 5_000);
        this.kafkaProblem = null;
        if (t.revoked) continue;
        const labels = { topic: t.topic, partition: String(t.partition) };
        metrics.highWatermark.set(labels, high);
        if (t.watermark >= 0) metrics.lag.set(labels, Math.max(0, high - t.watermark));
      } catch (err) {
        this.kafkaProblem = messageOf(err);
        return;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.probe?.end().catch(() => undefined);
    this.probe = null;
  }
}
