#!/usr/bin/env bash
# The demo: sets up what is missing, starts the local Kafka broker and PostgreSQL, produces sample orders,
# runs the engine on them and prints what landed and how fast.   scripts/demo.sh [--records N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/up.sh
node dist/bench/demo.js "$@"
