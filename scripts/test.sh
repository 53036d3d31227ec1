#!/usr/bin/env bash
# The test command: sets up what is missing, starts the local Kafka broker and PostgreSQL, runs every test.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ "${SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh
bash scripts/kafka.sh start
bash scripts/pg.sh start
npm test
