#!/usr/bin/env bash
# Builds stand-ins for the public images that docker/Dockerfile and docker/compose.yml use, under the same
# names and tags, for machines that cannot pull them (no registry). An image already present locally (pulled
# or built before) is left alone, so on one machine this runs once. Grafana has no stand-in: it is checked
# offline (test/integration/dashboard.test.ts).
#   bash docker/standins/build.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${STANDIN_WORK_DIR:-${TMPDIR:-/tmp}/kafka-pg-engine/standins}
BASE=kpe-standin/bookworm:base

say() { echo "standins: $*"; }
die() { echo "standins: ERROR: $*" >&2; exit 1; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

images() {
  { sed -n 's/^FROM \([^ ]*\).*/\1/p' "$ROOT/docker/Dockerfile"
    sed -n 's/^ *image: *\([^ ]*\).*/\1/p' "$ROOT/docker/compose.yml"; } | sort -u
}

base() {
  have "$BASE" && return 0
  command -v mmdebstrap >/dev/null || { say "installing mmdebstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }
  say "building $BASE (Debian bookworm minbase root file system)"
  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm - | docker import - "$BASE" >/dev/null
}

# The legacy builder (dockerd 20.10 without buildx); its output goes to a log shown on failure.
dbuild() {
  DOCKER_BUILDKIT=0 docker build --label "kpe.standin=$(fingerprint "$(basename "$2")")" -t "$1" "$2" >"$WORK/build-${1//[\/:]/_}.log" 2>&1 \
    || { tail -n 30 "$WORK/build-${1//[\/:]/_}.log" >&2; die "building the stand-in $1 failed"; }
}

context() { rm -rf "$WORK/$1"; mkdir -p "$WORK/$1"; cp -a "$HERE/$1/." "$WORK/$1/"; echo "$WORK/$1"; }

build_node() {
  local ctx; ctx=$(context node)
  local node; node=$(command -v node)
  [ "$("$node" -p 'process.versions.node.split(".")[0]')" = 20 ] || die "this machine's node is not Node 20"
  local npm_dir; npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
  mkdir -p "$ctx/node/bin" "$ctx/node/include" "$ctx/node/lib/node_modules" "$ctx/ca"
  cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
  cp "$node" "$ctx/node/bin/node"
  cp -a "$(dirname "$node")/../include/node" "$ctx/node/include/"
  cp -a "$npm_dir" "$ctx/node/lib/node_modules/npm"
  dbuild "$1" "$ctx"
}

build_kafka() {
  local ctx; ctx=$(context kafka)
  local version=${1##*:}
  say "fetching Apache Kafka $version (broker and tools) from Maven Central"
  mvn -B -q -f "$ctx/pom.xml" -Dkafka.version="$version" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$ctx/libs" >"$WORK/kafka-fetch.log" 2>&1 \
    || { tail -n 20 "$WORK/kafka-fetch.log" >&2; die "Maven could not fetch Kafka $version"; }
  dbuild "$1" "$ctx"
}

build_plain() { local ctx; ctx=$(context "$2"); dbuild "$1" "$ctx"; }

# A stand-in is labelled with a hash of its directory: one built from an older directory is built again.
# An image that does not start from our base was pulled (the real one): it stays.
fingerprint() { tar -C "$HERE/$1" --sort=name --mtime=@0 --owner=0 --group=0 -cf - . | sha1sum | cut -c1-16; }
current() {
  local first; first=$(docker image inspect -f '{{index .RootFS.Layers 0}}' "$1")
  have "$BASE" && [ "$first" = "$(docker image inspect -f '{{index .RootFS.Layers 0}}' "$BASE")" ] || return 0
  [ "$(docker image inspect -f '{{index .Config.Labels "kpe.standin"}}' "$1")" = "$(fingerprint "$2")" ]
}

for image in $(images); do
  case "$image" in
    node:20-*) have "$image" && continue; kind=node ;;
    apache/kafka:*) kind=kafka ;;
    postgres:15-bookworm) kind=postgres ;;
    prom/prometheus:*) kind=prometheus ;;
    grafana/*|kafka-pg-engine*) continue ;;
    *) die "no stand-in for $image: pull it, or add one under docker/standins" ;;
  esac
  if have "$image"; then
    [ "$kind" = node ] && continue
    current "$image" "$kind" && continue
    say "the stand-in for $image is older than docker/standins/$kind: building it again"
  fi
  base
  say "building a stand-in for $image"
  case "$kind" in
    node) build_node "$image" ;;
    kafka) build_kafka "$image" ;;
    *) build_plain "$image" "$kind" ;;
  esac
done
say "ready: $(images | tr '\n' ' ')"
