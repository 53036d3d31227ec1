#!/usr/bin/env bash
# A PostgreSQL primary and a streaming replica on this machine, without containers, for [PG-HA]:
# two clusters on their own ports (PG_PAIR_PORTS, default "25432 25433": below Linux's ephemeral range,
# 32768-60999, where an outgoing connection's source port could take a server's port before it binds), a replication user, a physical
# replication slot per node, the replica made with `pg_basebackup -R -X stream -S`. The default cluster on
# 5432 is left alone. Servers run as the `postgres` user (initdb refuses root); state in PG_PAIR_DIR.
#
#   scripts/pg-pair.sh create      make both nodes (node a primary, node b its replica) and start them
#   scripts/pg-pair.sh start|stop  start or stop both (stop: fast shutdown)
#   scripts/pg-pair.sh status      role of each node and pg_stat_replication of the primary
#   scripts/pg-pair.sh fail NODE   stop NODE with -m immediate (a crash: nothing flushed on the way out)
#   scripts/pg-pair.sh promote NODE
#   scripts/pg-pair.sh rejoin NODE [PRIMARY]   make NODE a replica of PRIMARY (the other node): pg_rewind
#                                  if it can, else a fresh basebackup; then start it
#   scripts/pg-pair.sh hold-wal    freeze the primary's walsender (SIGSTOP): commits go on, the replica
#                                  stops receiving them (asynchronous replication's lost tail, for tests)
#   scripts/pg-pair.sh crash NODE  SIGKILL NODE's postmaster and every backend (the walsender included)
#   scripts/pg-pair.sh freeze NODE SIGSTOP NODE's postmaster and every backend: a host that vanished
#                                  without closing its connections (powered off, cut off); crash ends it
#   scripts/pg-pair.sh destroy     stop both and delete their data
#   scripts/pg-pair.sh url         the multi-host URL of the pair
# Database `test`, role `root` (superuser, trust on 127.0.0.1), replication role `replicator`.
set -euo pipefail

