import { EngineError, ErrorCodes } from '../errors';
import type { GroupState } from '../source/source';

/** What the watchdog looks at, read once a second. */
export interface WatchdogInputs {
  /** librdkafka's view of the group (null before its first statistics). */
  group(): GroupState | null;
  assignedPartitions(): number;
  /** Records behind the end offsets of the assigned partitions (null when unknown). */
  lag(): number | null;
  /** Records polled plus rows made durable: any change is progress. */
  progress(): number;
  /** The sink is retrying a PostgreSQL outage: that has its own budget (retry.maxElapsed). */
  retryingPostgres(): boolean;
}

export interface WatchdogBounds {
  /** A stall this long makes /readyz fail. */
  notReadyAfterMs: number;
  /** A stall this long ends the process (0: never), so that an orchestrator restarts it. */
  exitAfterMs: number;
}

/**
 * Notices an engine that stopped moving while it should: a group member with no partitions and no
 * coordinator (librdkafka has been trying to find or reach it), or a backlog that does not shrink while
 * PostgreSQL answers. librdkafka retries such states by itself and usually recovers; when it does not,
 * the engine would otherwise sit there forever, looking alive. First readiness fails, then the engine
 * stops with ENG_KAFKA_STALLED and a non-zero exit.
 */
export class Watchdog {
  private groupSince: number | null = null;
  private lastProgress = -1;
  private progressAt = 0;
  /** Why readiness fails, or null. */
  problem: string | null = null;

  constructor(
    private readonly inputs: WatchdogInputs,
    private readonly bounds: WatchdogBounds,
  ) {}

  /** One look; returns the error to stop with once a stall outlasted exitAfterMs. */
  check(now: number): EngineError | null {
    const stalls: Array<[number, string]> = [];
    const group = this.inputs.group();
    const orphaned = group !== null && group.state !== 'up' && this.inputs.assignedPartitions() === 0;
    if (!orphaned) this.groupSince = null;
    else {
      this.groupSince ??= now;
      stalls.push([now - this.groupSince, `the consumer group has no coordinator (librdkafka state ${group.state}, join state ${group.joinState}) and this engine no partitions`]);
    }
    const progress = this.inputs.progress();
    const lag = this.inputs.lag();
    if (progress !== this.lastProgress || lag === null || lag === 0 || this.inputs.retryingPostgres()) {
      this.lastProgress = progress;
      this.progressAt = now;
    } else {
      stalls.push([now - this.progressAt, `${lag} records wait in Kafka but none was polled or written`]);
    }
    const [longest, why] = stalls.sort((a, b) => b[0] - a[0])[0] ?? [0, ''];
    this.problem = longest >= this.bounds.notReadyAfterMs ? `stalled for ${Math.round(longest / 1000)} s: ${why}` : null;
    if (this.bounds.exitAfterMs > 0 && longest >= this.bounds.exitAfterMs) {
      return new EngineError(ErrorCodes.KAFKA_STALLED, `stalled for ${Math.round(longest / 1000)} s (engine.watchdog.exitAfter): ${why}; exiting so that a supervisor restarts the engine (nothing unwritten was committed)`);
    }
    return null;
  }
}
