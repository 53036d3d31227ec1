import type { ClusterName, DrConfig, EngineConfig, PipelineConfig } from '../config/types';

/**
 * [DR] What a pipeline reads on each cluster of a mirrored deployment. MirrorMaker 2 copies the topic
 * `orders` of the primary into the DR cluster as `primary.orders` (DefaultReplicationPolicy; the same name
 * with IdentityReplicationPolicy), and, for failback, DR's own `orders` back into the primary as
 * `dr.orders`. A logical topic therefore has two streams, by the cluster its records were first written to:
 *
 *   stream (origin)     on the primary       on the DR cluster
 *   primary             orders               primary.orders   (identity: orders)
 *   dr                  dr.orders            orders
 *
 * and a pipeline reads both streams of its topics on whichever cluster is active. Positions are kept per
 * cluster: in the offsets table the DR cluster's rows belong to the group `<groupId>@<drAlias>`.
 */

/** The name MM2 gives a topic it mirrors from the cluster `alias`. */
export function remoteTopic(dr: DrConfig, alias: string, topic: string): string {
  return dr.replicationPolicy === 'identity' ? topic : `${alias}.${topic}`;
}

/** The alias of a cluster, as MM2 names it. */
export function aliasOf(dr: DrConfig, cluster: ClusterName): string {
  return cluster === 'primary' ? dr.primaryAlias : dr.drAlias;
}

export function otherCluster(cluster: ClusterName): ClusterName {
  return cluster === 'primary' ? 'dr' : 'primary';
}

/** The group's key in the offsets table on a cluster: the DR cluster's positions are not the primary's. */
export function positionsGroup(config: EngineConfig, cluster: ClusterName = config.kafka.cluster): string {
  return cluster === 'primary' || config.kafka.dr === null ? config.kafka.groupId : `${config.kafka.groupId}@${config.kafka.dr.drAlias}`;
}

/**
 * The topic as named on `cluster`, for the stream whose records were written first on `origin`: the topic
 * itself on its origin, MM2's remote name elsewhere.
 */
export function streamTopic(dr: DrConfig, topic: string, origin: ClusterName, cluster: ClusterName): string {
  return origin === cluster ? topic : remoteTopic(dr, aliasOf(dr, origin), topic);
}

/** The logical topic and origin of a topic named on `cluster` (the inverse of streamTopic); null if it is no mirror. */
export function streamOf(dr: DrConfig, physical: string, cluster: ClusterName): { topic: string; origin: ClusterName } {
  const other = otherCluster(cluster);
  const prefix = `${aliasOf(dr, other)}.`;
  if (dr.replicationPolicy === 'default' && physical.startsWith(prefix)) return { topic: physical.slice(prefix.length), origin: other };
  return { topic: physical, origin: cluster };
}

const escapeRegex = (text: string) => text.replace(/[.^$|?*+()[\]{}\\]/g, '\\$&');

/**
 * The configuration as it reads `cluster`: its brokers (kafka.dr.config over kafka.config on DR), and each
 * pipeline's topics widened to both streams. A mirrored stream is subscribed by pattern, so that one MM2
 * has not created yet (dr.orders before any failback) is no error.
 */
export function clusterView(config: EngineConfig, cluster: ClusterName): EngineConfig {
  const dr = config.kafka.dr;
  if (dr === null) return { ...config, kafka: { ...config.kafka, cluster: 'primary' } };
  const brokers = cluster === 'primary' ? dr.primaryBrokers : dr.brokers;
  const settings = cluster === 'primary' ? dr.primaryConfig : { ...dr.primaryConfig, ...dr.config };
  const mirrorPrefix = escapeRegex(`${aliasOf(dr, otherCluster(cluster))}.`);
  const pipelines = config.pipelines.map((p): PipelineConfig => {
    if (dr.replicationPolicy === 'identity') return p;
    if (p.topics !== null) return { ...p, topicPattern: `(${mirrorPrefix})(${p.topics.map(escapeRegex).join('|')})` };
    return { ...p, topicPattern: `(${mirrorPrefix})?(${trimAnchors(p.topicPattern!)})` };
  });
  return { ...config, kafka: { ...config.kafka, brokers, config: settings, cluster }, pipelines };
}

function trimAnchors(pattern: string): string {
  let inner = pattern.startsWith('^') ? pattern.slice(1) : pattern;
  if (inner.endsWith('$') && !inner.endsWith('\\$')) inner = inner.slice(0, -1);
  return inner;
}
