import { ClusterInactiveError, type ActiveCluster } from '../commit/active-cluster';
import type { EngineConfig } from '../config/types';
import { messageOf } from '../errors';
import { log } from '../log';
import type { Sink } from '../sink/pg-sink';
import { clusterAnswers, failover } from './failover';
import { formatFailover } from './failover-report';

/**
 * [DR] An engine's eye on the group's active Kafka cluster (commit/active-cluster.ts), every 2 s: a
 * failover elsewhere ends the engine with ClusterInactiveError (the caller starts again on the active
 * cluster). Batches are fenced regardless; this catches an engine that has nothing to write (its cluster
 * is down). With kafka.dr.autoFailoverAfter it also fails the group over itself.
 */
export class ClusterWatch {
  private nextAutoFailover = 0;

  constructor(
    private readonly config: EngineConfig,
    private readonly active: ActiveCluster,
    private readonly sink: Sink,
    /** Since when the engine's brokers have not answered (Readiness), null while they do. */
    private readonly unreachableSince: () => number | null,
    private readonly fail: (err: unknown) => void,
  ) {}

  /** `create`: at start, make the table and the group's row if missing. */
  async check(create = false): Promise<void> {
    const now = await this.sink.transaction('reading the active Kafka cluster', (c) => (create ? this.active.ensure(c) : this.active.read(c)));
    if (now.cluster !== this.config.kafka.cluster) return this.fail(new ClusterInactiveError(this.config.kafka.cluster, now.cluster));
    await this.autoFailover();
  }

  /**
   * kafka.dr.autoFailoverAfter: once the primary has not answered for that long (and still does not, checked
   * with a connection of its own), fail the group over to DR. Never back: failback is a decision.
   */
  private async autoFailover(): Promise<void> {
    const after = this.config.kafka.dr?.autoFailoverAfterMs ?? 0;
    const since = this.unreachableSince();
    if (after <= 0 || this.config.kafka.cluster !== 'primary' || since === null || Date.now() - since < after || Date.now() < this.nextAutoFailover) return;
    // Not again before another autoFailoverAfter, whatever happens.
    this.nextAutoFailover = Date.now() + after;
    if (await clusterAnswers(this.config)) return;
    log.warn(`the primary Kafka cluster (${this.config.kafka.brokers}) has not answered for ${((Date.now() - since) / 1000).toFixed(0)} s (kafka.dr.autoFailoverAfter): failing over to the DR cluster`);
    try {
      log.info(formatFailover(await failover(this.config, 'dr')));
    } catch (err) {
      // Nothing moved; the primary may come back, or the DR cluster be ready by the next attempt.
      log.error(`automatic failover: ${messageOf(err)}; trying again in ${(after / 1000).toFixed(0)} s`);
      return;
    }
    this.fail(new ClusterInactiveError('primary', 'dr'));
  }
}
