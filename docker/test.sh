#!/usr/bin/env bash
# The deploy test (run by .ci/run): builds the engine image from docker/Dockerfile and runs docker/compose.yml
# as a user would, with 3 engine replicas, then checks what docs/deploy.md promises:
# every sample record lands exactly once, each replica owns partitions, Prometheus finds the 3 replicas,
# a replica killed with SIGKILL loses nothing, `stop` drains every engine to exit code 0, the engine does
# not run as root, every metric the Grafana dashboard queries exists; then the ha overlay (compose.ha.yml):
# the primary is killed, the replica promoted, and the engines carry on there without a restart; then the
# dr profile: MirrorMaker 2 mirrors kafka into kafka-dr, kafka dies, `engine failover --to dr`, and the
# engines carry on from kafka-dr without a container restart.
# Installs docker.io and docker-compose if missing; starts dockerd if none runs (and stops it at the end);
# builds stand-ins for public images it cannot pull (docker/standins/build.sh).
#   bash docker/test.sh [--install-only]     DOCKER_TEST_RECORDS (default 100000) records per seeding
#   DOCKER_TEST_PHASES="ha" bash docker/test.sh   only some of the phases: main ha dr (default: all three)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PROJECT=${DOCKER_TEST_PROJECT:-kpe-deploy-test}
RECORDS=${DOCKER_TEST_RECORDS:-100000}
STATE=${TMPDIR:-/tmp}/kafka-pg-engine/docker-test
PARTITIONS=6
mkdir -p "$STATE"
started=$SECONDS

PHASES=" ${DOCKER_TEST_PHASES:-main ha dr} "
phase() { [[ "$PHASES" == *" $1 "* ]]; }
say() { echo "docker-test: $* (+$((SECONDS - started))s)"; }
die() {
  echo "docker-test: FAILED: $*" >&2
  compose ps >&2 2>/dev/null || true
  compose logs --no-color --tail=40 engine seed >&2 2>/dev/null || true
  exit 1
}
compose() { docker-compose -p "$PROJECT" -f docker/compose.yml "$@"; }
# The ha overlay (docker/compose.ha.yml): a primary with a streaming replica.
ha() { docker-compose -p "$PROJECT-ha" -f docker/compose.yml -f docker/compose.ha.yml "$@"; }
# The dr profile: a DR Kafka cluster and MirrorMaker 2; the engines run docker/engine-dr.yaml.
drc() { ENGINE_CONFIG=engine-dr.yaml docker-compose -p "$PROJECT-dr" -f docker/compose.yml --profile dr "$@"; }
sql() { compose exec -T postgres psql -U engine -d orders -tAc "$1"; }
engines() { docker ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=engine" "$@"; }
# Scraped from the host through the container's bridge address: a second Node process started by
# `docker exec` inside a replica (mem_limit 352m) could fail or be killed, and read as "no partition".
address() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
scrape() { curl -fsS --max-time 5 "http://$(address "$1"):9464/metrics"; }
prom() { curl -fsS --get "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/$1" ${2:+--data-urlencode "query=$2"}; }

# --- Docker itself -------------------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# --install-only: .ci/run installs first, then runs this test beside the host's own setup (one apt at a time).
[ "${1:-}" = --install-only ] && exit 0
started_dockerd=0
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $STATE/dockerd.log)"
  setsid dockerd >"$STATE/dockerd.log" 2>&1 </dev/null &
  started_dockerd=1
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -n 20 "$STATE/dockerd.log" >&2; die "dockerd did not start"; }
fi
cleanup() {
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  ha down -v --remove-orphans >/dev/null 2>&1 || true
  drc down -v --remove-orphans >/dev/null 2>&1 || true
  if [ "$started_dockerd" = 1 ] && [ -f /var/run/docker.pid ]; then
    kill "$(cat /var/run/docker.pid)" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT
compose down -v --remove-orphans >/dev/null 2>&1 || true

# --- Images ---------------------------------------------------------------------------------------------
bash docker/standins/build.sh
say "building the engine image (docker/Dockerfile; log: $STATE/engine-build.log)"
DOCKER_BUILDKIT=0 docker build -f docker/Dockerfile -t kafka-pg-engine:latest . >"$STATE/engine-build.log" 2>&1 \
  || { tail -n 40 "$STATE/engine-build.log" >&2; die "the engine image did not build"; }
mb() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1 / 1e6}'; }
say "engine image: $(mb kafka-pg-engine:latest) (its base, node:20-bookworm-slim: $(mb node:20-bookworm-slim))"
docker run --rm -v "$ROOT/docker/prometheus:/etc/prometheus:ro" --entrypoint /bin/promtool prom/prometheus:v2.53.5 \
  check config /etc/prometheus/prometheus.yml >/dev/null || die "promtool rejects docker/prometheus/prometheus.yml"
