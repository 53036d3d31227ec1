#!/usr/bin/env bash
# The test command: sets up what is missing, starts the local Kafka broker and PostgreSQL, runs every test:
# all of them on the default (native) Kafka source, then the engine's integration tests again on
# node-rdkafka (ENGINE_SOURCE=node-rdkafka), the fallback.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/up.sh
# Beside the integration tests (which mostly wait on the broker, PostgreSQL and engine processes): the unit
# tests, and the build of the sanitized addon that the last step runs.
mkdir -p .cache
npm run --silent test:unit >.cache/unit-tests.log 2>&1 &
unit_pid=$!
bash scripts/native-sanitize.sh --build-only >.cache/native-sanitize-build.log 2>&1 &
sanitize_build_pid=$!
# CI keeps only the tail of what a run prints: each failing pass ends with its list of failing tests (node's
# spec reporter writes it last), printed again after the unit log so that it is what the tail shows. A test
# file whose process fails outside any test (a crash, an exit code) is listed only as 'test failed': what
# that process wrote last (node prints a child's stderr as it comes) is printed above the list, and its exit
# code or signal (test/helpers/exit-reporter.ts).
failures_of() {
  local log=$1 file
  for file in $(sed -n '/^✖ failing tests:/,$p' "$log" | sed -n 's/^✖ \(\/[^ ]*\.test\.js\) .*/\1/p' | sort -u); do
    echo "--- the last lines before $file failed:"
    grep -n -m1 -F "✖ $file" "$log" | cut -d: -f1 | { read -r at && sed -n "$((at > 60 ? at - 60 : 1)),${at}p" "$log"; } || true
  done
  grep -F 'ended outside its tests' "$log" || true
  sed -n '/^✖ failing tests:/,$p' "$log"
}
integration_rc=0
npm run --silent test:integration 2>&1 | tee .cache/integration-tests.log || integration_rc=$?
unit_rc=0
wait "$unit_pid" || unit_rc=$?
echo "=== unit tests (ran beside the integration tests)"
if [ "$unit_rc" = 0 ]; then tail -n 9 .cache/unit-tests.log; else cat .cache/unit-tests.log; fi
if [ "$unit_rc" != 0 ] || [ "$integration_rc" != 0 ]; then
  [ "$integration_rc" = 0 ] || { echo "=== integration tests that failed"; failures_of .cache/integration-tests.log; }
  echo "tests failed (unit: exit $unit_rc, integration: exit $integration_rc)"
  exit 1
fi
npm run --silent test:node-rdkafka 2>&1 | tee .cache/node-rdkafka-tests.log || {
  echo "=== integration tests on node-rdkafka that failed"; failures_of .cache/node-rdkafka-tests.log; exit 1; }
# The native addon again, built with AddressSanitizer + UBSan, under its own tests and the header fuzz test.
wait "$sanitize_build_pid" || { cat .cache/native-sanitize-build.log; exit 1; }
bash scripts/native-sanitize.sh
