#!/usr/bin/env bash
# The local Apache Kafka broker (KRaft, one combined broker+controller on loopback) used by tests,
# benchmarks and the demo.
#   scripts/kafka.sh start [--secure] | stop | kill | status | address | secure-env | fetch
# kill: SIGKILL, as a crashed broker (its data stays; start recovers it), for the [DR] failover test.
# --secure (or KAFKA_SECURE=1) adds a SASL_SSL listener on KAFKA_SECURE_PORT (default PORT+2): SCRAM-SHA-512,
# a CA and a broker certificate generated at start with openssl into the state dir (none is committed),
# and the user `kpe` whose password is generated there too; `secure-env` prints where they are. A
# broker running without that listener is restarted with it. Plaintext stays on PORT either way.
# Jars come from Maven Central (scripts/kafka/pom.xml) into the git-ignored .cache/kafka/libs.
# Run state (PID file, data, logs) lives per port under $KAFKA_STATE_DIR, outside the checkout, so a
# second clone on the same machine recognises a broker that an earlier clone started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}
HOST=127.0.0.1
LIBS=${KAFKA_LIBS_DIR:-$ROOT/.cache/kafka/libs}
STATE=${KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/kafka-pg-engine/kafka-$PORT}
PIDFILE=$STATE/broker.pid
DATA=$STATE/data
LOGS=$STATE/logs
CONF=$STATE/server.properties
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
FETCH_TIMEOUT=${KAFKA_FETCH_TIMEOUT:-600}
HEAP=${KAFKA_HEAP:-512m}
SECURE_PORT=${KAFKA_SECURE_PORT:-$((PORT + 2))}
TLS=$STATE/tls
SECURE_MARK=$STATE/secure.listener
SECURE=${KAFKA_SECURE:-0}
SCRAM_USER=kpe

say() { echo "kafka: $*"; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

fetch_jars() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || die "Maven (mvn) is not installed; it is needed to fetch the broker from Maven Central"
  say "fetching Apache Kafka from Maven Central into $LIBS (log: $ROOT/.cache/kafka/fetch.log)"
  mkdir -p "$ROOT/.cache/kafka"
  rm -rf "$LIBS"
  if ! timeout "$FETCH_TIMEOUT" mvn -B -q -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIBS" >"$ROOT/.cache/kafka/fetch.log" 2>&1; then
    tail -n 20 "$ROOT/.cache/kafka/fetch.log" >&2 || true
    die "Maven could not fetch the broker jars (timeout ${FETCH_TIMEOUT}s); see $ROOT/.cache/kafka/fetch.log"
  fi
  touch "$LIBS/.complete"
}

# The secured listener's TLS material (scripts/tls.sh: a CA and the broker's certificate for 127.0.0.1 and
# localhost), the broker's PKCS12 keystore and the SCRAM user's password. Made once per state dir.
make_tls() {
  [ -f "$TLS/broker.p12" ] && [ -f "$TLS/scram.pass" ] && return 0
  bash "$ROOT/scripts/tls.sh" "$TLS" "IP:127.0.0.1,DNS:localhost" || die "making the test certificates failed"
  (
    cd "$TLS"
    openssl rand -hex 16 >store.pass
    openssl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt -name broker -passout "file:store.pass" -out broker.p12
    openssl rand -hex 16 >scram.pass
    chmod 600 store.pass scram.pass broker.p12
  ) >"$LOGS/tls.log" 2>&1 || die "making the broker keystore failed; see $LOGS/tls.log"
}

write_config() {
  mkdir -p "$STATE" "$LOGS"
  local listeners="PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT"
  local advertised="PLAINTEXT://$HOST:$PORT" protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [ "$SECURE" = 1 ]; then
    listeners+=",SASL_SSL://$HOST:$SECURE_PORT"
    advertised+=",SASL_SSL://$HOST:$SECURE_PORT"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  cat >"$CONF" <<PROPS
process.roles=broker,controller
node.id=1
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
log.dirs=$DATA
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
log.segment.bytes=268435456
num.network.threads=2
num.io.threads=4
PROPS
  rm -f "$SECURE_MARK"
  if [ "$SECURE" = 1 ]; then
    cat >>"$CONF" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$TLS/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$(cat "$TLS/store.pass")
listener.name.sasl_ssl.ssl.key.password=$(cat "$TLS/store.pass")
PROPS
    touch "$SECURE_MARK"
  fi
}

# SCRAM credentials live in the cluster metadata: set (again) at every start over the plaintext listener.
add_scram_user() {
  java_cmd kafka.admin.ConfigCommand --bootstrap-server "$HOST:$PORT" --alter --entity-type users --entity-name "$SCRAM_USER" \
    --add-config "SCRAM-SHA-512=[iterations=4096,password=$(cat "$TLS/scram.pass")]" >>"$LOGS/scram.log" 2>&1 \
    || die "creating the SCRAM user $SCRAM_USER failed; see $LOGS/scram.log"
}

