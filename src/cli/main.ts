#!/usr/bin/env node
import { loadConfig } from '../config/load';
import { inspectDeadLetters, replayConfig } from './dlq';
import { formatPositions, parseTarget, resetPositions, showPositions } from './offsets';
import { Engine } from '../engine/engine';
import { EngineError, ErrorCodes, ExitCodes, messageOf } from '../errors';
import { log, redact } from '../log';
import { loadSchemas } from '../schema/load';

const USAGE = `usage:
  engine start <config.yaml> [--until-caught-up]   run the pipelines until SIGINT/SIGTERM (or caught up)
  engine validate <config.yaml>                    check the config and its schema files, connect to nothing
  engine dlq inspect <config.yaml> --pipeline P    count a pipeline's dead letters by error code, show samples
  engine dlq replay <config.yaml> --pipeline P [--from-offset N]
                                                   write a pipeline's dead letters into its table (after a fix)
  engine offsets show <config.yaml> --pipeline P   where each partition stands (offsets table, Kafka, log ends)
  engine offsets reset <config.yaml> --pipeline P --to earliest|latest|<offset>|<ISO time>
                                                   move a stopped pipeline's position (offsets table and Kafka)
  engine help`;

/** Runs a command line and resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'dlq') return dlq(rest);
  if (command === 'offsets') return offsets(rest);
  const flags = new Set(rest.filter((a) => a.startsWith('--')));
  const args = rest.filter((a) => !a.startsWith('--'));
  const known = new Set(['--until-caught-up']);
  const unknown = [...flags].filter((f) => !known.has(f));
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? ExitCodes.USAGE : ExitCodes.OK;
  }
  if ((command !== 'start' && command !== 'validate') || args.length !== 1 || unknown.length > 0) {
    process.stderr.write(`engine: ${unknown.length > 0 ? `unknown option ${unknown.join(', ')}` : `bad command line: ${argv.join(' ')}`}\n${USAGE}\n`);
    return ExitCodes.USAGE;
  }
  try {
    const config = loadConfig(args[0]);
    loadSchemas(config);
    if (command === 'validate') {
      process.stdout.write(`${args[0]}: valid (${config.pipelines.length} pipeline${config.pipelines.length === 1 ? '' : 's'}: ${config.pipelines.map((p) => p.name).join(', ')})\n`);
      return ExitCodes.OK;
    }
    const engine = new Engine(config, { untilCaughtUp: flags.has('--until-caught-up'), progressEveryMs: 10_000 });
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
    const summary = await engine.run();
    process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary })}\n`);
    log.info(`done (${summary.reason}): ${summary.records} records, ${summary.rows} rows in ${summary.seconds.toFixed(1)} s (drain ${summary.drainSeconds.toFixed(2)} s = ${summary.recordsPerSecond.toFixed(0)} records/s), peak RSS ${(summary.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
    return ExitCodes.OK;
  } catch (err) {
    if (err instanceof EngineError) {
      process.stderr.write(redact(`engine: ${err.code}: ${err.message}\n`));
      return err.code === ErrorCodes.CONFIG_INVALID || err.code === ErrorCodes.CONFIG_READ || err.code === ErrorCodes.SCHEMA_LOAD || err.code === ErrorCodes.TABLE_MAPPING
        ? ExitCodes.CONFIG
        : ExitCodes.FAILED;
    }
    process.stderr.write(redact(`engine: unexpected error: ${err instanceof Error ? err.stack ?? err.message : messageOf(err)}\n`));
    return ExitCodes.FAILED;
  }
}

/** `--name value` options of a sub-command, and the words that are not options. */
function options(argv: string[], names: string[]): { values: Map<string, string>; args: string[]; bad: string | null } {
  const values = new Map<string, string>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) args.push(a);
    else if (!names.includes(a) || i + 1 >= argv.length) return { values, args, bad: a };
    else values.set(a, argv[++i]);
  }
  return { values, args, bad: null };
}

function failed(err: unknown): number {
  process.stderr.write(redact(`engine: ${err instanceof EngineError ? `${err.code}: ` : ''}${messageOf(err)}\n`));
  return err instanceof EngineError && (err.code === ErrorCodes.CONFIG_INVALID || err.code === ErrorCodes.SCHEMA_LOAD || err.code === ErrorCodes.CONFIG_READ) ? ExitCodes.CONFIG : ExitCodes.FAILED;
}

/** `engine offsets show|reset <config> --pipeline P [--to T]`. */
async function offsets(argv: string[]): Promise<number> {
  const { values, args, bad } = options(argv, ['--pipeline', '--to']);
  const pipeline = values.get('--pipeline');
  const target = values.has('--to') ? parseTarget(values.get('--to')!) : null;
  const ok = args.length === 2 && pipeline && (args[0] === 'show' ? !values.has('--to') : args[0] === 'reset' && target !== null);
  if (bad || !ok) {
    process.stderr.write(`engine: bad command line: offsets ${argv.join(' ')}${values.has('--to') && target === null ? ` (--to takes earliest, latest, an offset or an ISO time such as 2026-11-22T10:00:00Z)` : ''}\n${USAGE}\n`);
    return ExitCodes.USAGE;
  }
  try {
    const config = loadConfig(args[1]);
    if (args[0] === 'reset') {
      const moved = await resetPositions(config, pipeline, target!);
      for (const m of moved) process.stdout.write(`${m.topic} ${m.partition} → ${m.offset}\n`);
      log.info(`reset ${moved.length} partitions of ${pipeline} (group ${config.kafka.groupId})`);
    }
    process.stdout.write(`${formatPositions(await showPositions(config, pipeline))}\n`);
    return ExitCodes.OK;
  } catch (err) {
    return failed(err);
  }
}

/** `engine dlq inspect|replay <config> --pipeline P [--from-offset N]`. */
async function dlq(argv: string[]): Promise<number> {
  const { values, args, bad } = options(argv, ['--pipeline', '--from-offset']);
  const pipeline = values.get('--pipeline');
  const from = values.get('--from-offset');
  if (bad || (args[0] !== 'inspect' && args[0] !== 'replay') || args.length !== 2 || !pipeline || (from !== undefined && (args[0] !== 'replay' || !/^\d+$/.test(from)))) {
    process.stderr.write(`engine: bad command line: dlq ${argv.join(' ')}\n${USAGE}\n`);
    return ExitCodes.USAGE;
  }
  try {
    const config = loadConfig(args[1]);
    if (args[0] === 'replay') {
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
  } catch (err) {
    return failed(err);
  }
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
