#!/usr/bin/env bash
# Makes sure the local PostgreSQL server answers and the test database exists.
#   scripts/pg.sh start
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

if [ -z "${DATABASE_URL:-}" ]; then
  if ! psql -d postgres -tAc "select 1 from pg_database where datname = '$DB'" | grep -q 1; then
    say "creating database $DB"
    createdb "$DB" || die "could not create database $DB as $PGUSER"
  fi
  say "ready: postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
else
  say "ready: $DATABASE_URL"
fi