docker run --rm -v "$ROOT/docker/prometheus:/etc/prometheus:ro" -w /etc/prometheus --entrypoint /bin/promtool prom/prometheus:v2.53.5 \
  test rules alerts.test.yml >"$STATE/promtool-test.log" 2>&1 || { cat "$STATE/promtool-test.log" >&2; die "promtool test rules: the alert rules do not behave as docker/prometheus/alerts.test.yml expects"; }
say "promtool: docker/prometheus/prometheus.yml and its alert rules are valid; the rules pass their unit tests (alerts.test.yml)"

if phase main; then
# --- The stack, 3 replicas ------------------------------------------------------------------------------
PROMETHEUS_PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
export PROMETHEUS_PORT SEED_RECORDS=$RECORDS SEED_FIRST_ID=1
say "docker-compose up --scale engine=3 (Prometheus on 127.0.0.1:$PROMETHEUS_PORT)"
compose up -d --no-build --scale engine=3 kafka postgres seed engine prometheus >"$STATE/up.log" 2>&1 \
  || { cat "$STATE/up.log" >&2; die "docker-compose up failed"; }

wait_rows() {
  local want=$1 got=""
  for _ in $(seq 1 180); do
    got=$(sql "select count(*) || ' ' || count(distinct id) from orders" 2>/dev/null || true)
    [ "$got" = "$want $want" ] && return 0
    sleep 1
  done
  die "expected $want rows with $want distinct ids in public.orders, found (rows, distinct ids): ${got:-none}"
}
wait_rows "$RECORDS"
say "all $RECORDS sample records landed exactly once"

targets=""
for _ in $(seq 1 60); do
  targets=$(prom targets | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const t=JSON.parse(s).data.activeTargets.filter(t=>t.labels.job==='engine');console.log(t.length+' '+t.filter(t=>t.health==='up').length)})")
  [ "$targets" = "3 3" ] && break
  sleep 1
done
[ "$targets" = "3 3" ] || die "Prometheus lists (engine targets, up): $targets, expected 3 3"
say "Prometheus discovers 3 engine targets through Docker's DNS, all up"
rules=$(prom rules | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const g=JSON.parse(s).data.groups;console.log(g.flatMap(x=>x.rules).filter(r=>r.health==='ok').length+' '+g.flatMap(x=>x.rules).filter(r=>r.state==='firing').map(r=>r.name).join(','))})")
[ "${rules%% *}" = 6 ] || die "Prometheus loaded (healthy alert rules, firing): $rules, expected 6 healthy rules"
[ -z "${rules#* }" ] || die "alert rules fire on a healthy stack: ${rules#* }"
say "Prometheus evaluates the 6 alert rules of docker/prometheus/alerts.yml; none fires"

