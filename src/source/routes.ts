import { topicPattern } from '../config/topic-pattern';
import type { PipelineConfig } from '../config/types';
import { EngineError, ErrorCodes } from '../errors';

/** A topic the engine consumes: its small id (written into ring frames) and the pipeline it feeds. */
export interface TopicRoute {
  readonly id: number;
  readonly name: string;
  readonly pipeline: number;
}

/**
 * [Tables] A topic created after start matches a table-template pipeline's pattern (config/table-template.ts):
 * the engine stops before reading it and starts again with the topic's own pipeline and table.
 */
export class TopicsChanged extends EngineError {
  constructor(readonly topic: string, readonly pipeline: string) {
    super(ErrorCodes.TOPICS_CHANGED, `topic ${topic} is new and matches the pattern of pipeline ${pipeline}, whose table is a template: starting again with its table`);
  }
}

/**
 * Which pipeline a topic belongs to, by literal name or pattern. Topics get ids as they are first
 * assigned; ids fit the ring frame's u16 topic field.
 */
export class TopicRoutes {
  private readonly byName = new Map<string, TopicRoute>();
  private readonly byId: TopicRoute[] = [];
  private readonly patterns: Array<{ source: string; re: RegExp; pipeline: number }> = [];
  private readonly literal = new Map<string, number>();

  /** `named`: told each new route before any frame of its topic is written (the workers' topic names). */
  constructor(
    private readonly pipelines: readonly PipelineConfig[],
    private readonly named: ((route: TopicRoute) => void) | null = null,
  ) {
    pipelines.forEach((p, i) => {
      for (const t of p.topics ?? []) this.literal.set(t, i);
      if (p.topicPattern) this.patterns.push({ ...topicPattern(p.topicPattern), pipeline: i });
    });
  }

  /** What to subscribe to: literal names, and patterns in librdkafka's `^regex` form (the router's own expressions). */
  subscriptions(): string[] {
    return [...this.literal.keys(), ...this.patterns.map((p) => p.source)];
  }

  route(topic: string): TopicRoute {
    const known = this.byName.get(topic);
    if (known) return known;
    let pipeline = this.literal.get(topic);
    if (pipeline === undefined) {
      const matches = this.patterns.filter((p) => p.re.test(topic)).map((p) => p.pipeline);
      if (matches.length > 1) {
        throw new EngineError(ErrorCodes.KAFKA_TOPIC_ROUTE, `topic ${topic} matches the patterns of pipelines ${matches.map((m) => this.pipelines[m].name).join(' and ')}`);
      }
      pipeline = matches[0];
    }
    if (pipeline === undefined) throw new EngineError(ErrorCodes.KAFKA_TOPIC_ROUTE, `topic ${topic} is assigned but no pipeline routes it`);
    if (this.pipelines[pipeline].watchOnly) throw new TopicsChanged(topic, this.pipelines[pipeline].name);
    if (this.byId.length >= 0xffff) throw new EngineError(ErrorCodes.KAFKA_TOPIC_ROUTE, 'more than 65535 topics assigned to one engine');
    const route: TopicRoute = { id: this.byId.length, name: topic, pipeline };
    this.named?.(route);
    this.byName.set(topic, route);
    this.byId.push(route);
    return route;
  }

  /**
   * The pattern pipeline that `topic` belongs to, or undefined (a literal topic, or none): topics of one
   * pattern are one stream, so a new one is treated like a new partition (engine/partitions.ts).
   */
  patternPipelineOf(topic: string): number | undefined {
    if (this.literal.has(topic)) return undefined;
    const matches = this.patterns.filter((p) => p.re.test(topic));
    return matches.length === 1 ? matches[0].pipeline : undefined;
  }

  get(topic: string): TopicRoute | undefined {
    return this.byName.get(topic);
  }

  /** 0 … pipelines - 1. */
  pipelineIndexes(): number[] {
    return this.pipelines.map((_, i) => i);
  }

  byTopicId(id: number): TopicRoute | undefined {
    return this.byId[id];
  }
}
