import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runTimed, type Timed } from '../lib/measure';
import { pgQuery, REPO } from '../lib/scenario';

const LIBS = path.join(REPO, '.cache/connect/libs');

/** Kafka Connect and the Debezium JDBC sink, by package name from Maven Central, into a git-ignored cache. */
export function fetchConnect(): void {
  if (existsSync(path.join(LIBS, '.complete'))) return;
  process.stderr.write('  fetching Kafka Connect and the Debezium JDBC sink from Maven Central...\n');
  execFileSync('mvn', ['-B', '-q', '-f', path.join(REPO, 'bench/connect/pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${LIBS}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600_000,
  });
  writeFileSync(path.join(LIBS, '.complete'), '');
}

export interface ConnectRun {
  brokers: string;
  topic: string;
  table: string;
  count: number;
  tasks: number;
  databaseUrl: string;
  workDir: string;
  /** Upsert by this value field (insert.mode=upsert, primary.key.mode=record_value) instead of inserting. */
  upsertKey?: string;
  /** When the table is complete (default: it holds `count` rows). */
  done?: () => Promise<boolean>;
}

/**
 * Contender "Kafka Connect + Debezium JDBC sink": a standalone worker (JsonConverter with schemas) and
 * the sink in insert mode (or upsert mode, `upsertKey`), tuned as its docs advise for throughput: batch.size and the consumer's
 * max.poll.records raised, one task per PostgreSQL connection the engine gets. Measured from outside:
 * the table is counted every 250 ms; the drain is first row to last row.
 */
export async function runConnect(r: ConnectRun): Promise<Timed & { drainSeconds: number }> {
  fetchConnect();
  mkdirSync(r.workDir, { recursive: true });
  const url = new URL(r.databaseUrl);
  const jdbc = `jdbc:postgresql://${url.hostname}:${url.port || 5432}${url.pathname}`;
  const worker = path.join(r.workDir, 'worker.properties');
  const sink = path.join(r.workDir, 'sink.properties');
  const log4j = path.join(r.workDir, 'log4j2.xml');
  writeFileSync(
    worker,
    [
      `bootstrap.servers=${r.brokers}`,
      'key.converter=org.apache.kafka.connect.storage.StringConverter',
      'value.converter=org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable=true',
      `offset.storage.file.filename=${path.join(r.workDir, 'offsets')}`,
      'listeners=http://127.0.0.1:0',
      'consumer.max.poll.records=5000',
      'consumer.fetch.max.bytes=52428800',
      'consumer.auto.offset.reset=earliest',
      'offset.flush.interval.ms=1000',
    ].join('\n'),
  );
  writeFileSync(
    sink,
    [
      `name=bench-${r.table}`,
      'connector.class=io.debezium.connector.jdbc.JdbcSinkConnector',
      `tasks.max=${r.tasks}`,
      `topics=${r.topic}`,
      `connection.url=${jdbc}`,
      `connection.username=${decodeURIComponent(url.username) || 'root'}`,
      `connection.password=${decodeURIComponent(url.password)}`,
      ...(r.upsertKey ? ['insert.mode=upsert', 'primary.key.mode=record_value', `primary.key.fields=${r.upsertKey}`] : ['insert.mode=insert', 'primary.key.mode=none']),
      'schema.evolution=none',
      `table.name.format=${r.table}`,
      'batch.size=5000',
    ].join('\n'),
  );
  writeFileSync(
    log4j,
    `<Configuration status="WARN"><Appenders><File name="f" fileName="${path.join(r.workDir, 'connect.log')}"><PatternLayout pattern="[%d] %p %m (%c)%n"/></File></Appenders><Loggers><Root level="WARN"><AppenderRef ref="f"/></Root></Loggers></Configuration>`,
  );
  let firstRowAt = 0n;
  let doneAt = 0n;
  const run = await runTimed(
    'java',
    ['-Xms1g', '-Xmx1g', `-Dlog4j2.configurationFile=${log4j}`, '-cp', `${LIBS}/*`, 'org.apache.kafka.connect.cli.ConnectStandalone', worker, sink],
    {
      timeoutMs: 900_000,
      pollMs: 250,
      stopWhen: async () => {
        const [{ n }] = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM ${r.table}`);
        const now = process.hrtime.bigint();
        if (Number(n) > 0 && firstRowAt === 0n) firstRowAt = now;
        if (r.done ? await r.done() : Number(n) >= r.count) {
          doneAt = now;
          return true;
        }
        return false;
      },
    },
  );
  if (doneAt === 0n) throw new Error(`Kafka Connect exited before writing ${r.count} rows; see ${path.join(r.workDir, 'connect.log')}`);
  // The table is sampled every 250 ms: a drain shorter than that is reported as one sampling interval.
  return { ...run, drainSeconds: Math.max(Number(doneAt - firstRowAt) / 1e9, 0.25) };
}