# Partitions per replica, as its metrics say ("?" where the scrape failed), e.g. "2 2 2".
owned() { local id n; for id in "$@"; do n=$(scrape "$id" 2>/dev/null | awk '$1 == "kpe_assigned_partitions" {print $2}'); echo -n "${n:-?} "; done; }
# Waits until every replica owns a partition and together they own all of them: a replica that joins or
# restarts sets off a rebalance, during which a replica may own none for a while.
wait_owned() {
  local seen=""
  for _ in $(seq 1 "$1"); do
    seen=$(owned "${@:2}")
    if ! grep -qE '(^|[ ])(\?|0) ' <<<"$seen" && [ "$(tr ' ' '\n' <<<"$seen" | awk '{s += $1} END {print s}')" = "$PARTITIONS" ]; then return 0; fi
    sleep 1
  done
  echo "$seen"
  return 1
}
ids=$(engines)
[ "$(echo "$ids" | wc -l)" = 3 ] || die "expected 3 engine containers, found: $ids"
seen=$(wait_owned 60 $ids) || die "60 s after the records landed, the replicas own (partitions each, ? = no answer): $seen; expected each > 0, $PARTITIONS in all"
say "each of the 3 replicas owns partitions ($(owned $ids| tr -s ' ' | sed 's/ $//'))"

for id in $ids; do
  users=$(docker top "$id" -o pid,uid,args | awk 'NR > 1 {print $2}' | sort -u | tr '\n' ' ')
  [ "$users" = "1000 " ] || die "processes of engine container $id run as uid(s) $users, expected only 1000 (node)"
done
say "the engine runs as uid 1000 (node), not root"

first=$(echo "$ids" | head -n 1)
scrape "$first" | node docker/check-dashboard.js docker/grafana/dashboards/kafka-pg-engine.json || die "the dashboard queries metrics the engine does not expose"

# --- SIGKILL one replica while records arrive: the others take its partitions, nothing lost or doubled ---
victim=$(echo "$ids" | tail -n 1)
say "producing $RECORDS more; replica $victim gets SIGKILL while they arrive"
compose run --rm -e SEED_FIRST_ID=$((RECORDS + 1)) -e SEED_RECORDS="$RECORDS" seed >"$STATE/seed2.log" 2>&1 &
seeding=$!
for _ in $(seq 1 60); do
  [ "$(sql "select count(*) from orders where id > $RECORDS" 2>/dev/null || echo 0)" -gt 0 ] && break
  sleep 0.5
done
docker kill -s KILL "$victim" >/dev/null
wait "$seeding" || { cat "$STATE/seed2.log" >&2; die "the second seeding failed"; }
wait_rows $((2 * RECORDS))
say "$((2 * RECORDS)) rows, each id once; waiting for the 2 survivors to take the killed replica's partitions"
survivors=$(engines)
seen=$(wait_owned 90 $survivors) || die "90 s after the kill the survivors own (partitions each, ? = no answer): $seen; expected $PARTITIONS in all"
extra=$((RECORDS / 10))
compose run --rm -e SEED_FIRST_ID=$((2 * RECORDS + 1)) -e SEED_RECORDS="$extra" seed >"$STATE/seed3.log" 2>&1 \
  || { cat "$STATE/seed3.log" >&2; die "the third seeding failed"; }
RECORDS_ALL=$((2 * RECORDS + extra))
wait_rows "$RECORDS_ALL"
say "the 2 survivors own all $PARTITIONS partitions; $extra more landed: $RECORDS_ALL rows, each id once"

# --- stop: every engine drains and exits 0 --------------------------------------------------------------
compose stop -t 60 engine >/dev/null 2>&1
for id in $survivors; do
  code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
  [ "$code" = 0 ] || die "engine container $id exited with $code after docker-compose stop, expected 0"
  # Into a variable first: grep -q stops reading at the match, and under pipefail the writer's SIGPIPE
  # would fail the check whenever the log goes on past that line.
  logs=$(docker logs "$id" 2>&1)
  grep -q '"msg":"done (signal)' <<<"$logs" || die "engine container $id did not log that it drained (done (signal))"
