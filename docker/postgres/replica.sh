#!/bin/bash
# The replica of compose.ha.yml: on first start, a base backup of the primary through the slot `replica`
# (-R writes standby.signal and primary_conninfo), then the server, as a hot standby. Promote it with
# `pg_ctl promote -D "$PGDATA"`.
set -euo pipefail
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h postgres -U engine -d orders; do sleep 1; done
  pg_basebackup -h postgres -U engine -D "$PGDATA" -R -X stream -S replica -c fast
fi
chmod 700 "$PGDATA"
exec postgres -c listen_addresses='*'
