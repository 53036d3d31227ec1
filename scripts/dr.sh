#!/usr/bin/env bash
# [DR] A disaster-recovery Kafka cluster on this machine: a second single-node KRaft broker (DR_PORT,
# default 9192; its own state under $TMPDIR/kafka-pg-engine/kafka-<port>) and MirrorMaker 2 in dedicated
# mode mirroring the primary (KAFKA_PORT, default 9092) into it with the DefaultReplicationPolicy: on the
# DR cluster the topic `orders` is `primary.orders`; consumer groups' offsets are checkpointed into
# `primary.checkpoints.internal` and synced (sync.group.offsets.enabled).
#   scripts/dr.sh start [--reverse]   DR broker and MM2 (--reverse: dr → primary instead, for failback)
#   scripts/dr.sh stop | stop-mm2     stop MM2 and the DR broker | MM2 only
#   scripts/dr.sh fetch               MM2's jars only (setup.sh runs it)
#   scripts/dr.sh freeze-mm2 | kill-mm2   SIGSTOP | SIGKILL MM2: a mirror that lags, one that dies (tests)
#   scripts/dr.sh status              MM2 running or not; per mirrored partition the source and mirror end
#                                     offsets and the replication lag
# DR_TOPICS / DR_GROUPS: MM2's topic and group filters (regular expressions, default .* ); DR_ALIASES:
# the two cluster aliases (default "primary dr"). MM2 gets a 256 MiB heap, the DR broker KAFKA_HEAP.
# Jars: org.apache.kafka:connect-mirror from Maven Central (scripts/mm2/pom.xml) into .cache/mm2/libs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRIMARY_PORT=${KAFKA_PORT:-9092}
DR_PORT=${DR_PORT:-9192}
read -r PRIMARY_ALIAS DR_ALIAS <<<"${DR_ALIASES:-primary dr}"
LIBS=${MM2_LIBS_DIR:-$ROOT/.cache/mm2/libs}
STATE=${DR_STATE_DIR:-${TMPDIR:-/tmp}/kafka-pg-engine/mm2-$PRIMARY_PORT-$DR_PORT}
PIDFILE=$STATE/mm2.pid
HOST=127.0.0.1

say() { echo "dr: $*"; }
die() { echo "dr: ERROR: $*" >&2; exit 1; }

fetch_jars() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is not installed; it is needed to fetch MirrorMaker 2 from Maven Central"
  say "fetching MirrorMaker 2 (connect-mirror) from Maven Central into $LIBS"
  mkdir -p "$(dirname "$LIBS")"
  rm -rf "$LIBS"
  timeout 900 mvn -B -q -f "$ROOT/scripts/mm2/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$LIBS" >"$(dirname "$LIBS")/fetch.log" 2>&1 \
    || { tail -n 20 "$(dirname "$LIBS")/fetch.log" >&2; die "Maven could not fetch MirrorMaker 2; see $(dirname "$LIBS")/fetch.log"; }
  touch "$LIBS/.complete"
}