done
wait_rows "$RECORDS_ALL"
say "docker-compose stop: every engine drained and exited 0; still $RECORDS_ALL rows, each once"

fi

# --- The ha overlay: the primary dies, the replica is promoted, the engines carry on without a restart ---
compose down -v --remove-orphans >/dev/null 2>&1 || true
HA_RECORDS=$((RECORDS / 5))
counts_on() { ha exec -T "$1" psql -U engine -d orders -tAc "select count(*) || ' ' || count(distinct id) from orders" 2>/dev/null || true; }
# wait_counts SECONDS WANT COMMAND…: until COMMAND prints "WANT WANT" (rows, distinct ids); else prints
# what it last printed and fails.
wait_counts() {
  local secs=$1 want=$2 got=""
  shift 2
  for _ in $(seq 1 "$secs"); do
    got=$("$@")
    [ "$got" = "$want $want" ] && return 0
    sleep 1
  done
  echo "${got:-none}"
  return 1
}
# never_restarted PROJECT WHAT: every engine container of the project runs and never restarted.
never_restarted() {
  local id state
  for id in $(docker ps -aq --filter "label=com.docker.compose.project=$1" --filter "label=com.docker.compose.service=engine"); do
    state=$(docker inspect -f '{{.State.Status}} {{.RestartCount}}' "$id")
    [ "$state" = "running 0" ] && continue
    # The container's log holds every run's output: the one that ended says why.
    echo "--- engine container $id: $(docker inspect -f 'last exit {{.State.ExitCode}}, OOM-killed {{.State.OOMKilled}}' "$id"); its log:" >&2
    docker logs --tail=80 "$id" >&2 2>&1 || true
    die "$2: engine container $id is '$state' (status, restarts), expected 'running 0'"
  done
}
wait_on() {
  local got
  got=$(wait_counts "$3" "$2" counts_on "$1") && return 0
  ha logs --no-color --tail=30 engine postgres-replica >&2 2>/dev/null || true
  die "ha overlay: expected $2 rows with $2 distinct ids on $1, found (rows, distinct ids): $got"
}
if phase ha; then
say "ha overlay: a primary, a streaming replica, 2 engines listing both hosts; $HA_RECORDS records"
SEED_RECORDS=$HA_RECORDS SEED_FIRST_ID=1 ha up -d --no-build --scale engine=2 kafka postgres postgres-replica seed engine >"$STATE/ha-up.log" 2>&1 \
  || { cat "$STATE/ha-up.log" >&2; die "docker-compose up with compose.ha.yml failed"; }
wait_on postgres "$HA_RECORDS" 180
wait_on postgres-replica "$HA_RECORDS" 60
say "ha overlay: $HA_RECORDS rows on the primary and replayed on the replica; killing the primary, promoting the replica"
ha kill postgres >/dev/null 2>&1
ha exec -T postgres-replica pg_ctl promote -D /var/lib/postgresql/data >/dev/null || die "ha overlay: pg_ctl promote failed"
ha run --rm -e SEED_FIRST_ID=$((HA_RECORDS + 1)) -e SEED_RECORDS="$HA_RECORDS" seed >"$STATE/ha-seed2.log" 2>&1 \
  || { cat "$STATE/ha-seed2.log" >&2; die "ha overlay: the second seeding failed"; }
wait_on postgres-replica $((2 * HA_RECORDS)) 180
never_restarted "$PROJECT-ha" "ha overlay"
say "ha overlay: the engines moved to the promoted replica without a restart: $((2 * HA_RECORDS)) rows, each once"
ha down -v --remove-orphans >/dev/null 2>&1 || true
fi