DIR=${PG_PAIR_DIR:-${TMPDIR:-/tmp}/kafka-pg-engine/pg-pair}
read -r PORT_A PORT_B <<<"${PG_PAIR_PORTS:-25432 25433}"
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$BIN/pg_ctl" ] || { echo "pg-pair: ERROR: no PostgreSQL server binaries (looked in ${BIN:-/usr/lib/postgresql/*/bin})" >&2; exit 1; }

say() { echo "pg-pair: $*"; }
die() { echo "pg-pair: ERROR: $*" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port_of() { case $1 in a) echo "$PORT_A" ;; b) echo "$PORT_B" ;; *) die "node is a or b, not '$1'" ;; esac; }
other() { [ "$1" = a ] && echo b || echo a; }
data() { echo "$DIR/$1"; }
psql_on() { local port; port=$(port_of "$1"); shift; psql -h 127.0.0.1 -p "$port" -U root -d "${PG_PAIR_DB:-test}" -v ON_ERROR_STOP=1 -qtA "$@"; }
running() { [ -f "$(data "$1")/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$(data "$1")" status >/dev/null 2>&1; }

# A rewound replica accepts connections once it has replayed up to consistency: minutes after a big run.
start_node() {
  local node=$1 port
  running "$node" && return 0
  port=$(port_of "$node")
  # A process left from a killed server may still hold the port for a moment.
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break; sleep 0.1; done
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port of node $node is taken: $(ss -ltnp "sport = :$port" 2>/dev/null | tail -n +2 | tr -s ' ')"
  fi
  as_pg "$BIN/pg_ctl" -D "$(data "$node")" -l "$DIR/$node.log" -w -t 600 start >/dev/null \
    || die "node $node did not start: $(grep -E 'FATAL|PANIC|could not' "$DIR/$node.log" | tail -n 3 | tr '\n' ' ')(log $DIR/$node.log)"
}

wait_ready() {
  local port deadline=$((SECONDS + 600))
  port=$(port_of "$1")
  until pg_isready -q -h 127.0.0.1 -p "$port" -t 2; do
    [ $SECONDS -lt $deadline ] || die "node $1 does not answer on $port"
    sleep 0.2
  done
}

configure() {
  local node=$1 port
  port=$(port_of "$node")
  cat >>"$(data "$node")/postgresql.conf" <<EOF
# pg-pair.sh
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
wal_keep_size = 512MB
hot_standby = on
wal_log_hints = on
shared_buffers = 32MB
max_connections = 40
fsync = on
EOF
  cat >"$(data "$node")/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
local replication all trust
EOF
}

create() {
  [ -d "$(data a)" ] && die "$DIR already holds a pair (scripts/pg-pair.sh destroy first)"
  mkdir -p "$DIR"
  chown postgres:postgres "$DIR" 2>/dev/null || true
  chmod 755 "$DIR"
  say "initdb node a (port $PORT_A)"
  as_pg "$BIN/initdb" -D "$(data a)" -U postgres --auth=trust -E UTF8 >/dev/null
  configure a
  start_node a
  wait_ready a
  as_pg psql -h "$DIR" -p "$PORT_A" -U postgres -d postgres -q -c "create role root superuser login" -c "create role replicator replication login" -c "create database test owner root" >/dev/null
  psql_on a -c "select pg_create_physical_replication_slot('node_b'); select pg_create_physical_replication_slot('node_a');" >/dev/null
  basebackup b a
  start_node b
  wait_ready b
  say "ready: $(url)"
}

# basebackup NODE FROM: NODE's data dir becomes a replica of FROM, streaming through the slot node_NODE.
basebackup() {
  local node=$1 from=$2
  rm -rf "$(data "$node")"
  as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$(port_of "$from")" -U replicator -D "$(data "$node")" -R -X stream -S "node_$node" -c fast >/dev/null \
    || die "pg_basebackup of node $node from node $from failed"
  # The copy carries FROM's settings: its own port, and a slot on the new primary for its peer later.
  configure "$node"
}

role() { psql_on "$1" -c "select case when pg_is_in_recovery() then 'replica' else 'primary' end" 2>/dev/null || echo down; }

status() {
  for node in a b; do say "node $node (port $(port_of "$node")): $(role "$node")"; done
  for node in a b; do
    if [ "$(role "$node")" = primary ]; then
      say "pg_stat_replication on node $node:"
      psql_on "$node" -P footer=off -c "select application_name, state, sent_lsn, replay_lsn, pg_wal_lsn_diff(sent_lsn, replay_lsn) as replay_lag_bytes, sync_state from pg_stat_replication" || true
    fi
  done
}

rejoin() {
  local node=$1 primary=${2:-$(other "$1")}
  running "$node" && as_pg "$BIN/pg_ctl" -D "$(data "$node")" -m fast -w stop >/dev/null
  psql_on "$primary" -c "select pg_create_physical_replication_slot('node_$node', true) where not exists (select 1 from pg_replication_slots where slot_name = 'node_$node')" >/dev/null
  # A promoted server names its new timeline in its control file only after a checkpoint: without one,
  # pg_rewind sees the same timeline on both sides and rewinds nothing ("no rewind required").
  psql_on "$primary" -c "CHECKPOINT" >/dev/null
  # pg_rewind runs a crashed target's recovery itself first.
  if as_pg "$BIN/pg_rewind" -D "$(data "$node")" --source-server="host=127.0.0.1 port=$(port_of "$primary") user=root dbname=postgres" -R >/dev/null 2>"$DIR/rewind.log"; then
    say "node $node rewound to node $primary's timeline"
    sed -i "/^primary_slot_name/d" "$(data "$node")/postgresql.auto.conf"
    echo "primary_slot_name = 'node_$node'" >>"$(data "$node")/postgresql.auto.conf"
    sed -i "s/^port = .*/port = $(port_of "$node")/" "$(data "$node")/postgresql.conf"
  else
    say "pg_rewind failed ($(tail -n 1 "$DIR/rewind.log")); taking a fresh basebackup"
    basebackup "$node" "$primary"
  fi
  start_node "$node"
  wait_ready "$node"
  say "node $node: $(role "$node") of node $primary"
}

# The walsender's pid (as root: kill works on the postgres user's processes).
hold_wal() {
  local primary pids
  for primary in a b; do [ "$(role "$primary")" = primary ] && break; done
  pids=$(psql_on "$primary" -c "select pid from pg_stat_replication")
  [ -n "$pids" ] || die "node $primary has no walsender"
  kill -STOP $pids
  say "walsender(s) $pids of node $primary frozen"
}

crash() {
  local node=$1 pid
  pid=$(head -n 1 "$(data "$node")/postmaster.pid" 2>/dev/null) || die "node $node is not running"
  # Stopped first: a postmaster that sees its children die forks new ones (crash recovery), which would
  # outlive it, keep its shared memory attached and stop the next server on this data dir from starting.
  kill -STOP "$pid" 2>/dev/null || true
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$(data "$node")/postmaster.pid"
  say "node $node killed"
}

freeze() {
  local node=$1 pid
  pid=$(head -n 1 "$(data "$node")/postmaster.pid" 2>/dev/null) || die "node $node is not running"
  kill -STOP "$pid"
  pkill -STOP -P "$pid" 2>/dev/null || true
  say "node $node frozen"
}

url() { echo "postgres://root@127.0.0.1:$PORT_A,127.0.0.1:$PORT_B/${PG_PAIR_DB:-test}?target_session_attrs=read-write"; }

case ${1:-} in
  create) create ;;
  start) for n in a b; do start_node "$n"; done; for n in a b; do wait_ready "$n"; done; status ;;
  stop) for n in a b; do running "$n" && as_pg "$BIN/pg_ctl" -D "$(data "$n")" -m fast -w stop >/dev/null || true; done ;;
  status) status ;;
  fail) as_pg "$BIN/pg_ctl" -D "$(data "${2:?node}")" -m immediate -w stop >/dev/null; say "node $2 stopped (immediate)" ;;
  promote)
    as_pg "$BIN/pg_ctl" -D "$(data "${2:?node}")" -w promote >/dev/null
    # The slot for the old primary's return, reserving WAL from now: pg_rewind's target replays from the
    # start of the new timeline, which would be recycled by the time it rejoins after a long run.
    psql_on "$2" -c "select pg_create_physical_replication_slot('node_$(other "$2")', true) where not exists (select 1 from pg_replication_slots where slot_name = 'node_$(other "$2")')" >/dev/null
    say "node $2 promoted" ;;
  rejoin) rejoin "${2:?node}" "${3:-}" ;;
  hold-wal) hold_wal ;;
  crash) crash "${2:?node}" ;;
  freeze) freeze "${2:?node}" ;;
  destroy)
    # SIGKILL, not pg_ctl: a frozen node (freeze, hold-wal) would not answer a shutdown request.
    for n in a b; do [ -f "$(data "$n")/postmaster.pid" ] && crash "$n" >/dev/null; done
    rm -rf "$DIR" ;;
  url) url ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
