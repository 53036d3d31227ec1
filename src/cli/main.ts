#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../config/load';
import { configJsonSchema } from '../config/schema';
import { inspectDeadLetters, replayConfig } from './dlq';
import { formatPositions, otherClusterPositions, parseTarget, resetPositions, showPositions } from './offsets';
import { ClusterInactiveError } from '../commit/active-cluster';
import type { ClusterName, EngineConfig } from '../config/types';
import { Engine } from '../engine/engine';
import { activeCluster, failover } from '../engine/failover';
import { clusterView, otherCluster } from '../source/clusters';
import { formatFailover } from '../engine/failover-report';
import { EngineError, ErrorCodes, exitCodeFor, ExitCodes, messageOf } from '../errors';
import { log, redact } from '../log';
import { createStatements } from '../sink/create-table';
import { loadSchemas } from '../schema/load';
import { expandForStart } from '../source/cluster-topics';
import { TopicsChanged } from '../source/routes';
import { printDdl as printDdlOf } from './print-ddl';
import { TablesChanged, type EvolvedSchema } from '../engine/evolve';

const USAGE = `usage:
  engine start <config.yaml> [--until-caught-up]   run the pipelines until SIGINT/SIGTERM (or caught up)
  engine validate <config.yaml> [--print-ddl]      check the config and its schema files, connect to nothing
                                                   (--print-ddl: the tables create: would make)
  engine config-schema                             print the config's JSON Schema (schemas/config.schema.json)
  engine dlq inspect <config.yaml> --pipeline P    count a pipeline's dead letters by error code, show samples
  engine dlq replay <config.yaml> --pipeline P [--from-offset N]
                                                   write a pipeline's dead letters into its table (after a fix)
  engine failover <config.yaml> --to dr|primary    [DR] move the group to the other Kafka cluster (docs/kafka-dr.md)
  engine offsets show <config.yaml> --pipeline P   where each partition stands (offsets table, Kafka, log ends)
  engine offsets reset <config.yaml> --pipeline P --to earliest|latest|<offset>|<ISO time>
                                                   move a stopped pipeline's position (offsets table and Kafka)
  engine help`;

/** The options each command takes (util.parseArgs: `--name value` and `--name=value` both work). */
const COMMANDS = {
  start: { options: { 'until-caught-up': { type: 'boolean' } }, words: 1 },
  validate: { options: { 'print-ddl': { type: 'boolean' } }, words: 1 },
  'config-schema': { options: {}, words: 0 },
  dlq: { options: { pipeline: { type: 'string' }, 'from-offset': { type: 'string' } }, words: 2 },
  offsets: { options: { pipeline: { type: 'string' }, to: { type: 'string' } }, words: 2 },
  failover: { options: { to: { type: 'string' } }, words: 1 },
} as const satisfies Record<string, { options: ParseArgsConfig['options']; words: number }>;

type Command = keyof typeof COMMANDS;

/** A wrong command line: printed with the usage, exit USAGE. */
class UsageError extends Error {}

