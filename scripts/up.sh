#!/usr/bin/env bash
# Everything the demo and the tests need: set-up (unless SKIP_SETUP=1), the local Kafka broker, PostgreSQL.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ "${SKIP_SETUP:-}" = 1 ] || bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/kafka.sh" start
bash "$ROOT/scripts/pg.sh" start
