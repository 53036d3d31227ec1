# Run once by the postgres image when the primary's volume is initialised (compose.ha.yml): replication
# connections with the password, and the replica's slot, so the primary keeps the WAL the replica still needs.
echo "host replication all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -c "SELECT pg_create_physical_replication_slot('replica')" >/dev/null