/** Runs a command line and resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? ExitCodes.USAGE : ExitCodes.OK;
  }
  try {
    if (!(command in COMMANDS)) throw new UsageError(`unknown command ${command}`);
    const spec = COMMANDS[command as Command];
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(messageOf(err));
    }
    const { values, positionals } = parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
    if (positionals.length !== spec.words) throw new UsageError(`${command} takes ${['no argument', 'a config file', 'a sub-command and a config file'][spec.words]}, got: ${positionals.join(' ') || 'nothing'}`);
    if (command === 'config-schema') {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return ExitCodes.OK;
    }
    if (command === 'start' || command === 'validate') return await startOrValidate(command, positionals[0], values['until-caught-up'] === true, values['print-ddl'] === true);
    if (command === 'offsets') return await offsets(positionals, values);
    if (command === 'failover') {
      const to = values.to;
      if (to !== 'dr' && to !== 'primary') throw new UsageError('failover needs --to dr or --to primary');
      return await runFailover(positionals[0], to);
    }
    return await dlq(positionals, values);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`engine: bad command line (${err.message}): ${argv.join(' ')}\n${USAGE}\n`);
      return ExitCodes.USAGE;
    }
    return failed(err);
  }
}

async function startOrValidate(command: 'start' | 'validate', file: string, untilCaughtUp: boolean, printDdl = false): Promise<number> {
  const config = loadConfig(file);
  loadSchemas(config);
  const creates = createStatements(config);
  if (command === 'validate') {
    if (printDdl) await printDdlOf(config, creates, (text) => process.stdout.write(text));
    process.stdout.write(`${file}: valid (${config.pipelines.length} pipeline${config.pipelines.length === 1 ? '' : 's'}: ${config.pipelines.map((p) => p.name).join(', ')})\n`);
    return ExitCodes.OK;
  }
  // [DR] The group's active cluster is in PostgreSQL; a failover while running ends this engine with
  // ClusterInactiveError and it starts again on the other cluster.
  let cluster = await activeCluster(config);
  const evolved: EvolvedSchema[] = [];
  for (;;) {
    try {
      // [Tables] Table templates expand over the topics there are now; a new one restarts this loop.
      return await runEngine(await expandForStart(cluster === config.kafka.cluster ? config : clusterView(config, cluster)), untilCaughtUp, evolved);
    } catch (err) {
      if (err instanceof TopicsChanged) continue;
      if (err instanceof TablesChanged) {
        // [Tables] evolve: the next start alters the table for this schema and plans its columns.
        const s = err.schema;
        if (s !== null && evolved.some((e) => e.pipeline === s.pipeline && e.id === s.id)) {
          throw new EngineError(ErrorCodes.INTERNAL, `${err.message}, but it did so already for this schema: the table does not converge (report this)`, { cause: err });
        }
        if (s !== null) evolved.push(s);
        continue;
      }
      if (!(err instanceof ClusterInactiveError) || err.active === null) throw err;
      log.info(`the group failed over to the ${err.active} Kafka cluster: starting again there`);
      cluster = err.active;
    }
  }
}

async function runEngine(config: EngineConfig, untilCaughtUp: boolean, evolved: readonly EvolvedSchema[]): Promise<number> {
  const engine = new Engine(config, { untilCaughtUp, progressEveryMs: 10_000, evolved });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn(`${signal} again: exiting now without finishing in-flight batches (they are not committed)`);
      process.exit(ExitCodes.INTERRUPTED);
    }
    log.info(`${signal}: stopping after the batches in flight (send again to exit at once)`);
    engine.stop('signal');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await engine.run().finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary })}\n`);
  log.info(`done (${summary.reason}): ${summary.records} records, ${summary.rows} rows in ${summary.seconds.toFixed(1)} s (drain ${summary.drainSeconds.toFixed(2)} s = ${summary.recordsPerSecond.toFixed(0)} records/s), peak RSS ${(summary.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
  return ExitCodes.OK;
}

/** `engine failover <config> --to dr|primary`: the report as lines, then as one JSON line. */
async function runFailover(file: string, to: ClusterName): Promise<number> {
  const config = loadConfig(file);
  const report = await failover(config, to);
  process.stdout.write(`${formatFailover(report)}\n${JSON.stringify({ event: 'failover', ...report })}\n`);
  return ExitCodes.OK;
}

/** Every command's failure: the error on stderr (redacted), the exit code from the one map in errors.ts. */
function failed(err: unknown): number {
  if (err instanceof EngineError) process.stderr.write(redact(`engine: ${err.code}: ${err.message}\n`));
  else process.stderr.write(redact(`engine: unexpected error: ${err instanceof Error ? err.stack ?? err.message : messageOf(err)}\n`));
  return exitCodeFor(err);
}

