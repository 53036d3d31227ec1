import { parseQualifiedName, qualifiedSql } from './identifiers';
import { compileTopicPattern } from './topic-pattern';
import type { EngineConfig, PipelineConfig } from './types';
import { withRouteIndexes } from './table-routes';

/**
 * [Tables] `table: 'raw.${topic}'`: one table per topic of the pipeline. Before the engine starts, such a
 * pipeline is expanded into one pipeline per topic, each with its literal topic and its table (so batches,
 * plans and commits stay per table and per partition, as for any pipeline). A `topicPattern` pipeline
 * expands over the topics that match when the engine starts, and stays as a watcher for topics created
 * later: when one of them is assigned, the engine stops before reading it (TopicsChanged, errors.ts) and
 * starts again with the new topic expanded (cli/main.ts).
 *
 * The topic's name is sanitized for the table: every character but letters, digits and `_` becomes `_`
 * (Kafka names also allow `.` and `-`), a leading digit gets a `_` before it; the name is then read as
 * the `table:` text always is (unquoted SQL: folded to lower case) and quoted.
 */
export const TOPIC_PLACEHOLDER = '${topic}';

export function isTableTemplate(table: string): boolean {
  return table.includes(TOPIC_PLACEHOLDER);
}

export function sanitizeTopic(topic: string): string {
  const name = topic.replace(/[^A-Za-z0-9_]/g, '_');
  // An SQL name does not start with a digit.
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** The table for `topic` as text and as SQL, or why the template gives no valid name for it. */
export function resolveTableTemplate(template: string, topic: string): { table: string; tableSql: string } | string {
  const table = template.split(TOPIC_PLACEHOLDER).join(sanitizeTopic(topic));
  const q = parseQualifiedName(table);
  if (typeof q === 'string') return `table template ${template} gives "${table}" for topic ${topic}, which is not a table name: ${q}`;
  if (q.schema !== null && q.schema.startsWith('pg_')) return `table template ${template} gives the schema "${q.schema}" for topic ${topic}: names starting with pg_ are reserved by PostgreSQL`;
  return { table, tableSql: qualifiedSql(q) };
}

/** The name of the pipeline that a template pipeline becomes for one topic. */
export function expandedName(pipeline: string, topic: string): string {
  return `${pipeline}:${topic}`;
}

/**
 * The config with every template pipeline expanded over its topics (`clusterTopics`: the topics of the
 * cluster, for topicPattern pipelines; a topic a literal pipeline names stays with it). Throws for a
 * topic whose table name is not valid, naming the pipeline.
 */
export function expandTableTemplates(config: EngineConfig, clusterTopics: readonly string[]): EngineConfig {
  if (!config.pipelines.some((p) => p.tableTemplate !== null)) return config;
  const literal = new Set(config.pipelines.flatMap((p) => (p.tableTemplate === null ? p.topics ?? [] : [])));
  const pipelines: PipelineConfig[] = [];
  const moved = new Map<number, number>();
  config.pipelines.forEach((p, i) => {
    if (p.tableTemplate === null) {
      moved.set(i, pipelines.length);
      return void pipelines.push(p);
    }
    const pattern = p.topicPattern === null ? null : compileTopicPattern(p.topicPattern);
    const re = pattern !== null && typeof pattern !== 'string' ? pattern.re : null;
    const topics = p.topics ?? clusterTopics.filter((t) => !literal.has(t) && re !== null && re.test(t)).sort();
    for (const topic of topics) {
      const resolved = resolveTableTemplate(p.tableTemplate, topic);
      if (typeof resolved === 'string') throw new Error(`pipelines[${i}] (${p.name}): ${resolved}`);
      pipelines.push({ ...p, name: expandedName(p.name, topic), topics: [topic], topicPattern: null, ...resolved, tableTemplate: null, watchOnly: false });
    }
    // Topics created later still match the pattern: this pipeline sees them assigned and restarts the engine.
    if (p.topicPattern !== null) pipelines.push({ ...p, watchOnly: true });
  });
  return { ...config, pipelines: pipelines.map((p) => withRouteIndexes(p, (old) => moved.get(old)!)) };
}
