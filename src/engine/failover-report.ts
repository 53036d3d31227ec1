import type { FailoverReport } from './failover';

/** `engine failover`'s report for a person: what moved where, what the target never received. */
export function formatFailover(r: FailoverReport): string {
  if (r.already) return `group ${r.group} already reads the ${r.to} cluster: nothing moved`;
  const lines = [`group ${r.group}: ${r.from} → ${r.to} (${r.delivery}) in ${r.seconds.toFixed(1)} s`];
  for (const t of r.createdTopics) lines.push(`  created ${t} on the ${r.to} cluster (for the producers that fail over)`);
  if (r.delivery === 'at-least-once') {
    for (const m of r.moves) {
      lines.push(`  ${m.from.topic}[${m.partition}] committed @${m.from.resume} → ${m.to.topic}[${m.partition}] @${m.to.resume} (MM2's checkpoint)`);
    }
    for (const s of r.started) lines.push(`  ${s.topic}[${s.partition}] starts at ${s.offset} (no position yet)`);
    lines.push('  at-least-once resumes at the checkpoints: what the engine wrote after its last checkpointed commit, and up to offset.lag.max records before it (MM2 translates conservatively), are written again');
    return lines.join('\n');
  }
  for (const m of r.moves) {
    const how = m.to.found ? 'found the last written record' : m.from.lastMark === null ? 'no marked record: from the checkpoint' : `not mirrored: resumes at the end, ${m.lost < 0 ? 'an unknown number of' : m.lost} records written that the ${r.to} cluster never received`;
    lines.push(`  ${m.from.topic}[${m.partition}] @${m.from.resume} → ${m.to.topic}[${m.partition}] @${m.to.resume} (searched from ${m.to.searchedFrom}: ${how})`);
  }
  for (const s of r.started) lines.push(`  ${s.topic}[${s.partition}] starts at ${s.offset} (no position yet)`);
  if (r.lost > 0) lines.push(`  ${r.lost} records were written from the ${r.from} cluster that the ${r.to} cluster never received (MM2's lag when it failed)`);
  return lines.join('\n');
}
