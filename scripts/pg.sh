#!/usr/bin/env bash
# Makes sure the local PostgreSQL server answers and the test database exists.
#   scripts/pg.sh start | tls
# tls: also switches the local server to TLS for the security test (idempotent): a CA and a server
# certificate for DNS:localhost only (so a client that checks the host name refuses 127.0.0.1), made with
# openssl into PG_TLS_DIR; ssl = on; a role kpe_tls with a generated password that pg_hba.conf lets in
# over TLS only (hostnossl … reject), owning a schema kpe_tls. Prints where those are. Other roles keep
# connecting as before, with or without TLS.
# Connection: DATABASE_URL, or PGHOST/PGPORT/PGUSER/PGDATABASE (defaults 127.0.0.1, 5432, root, test).
set -euo pipefail

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-root}
DB=${PGDATABASE:-test}
TIMEOUT=${PG_START_TIMEOUT:-60}

say() { echo "pg: $*"; }
die() { echo "pg: ERROR: $*" >&2; exit 1; }

ready() {
  if [ -n "${DATABASE_URL:-}" ]; then pg_isready -q -d "$DATABASE_URL" -t 2; else pg_isready -q -t 2; fi
}

start_local() {
  command -v pg_ctlcluster >/dev/null || die "PostgreSQL does not answer on $PGHOST:$PGPORT and pg_ctlcluster is not installed to start it"
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || die "no cluster under /etc/postgresql to start"
  say "starting local cluster $version/main (log: /var/log/postgresql/postgresql-$version-main.log)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start \
    || die "pg_ctlcluster could not start $version/main; see /var/log/postgresql/postgresql-$version-main.log"
}

command -v pg_isready >/dev/null || die "the PostgreSQL client tools (pg_isready, psql) are not installed"
if ! ready; then
  start_local
  deadline=$((SECONDS + TIMEOUT))
  until ready; do
    [ $SECONDS -lt $deadline ] || die "PostgreSQL did not answer on $PGHOST:$PGPORT within ${TIMEOUT}s"
    sleep 1
  done
fi

MODE=${1:-start}
if [ -z "${DATABASE_URL:-}" ]; then
  if [ "$(psql -d postgres -tAc "select 1 from pg_database where datname = '$DB'")" != 1 ]; then
    say "creating database $DB"
    createdb "$DB" || die "could not create database $DB as $PGUSER"
  fi
  say "ready: postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
else
  say "ready: $DATABASE_URL"
fi

enable_tls() {
  local dir=${PG_TLS_DIR:-${TMPDIR:-/tmp}/kafka-pg-engine/pg-tls} role=kpe_tls hba
  [ -n "${DATABASE_URL:-}" ] && die "tls works on the local cluster only (DATABASE_URL is set)"
  bash "$(dirname "${BASH_SOURCE[0]}")/tls.sh" "$dir" "DNS:localhost" || die "making the certificates failed"
  [ -f "$dir/role.pass" ] || (umask 077 && openssl rand -hex 16 >"$dir/role.pass")
  # The server reads its key as the postgres user, and refuses a key others can read.
  install -o postgres -g postgres -m 600 "$dir/server.key" "$dir/pg-server.key"
  install -o postgres -g postgres -m 644 "$dir/server.crt" "$dir/pg-server.crt"
  chmod 711 "$dir"
  hba=$(psql -d postgres -tAc 'show hba_file')
  if ! grep -q '^# kafka-pg-engine tls' "$hba"; then
    { printf '# kafka-pg-engine tls (scripts/pg.sh tls)\nhostnossl all %s all reject\nhostssl all %s 127.0.0.1/32 scram-sha-256\nhostssl all %s ::1/128 scram-sha-256\n' "$role" "$role" "$role"; cat "$hba"; } >"$hba.new"
    chown --reference="$hba" "$hba.new"; chmod --reference="$hba" "$hba.new"; mv "$hba.new" "$hba"
  fi
  psql -d postgres -q -v ON_ERROR_STOP=1 -v pass="$(cat "$dir/role.pass")" -v crt="$dir/pg-server.crt" -v key="$dir/pg-server.key" <<'SQL' >/dev/null
SELECT format('CREATE ROLE kpe_tls LOGIN') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpe_tls') \gexec
ALTER ROLE kpe_tls LOGIN PASSWORD :'pass';
ALTER SYSTEM SET ssl_cert_file = :'crt';
ALTER SYSTEM SET ssl_key_file = :'key';
ALTER SYSTEM SET ssl = on;
SELECT pg_reload_conf();
SQL
  psql -d "$DB" -q -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' -c 'CREATE SCHEMA IF NOT EXISTS kpe_tls AUTHORIZATION kpe_tls' -c "GRANT CREATE ON DATABASE \"$DB\" TO kpe_tls" >/dev/null
  # The reload is asynchronous: wait until the server answers with TLS.
  local deadline=$((SECONDS + 20))
  until PGPASSWORD=$(cat "$dir/role.pass") psql "host=localhost port=$PGPORT dbname=$DB user=$role sslmode=verify-full sslrootcert=$dir/ca.crt" -tAc 'select 1' >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "the server did not accept TLS connections as $role within 20 s (see its log)"
    sleep 0.5
  done
  say "TLS on: role $role over hostssl only"
  echo "PG_TLS_HOST=localhost"
  echo "PG_TLS_PORT=$PGPORT"
  echo "PG_TLS_DATABASE=$DB"
  echo "PG_TLS_USER=$role"
  echo "PG_TLS_PASSWORD_FILE=$dir/role.pass"
  echo "PG_TLS_CA=$dir/ca.crt"
}

case "$MODE" in
  start) ;;
  tls) enable_tls ;;
  *) die "usage: $0 start|tls" ;;
esac