# --- The dr profile: MM2 mirrors kafka into kafka-dr; the primary dies; engine failover --to dr ----------
DR_RECORDS=$((RECORDS / 5))
dr_counts() { drc exec -T postgres psql -U engine -d orders -tAc "select count(*) || ' ' || count(distinct id) from orders" 2>/dev/null || true; }
dr_wait() {
  local got
  got=$(wait_counts "$2" "$1" dr_counts) && return 0
  drc logs --no-color --tail=30 engine mm2 >&2 2>/dev/null || true
  die "dr profile: expected $1 rows with $1 distinct ids, found (rows, distinct ids): $got"
}
if phase dr; then
say "dr profile: kafka, kafka-dr, MirrorMaker 2, 2 engines with kafka.dr (engine-dr.yaml); $DR_RECORDS records"
SEED_RECORDS=$DR_RECORDS SEED_FIRST_ID=1 drc up -d --no-build --scale engine=2 kafka kafka-dr mm2 postgres seed engine >"$STATE/dr-up.log" 2>&1 \
  || { cat "$STATE/dr-up.log" >&2; die "docker-compose --profile dr up failed"; }
dr_wait "$DR_RECORDS" 180
# MM2 mirrored every record once its copies sum to them; it checkpointed the group once it synced the
# group's offsets to kafka-dr (it does so after each checkpoint) for every partition that holds records
# (the console producer leaves some partitions empty: no commit, no checkpoint there).
mirror_state() {
  local filled synced
  filled=$(drc exec -T kafka-dr kafka-run-class.sh org.apache.kafka.tools.GetOffsetShell --bootstrap-server kafka-dr:9092 --topic primary.orders 2>/dev/null \
    | awk -F: '$3 > 0 {n++; s += $3} END {print n + 0, s + 0}')
  synced=$(drc exec -T kafka-dr kafka-consumer-groups.sh --bootstrap-server kafka-dr:9092 --describe --group orders-sink 2>/dev/null \
    | awk '$2 == "primary.orders" && $4 ~ /^[0-9]+$/ {n++} END {print n + 0}')
  echo "${filled% *} $synced ${filled#* }"
}
state=""
for _ in $(seq 1 60); do
  state=$(mirror_state)
  read -r filled synced copies <<<"$state"
  [ "$copies" = "$DR_RECORDS" ] && [ "$filled" -gt 0 ] && [ "$synced" = "$filled" ] && break
  sleep 2
done
read -r filled synced copies <<<"$state"
[ "$copies" = "$DR_RECORDS" ] && [ "$filled" -gt 0 ] && [ "$synced" = "$filled" ] \
  || die "dr profile: MM2 did not mirror and checkpoint everything (partitions with records, partitions checkpointed, records mirrored: $state; expected … … $DR_RECORDS)"
say "dr profile: MM2 mirrored $copies records into primary.orders on kafka-dr and checkpointed the group on its $filled partitions that hold records; killing kafka and MM2"
drc kill kafka mm2 >/dev/null 2>&1
drc run --rm --no-deps engine failover /etc/kafka-pg-engine/config.yaml --to dr >"$STATE/dr-failover.log" 2>&1 \
  || { cat "$STATE/dr-failover.log" >&2; die "dr profile: engine failover --to dr failed"; }
grep -q 'group orders-sink: primary → dr' "$STATE/dr-failover.log" || { cat "$STATE/dr-failover.log" >&2; die "dr profile: the failover did not report the move"; }
drc run --rm --no-deps -e KAFKA_BOOTSTRAP=kafka-dr:9092 -e SEED_FIRST_ID=$((DR_RECORDS + 1)) -e SEED_RECORDS="$DR_RECORDS" seed >"$STATE/dr-seed2.log" 2>&1 \
  || { cat "$STATE/dr-seed2.log" >&2; die "dr profile: seeding kafka-dr failed"; }
dr_wait $((2 * DR_RECORDS)) 180
never_restarted "$PROJECT-dr" "dr profile"
say "dr profile: after engine failover the engines read kafka-dr without a container restart: $((2 * DR_RECORDS)) rows, each once"
drc down -v --remove-orphans >/dev/null 2>&1 || true
fi
say "passed"
