#!/usr/bin/env bash
# Installs what the project needs on this machine and builds it. Idempotent: a second run only rebuilds.
#   scripts/setup.sh [--ci]     --ci always reinstalls node_modules with `npm ci`
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

say() { echo "setup: $*"; }

# Debian packages: zstd for node-rdkafka's librdkafka build, a JRE and Maven for the local Kafka broker,
# the PostgreSQL client tools for scripts/pg.sh.
missing=()
dpkg -s libzstd-dev >/dev/null 2>&1 || missing+=(libzstd-dev)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v pg_isready >/dev/null || missing+=(postgresql-client)
command -v g++ >/dev/null || missing+=(g++ make python3)
# openssl makes the test certificates (scripts/tls.sh) for the secured broker listener and PostgreSQL TLS.
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { echo "setup: ERROR: missing ${missing[*]} and no apt-get to install them" >&2; exit 1; }
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# node-gyp must use the local Node headers: it cannot download them here.
if [ -z "${npm_config_nodedir:-}" ] && [ -d /usr/include/node ]; then
  export npm_config_nodedir=/usr
fi

# The broker's and MirrorMaker 2's jars come from Maven Central while npm compiles: one Maven after the
# other (they share ~/.m2), in the background, waited for at the end.
jars_log=$ROOT/.cache/jars.log
mkdir -p "$ROOT/.cache"
(bash scripts/kafka.sh fetch && bash scripts/dr.sh fetch) >"$jars_log" 2>&1 &
jars_pid=$!

# CI must get the native consumer; elsewhere a failed native build leaves the node-rdkafka fallback.
[ "${1:-}" = "--ci" ] && export KPE_NATIVE_REQUIRED=1

if [ "${1:-}" = "--ci" ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (node-rdkafka compiles librdkafka: about two minutes)"
  npm ci --no-audit --no-fund
fi
[ -f node_modules/node-rdkafka/build/Release/node-librdkafka.node ] || { echo "setup: ERROR: node-rdkafka did not build; see the npm output above" >&2; exit 1; }

# npm ci builds the native consumer (the package's install script); rebuild it when its sources changed.
addon=native/build/Release/kpe_native.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp -newer "$addon" 2>/dev/null)" ]; then
  say "building the native consumer (native/)"
  npm run --silent build:native
fi
if [ "${KPE_NATIVE_REQUIRED:-}" = 1 ] && [ ! -f "$addon" ]; then
  echo "setup: ERROR: the native consumer did not build; see native/build.log" >&2
  exit 1
fi

say "building"
npm run --silent build

wait "$jars_pid" || { cat "$jars_log" >&2; echo "setup: ERROR: fetching the Kafka / MirrorMaker 2 jars failed" >&2; exit 1; }
say "Kafka and MirrorMaker 2 jars ready"
