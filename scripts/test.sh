#!/usr/bin/env bash
# The test command: sets up what is missing, starts the local Kafka broker and PostgreSQL, runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/up.sh
npm test
