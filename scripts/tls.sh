#!/usr/bin/env bash
# Makes test TLS material in DIR, once: a CA (ca.crt, ca.key) and a server key and certificate signed by
# it (server.key, server.crt) for the subjectAltName given, e.g. "IP:127.0.0.1,DNS:localhost". Nothing of
# this is committed: the broker and PostgreSQL scripts call it at start, into their state dirs.
#   scripts/tls.sh DIR SUBJECT_ALT_NAME
set -euo pipefail
DIR=$1
SAN=$2
[ -f "$DIR/.complete" ] && exit 0
command -v openssl >/dev/null || { echo "tls: ERROR: openssl is not installed" >&2; exit 1; }
rm -rf "$DIR"
mkdir -p "$DIR"
chmod 700 "$DIR"
cd "$DIR"
{
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=kafka-pg-engine test CA" -keyout ca.key -out ca.crt
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kafka-pg-engine test server" -keyout server.key -out server.csr
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$SAN" >server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile server.ext -out server.crt
} >tls.log 2>&1 || { cat tls.log >&2; echo "tls: ERROR: openssl failed in $DIR" >&2; exit 1; }
chmod 600 ca.key server.key
touch .complete
