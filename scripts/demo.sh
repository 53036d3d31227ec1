#!/usr/bin/env bash
# The demo: sets up what is missing, starts the local Kafka broker and PostgreSQL, produces sample orders,
# runs the engine on them and prints what landed and how fast.   scripts/demo.sh [--records N]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ "${SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh
bash scripts/kafka.sh start
bash scripts/pg.sh start
node dist/bench/demo.js "$@"
