#!/usr/bin/env bash
# The native addon under AddressSanitizer and UBSan: builds native/ apart from the normal build (into
# .cache/native-sanitize, git-ignored) and runs the tests that drive it (the ring frames, the consumer
# against the local broker, the dead-letter producer through the engine and its header fuzz test) with that build loaded.
# Node itself is not instrumented, so the ASan runtime is preloaded; leaks are not checked (V8 and
# librdkafka keep memory until exit by design). Any report fails the run. Run by scripts/test.sh.
#   scripts/native-sanitize.sh [test files…]     (needs dist/ built and, for the integration tests, the broker)
#   scripts/native-sanitize.sh --build-only       (only the build: scripts/test.sh compiles it while the suite runs)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=$ROOT/.cache/native-sanitize
say() { echo "native-sanitize: $*"; }

gyp=""
for c in "${npm_config_node_gyp:-}" "$(dirname "$(command -v node)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
  /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js /usr/share/nodejs/node-gyp/bin/node-gyp.js; do
  [ -n "$c" ] && [ -f "$c" ] && { gyp=$c; break; }
done
[ -n "$gyp" ] || { echo "native-sanitize: ERROR: node-gyp not found" >&2; exit 1; }
if [ -z "${npm_config_nodedir:-}" ] && [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi

addon=$OUT/build/Release/kpe_native.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp -newer "$addon" 2>/dev/null)" ]; then
  say "building native/ with -fsanitize=address,undefined (log: $OUT/build.log)"
  rm -rf "$OUT" && mkdir -p "$OUT" && cp -r native/binding.gyp native/src "$OUT/"
  (cd "$OUT" && node "$gyp" rebuild -- -Dsanitize=1 >build.log 2>&1) || { tail -n 30 "$OUT/build.log" >&2; exit 1; }
fi
# Into a variable first: grep -q stops reading at the first match, and under pipefail nm's SIGPIPE would
# fail the check.
symbols=$(nm -D "$addon")
grep -q __asan <<<"$symbols" || { echo "native-sanitize: ERROR: $addon is not instrumented" >&2; exit 1; }
[ "${1:-}" = "--build-only" ] && exit 0

# ASan's runtime must come first in the process; halt on the first report of either sanitizer.
sanitized() {
  say "running $* with the sanitized addon"
  LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    KPE_NATIVE_ADDON=$addon KPE_NATIVE_REQUIRED=1 KPE_SANITIZED=1 ENGINE_SOURCE=native \
    node --test --test-concurrency=1 --test-reporter=spec "$@"
}
if [ $# -gt 0 ]; then sanitized "$@"; exit; fi
sanitized dist/test/unit/deadletter/native-producer-fuzz.test.js dist/test/unit/source/native-binding.test.js dist/test/integration/native-source.test.js
# The dead-letter tests that drive the producer and headers through the engine; the 200,000-record
# poison test runs unsanitized in the suite (under ASan it takes over two minutes).
sanitized --test-name-pattern='refuses the record|too long to frame' dist/test/integration/dead-letter.test.js