/** `engine offsets show|reset <config> --pipeline P [--to T]`. */
async function offsets([sub, file]: string[], values: Record<string, string | boolean | undefined>): Promise<number> {
  const pipeline = values.pipeline as string | undefined;
  const to = values.to as string | undefined;
  if (sub !== 'show' && sub !== 'reset') throw new UsageError(`offsets ${sub}: expected show or reset`);
  if (!pipeline) throw new UsageError('offsets needs --pipeline');
  if (sub === 'show' && to !== undefined) throw new UsageError('offsets show takes no --to');
  const target = to === undefined ? null : parseTarget(to);
  if (sub === 'reset' && target === null) throw new UsageError('--to takes earliest, latest, an offset or an ISO time such as 2026-11-22T10:00:00Z');
  const loaded = loadConfig(file);
  // [DR] Positions on the cluster the group reads now.
  const cluster = await activeCluster(loaded);
  const config = cluster === loaded.kafka.cluster ? loaded : clusterView(loaded, cluster);
  if (config.kafka.dr) process.stdout.write(`group ${config.kafka.groupId} reads the ${cluster} Kafka cluster (${config.kafka.brokers})\n`);
  if (sub === 'reset') {
    const moved = await resetPositions(config, pipeline, target!);
    for (const m of moved) process.stdout.write(`${m.topic} ${m.partition} → ${m.offset}\n`);
    log.info(`reset ${moved.length} partitions of ${pipeline} (group ${config.kafka.groupId})`);
  }
  process.stdout.write(`${formatPositions(await showPositions(config, pipeline))}\n`);
  const other = await otherClusterPositions(config);
  if (other.length > 0) {
    process.stdout.write(`positions kept for the ${otherCluster(cluster)} cluster (used by a failover back to it):\n`);
    for (const o of other) process.stdout.write(`  ${o.topic}[${o.partition}] @${o.resume} (epoch ${o.epoch})\n`);
  }
  return ExitCodes.OK;
}

/** `engine dlq inspect|replay <config> --pipeline P [--from-offset N]`. */
async function dlq([sub, file]: string[], values: Record<string, string | boolean | undefined>): Promise<number> {
  const pipeline = values.pipeline as string | undefined;
  const from = values['from-offset'] as string | undefined;
  if (sub !== 'inspect' && sub !== 'replay') throw new UsageError(`dlq ${sub}: expected inspect or replay`);
  if (!pipeline) throw new UsageError('dlq needs --pipeline');
  if (from !== undefined && (sub !== 'replay' || !/^\d+$/.test(from))) throw new UsageError('--from-offset takes an offset, with dlq replay');
  const config = loadConfig(file);
  if (sub === 'replay') {
    loadSchemas(config);
    const replay = replayConfig(config, pipeline);
    if (from !== undefined) await resetPositions(replay, pipeline, { kind: 'offset', offset: Number(from) });
    const summary = await new Engine(replay, { untilCaughtUp: true }).run();
    process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary })}\n`);
    log.info(`replayed ${summary.records} dead letters of ${pipeline}: ${summary.rows} rows written, ${summary.skipped} still refused (they stay in the dead-letter topic)`);
    return ExitCodes.OK;
  }
  const report = await inspectDeadLetters(config, pipeline);
  process.stdout.write(`${report.topic}: ${report.count} dead letters\n`);
  for (const [code, n] of Object.entries(report.codes).sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${code}: ${n}\n`);
  for (const s of report.samples) process.stdout.write(`- ${s.source} ${s.code}${s.sqlstate ? ` (${s.sqlstate})` : ''}: ${s.message}\n  key ${s.key ?? '(null)'}, value ${s.value}\n`);
  process.stdout.write(`${JSON.stringify({ event: 'dlq', ...report })}\n`);
  return ExitCodes.OK;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(redact(`engine: ${messageOf(err)}\n`));
      process.exit(ExitCodes.FAILED);
    },
  );
}
