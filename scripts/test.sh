#!/usr/bin/env bash
# The test command: sets up what is missing, starts the local Kafka broker and PostgreSQL, runs every test:
# all of them on the default (native) Kafka source, then the engine's integration tests again on
# node-rdkafka (ENGINE_SOURCE=node-rdkafka), the fallback.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/up.sh
npm test
npm run test:node-rdkafka
# The native addon again, built with AddressSanitizer + UBSan, under its own tests and the header fuzz test.
bash scripts/native-sanitize.sh
