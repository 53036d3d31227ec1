#!/bin/sh
# The compose stack's one-shot seeder (runs in the Kafka image): waits for the broker, creates the topic
# with enough partitions for the replicas, then produces SEED_RECORDS sample orders with ids from
# SEED_FIRST_ID. Run it again for more: docker compose run --rm -e SEED_FIRST_ID=100001 seed
set -eu
bootstrap=${KAFKA_BOOTSTRAP:-kafka:9092}
topic=${ORDERS_TOPIC:-orders}
tries=0
until kafka-topics.sh --bootstrap-server "$bootstrap" --list >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "seed: Kafka at $bootstrap did not answer within 120 s" >&2; exit 1; }
  sleep 2
done
kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$topic" \
  --partitions "${ORDERS_PARTITIONS:-6}" --replication-factor 1
first=${SEED_FIRST_ID:-1}
count=${SEED_RECORDS:-100000}
awk -v first="$first" -v count="$count" 'BEGIN {
  split("DE FR NL PL SE US", countries, " ")
  for (i = first; i < first + count; i++)
    printf "{\"id\":%d,\"user_id\":%d,\"country\":\"%s\",\"sku\":\"SKU-%d\",\"amount\":%.2f,\"created_at\":\"2026-11-%02dT%02d:%02d:00Z\"}\n",
      i, i % 5000, countries[i % 6 + 1], i % 997, (i % 10000) / 100, i % 28 + 1, i % 24, i % 60
}' | kafka-console-producer.sh --bootstrap-server "$bootstrap" --topic "$topic" \
  --producer-property linger.ms=20 --producer-property batch.size=262144 --producer-property acks=all
echo "seed: produced $count orders (ids $first..$((first + count - 1))) to $topic"