mm2_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null && grep -q 'connect.mirror.MirrorMaker' "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# source -> target of this run: primary -> dr, or dr -> primary with --reverse.
write_config() {
  local from=$1 to=$2
  cat >"$STATE/mm2.properties" <<PROPS
clusters = $PRIMARY_ALIAS, $DR_ALIAS
$PRIMARY_ALIAS.bootstrap.servers = $HOST:$PRIMARY_PORT
$DR_ALIAS.bootstrap.servers = $HOST:$DR_PORT
$from->$to.enabled = true
$to->$from.enabled = false
$from->$to.topics = ${DR_TOPICS:-.*}
$from->$to.groups = ${DR_GROUPS:-.*}
replication.policy.class = org.apache.kafka.connect.mirror.DefaultReplicationPolicy
# One broker per cluster: every internal topic with one replica.
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
# Short intervals: tests fail over seconds after they start.
emit.checkpoints.enabled = true
emit.checkpoints.interval.seconds = ${DR_CHECKPOINT_SECONDS:-2}
sync.group.offsets.enabled = true
sync.group.offsets.interval.seconds = ${DR_CHECKPOINT_SECONDS:-2}
refresh.topics.interval.seconds = 2
refresh.groups.interval.seconds = 2
# No heartbeats: with them MM2 also runs a herder for the disabled direction, and that herder starts the
# connectors an earlier run left in its config topic (a --reverse run re-mirrored primary -> dr from
# stale positions: duplicates in the mirror).
emit.heartbeats.enabled = false
# Source positions flushed every second (Connect's default is 60 s): an MM2 that dies re-mirrors at most
# that much again on restart. MM2 is at-least-once: see docs/kafka-dr.md.
offset.flush.interval.ms = 1000
tasks.max = 2
PROPS
}

start() {
  local from=$PRIMARY_ALIAS to=$DR_ALIAS pid
  [ "${1:-}" = --reverse ] && { from=$DR_ALIAS; to=$PRIMARY_ALIAS; }
  KAFKA_PORT=$DR_PORT KAFKA_HEAP=${KAFKA_HEAP:-384m} bash "$ROOT/scripts/kafka.sh" start >/dev/null
  node "$ROOT/scripts/kafka-ready.js" "$HOST:$PRIMARY_PORT" 5000 >/dev/null 2>&1 || die "the primary cluster ($HOST:$PRIMARY_PORT) does not answer"
  fetch_jars
  mkdir -p "$STATE"
  if pid=$(mm2_pid); then
    if grep -q "^$from->$to.enabled = true" "$STATE/mm2.properties"; then say "MM2 already running (pid $pid), $from -> $to"; return 0; fi
    stop_mm2
  fi
  write_config "$from" "$to"
  setsid nohup java -Xms256m -Xmx256m -XX:+UseG1GC -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.xml" \
    -Dkafka.logs.dir="$STATE" -cp "$LIBS/*" org.apache.kafka.connect.mirror.MirrorMaker "$STATE/mm2.properties" \
    >"$STATE/console.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  sleep 1
  mm2_pid >/dev/null || { tail -n 20 "$STATE/console.log" >&2; die "MirrorMaker 2 exited at start; see $STATE/console.log"; }
  say "MM2 running (pid $(cat "$PIDFILE")): $from ($HOST:$([ "$from" = "$PRIMARY_ALIAS" ] && echo "$PRIMARY_PORT" || echo "$DR_PORT")) -> $to; log $STATE/server.log"
}

stop_mm2() {
  local pid
  pid=$(mm2_pid) || { rm -f "$PIDFILE"; return 0; }
  kill "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  say "MM2 stopped"
}

case ${1:-} in
  start) start "${2:-}" ;;
  stop-mm2) stop_mm2 ;;
  fetch) fetch_jars ;;
  freeze-mm2) pid=$(mm2_pid) || die "MM2 is not running"; kill -STOP "$pid"; say "MM2 frozen (pid $pid)" ;;
  kill-mm2) if pid=$(mm2_pid); then kill -9 "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; rm -f "$PIDFILE"; say "MM2 killed (pid $pid)"; else say "MM2 not running"; fi ;;
  stop) stop_mm2; KAFKA_PORT=$DR_PORT bash "$ROOT/scripts/kafka.sh" stop ;;
  status)
    if pid=$(mm2_pid); then say "MM2 running (pid $pid): $(grep -- '-> *[a-z]*.enabled = true\|->.*enabled = true' "$STATE/mm2.properties" | head -n 1)"; else say "MM2 not running"; fi
    node "$ROOT/scripts/dr-lag.js" "$HOST:$PRIMARY_PORT" "$HOST:$DR_PORT" "$PRIMARY_ALIAS" "$DR_ALIAS" ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
