/**
 * A pipeline's `topicPattern`, compiled once and used everywhere a topic is matched: the subscription
 * (librdkafka treats a topic starting with `^` as a POSIX extended regex), the router that sends an
 * assigned topic to its pipeline, and the CLI's `offsets`. The pattern must match the whole topic name,
 * as in Kafka's Java client (`Pattern.matches`): `orders_.*` takes `orders_eu`, not `old_orders_eu`.
 * A leading `^` and a trailing `$` are accepted and change nothing.
 */
export interface TopicPattern {
  /** What is subscribed: `^(pattern)$`, read alike by librdkafka (POSIX ERE) and JavaScript. */
  readonly source: string;
  readonly re: RegExp;
}

/** Constructs JavaScript reads but POSIX extended regexes (librdkafka's) do not, with what to write instead. */
const NOT_POSIX: Array<[RegExp, string]> = [
  [/\(\?/, '(?…) groups and lookarounds are not POSIX: use plain (…)'],
  [/\\[dD]/, '\\d is not POSIX: use [0-9]'],
  [/[*+?}]\?/, 'lazy quantifiers (*?, +?) are not POSIX'],
];

/** The compiled pattern, or a problem text saying what is wrong with it. */
export function compileTopicPattern(pattern: string): TopicPattern | string {
  let inner = pattern.startsWith('^') ? pattern.slice(1) : pattern;
  if (inner.endsWith('$') && !inner.endsWith('\\$')) inner = inner.slice(0, -1);
  if (inner === '') return 'empty pattern';
  for (const [re, why] of NOT_POSIX) if (re.test(inner)) return why;
  const source = `^(${inner})$`;
  try {
    return { source, re: new RegExp(source) };
  } catch (err) {
    return `not a valid regular expression (${(err as Error).message})`;
  }
}

/** compileTopicPattern for a pattern that validation already accepted. */
export function topicPattern(pattern: string): TopicPattern {
  const p = compileTopicPattern(pattern);
  if (typeof p === 'string') throw new Error(`topicPattern ${pattern}: ${p}`);
  return p;
}