secure_env() {
  echo "KAFKA_SECURE_BROKERS=$HOST:$SECURE_PORT"
  echo "KAFKA_SECURE_CA=$TLS/ca.crt"
  echo "KAFKA_SECURE_USER=$SCRAM_USER"
  echo "KAFKA_SECURE_PASSWORD_FILE=$TLS/scram.pass"
}

JAVA_ARGS=(-Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.xml" -Dkafka.logs.dir="$LOGS" -cp "$LIBS/*")
java_cmd() { java "${JAVA_ARGS[@]}" "$@"; }

format_storage() {
  # A data dir without meta.properties is half-written (a start that died during format): wipe it.
  if [ -d "$DATA" ] && [ ! -f "$DATA/meta.properties" ]; then
    say "removing half-written data dir $DATA"
    rm -rf "$DATA"
  fi
  [ -f "$DATA/meta.properties" ] && return 0
  local id
  id=$(java_cmd kafka.tools.StorageTool random-uuid 2>>"$LOGS/format.log" | tail -n 1)
  [ -n "$id" ] || die "could not generate a cluster id; see $LOGS/format.log"
  java_cmd kafka.tools.StorageTool format -t "$id" -c "$CONF" >>"$LOGS/format.log" 2>&1 \
    || { rm -rf "$DATA"; die "formatting the broker storage failed; see $LOGS/format.log"; }
}

wait_ready() {
  local pid=$1 deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      tail -n 20 "$LOGS/console.log" "$LOGS/server.log" >&2 2>/dev/null || true
      die "the broker exited during start; see $LOGS/server.log and $LOGS/console.log"
    fi
    if port_in_use "$PORT" && node "$ROOT/scripts/kafka-ready.js" "$HOST:$PORT" 5000 >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  die "the broker did not answer metadata requests within ${START_TIMEOUT}s; see $LOGS/server.log"
}

start() {
  local pid
  if pid=$(running_pid); then
    if [ "$SECURE" = 1 ] && [ ! -f "$SECURE_MARK" ]; then
      say "running without the secured listener: restarting with it"
      stop
    else
      say "already running (pid $pid)"
      echo "KAFKA_BROKERS=$HOST:$PORT"
      [ -f "$SECURE_MARK" ] && secure_env
      return 0
    fi
  fi
  [ -f "$PIDFILE" ] && { say "removing stale PID file $PIDFILE"; rm -f "$PIDFILE"; }
  command -v java >/dev/null || die "java is not installed (the broker needs Java 17+)"
  local ports=("$PORT" "$CONTROLLER_PORT")
  [ "$SECURE" = 1 ] && ports+=("$SECURE_PORT")
  for p in "${ports[@]}"; do
    port_in_use "$p" && die "port $HOST:$p is taken by another process (not a broker started by this script); set KAFKA_PORT to use another"
  done
  fetch_jars
  mkdir -p "$LOGS"
  [ "$SECURE" = 1 ] && make_tls
  write_config
  format_storage
  say "starting broker on $HOST:$PORT (logs: $LOGS/server.log)"
  # setsid: the broker outlives the shell (and CI step) that started it; `stop` ends it by PID.
  setsid nohup java "${JAVA_ARGS[@]}" kafka.Kafka "$CONF" >"$LOGS/console.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
  wait_ready "$pid"
  if [ "$SECURE" = 1 ]; then
    add_scram_user
    say "secured listener SASL_SSL://$HOST:$SECURE_PORT (SCRAM-SHA-512 user $SCRAM_USER)"
  fi
  say "ready (pid $pid)"
  echo "KAFKA_BROKERS=$HOST:$PORT"
  [ "$SECURE" = 1 ] && secure_env
  return 0
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; say "stopped"; return 0; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  say "killed (did not stop within 30s)"
}

case "${1:-}" in
  start) [ "${2:-}" = --secure ] && SECURE=1; start ;;
  secure-env) [ -f "$SECURE_MARK" ] || die "the broker was not started with --secure"; secure_env ;;
  stop) stop ;;
  fetch) fetch_jars ;;
  kill) if pid=$(running_pid); then kill -9 "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; rm -f "$PIDFILE"; say "killed (pid $pid, SIGKILL)"; else say "not running"; fi ;;
  status) if pid=$(running_pid); then say "running (pid $pid) on $HOST:$PORT"; else say "not running"; exit 3; fi ;;
  address) echo "$HOST:$PORT" ;;
  *) echo "usage: $0 start [--secure]|stop|status|address|secure-env" >&2; exit 2 ;;
esac
