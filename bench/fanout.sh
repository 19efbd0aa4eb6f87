#!/usr/bin/env bash
# S1 fan-out: N idle sockets on one tier3 process (release build), then status changes.
# Usage: [TIER3_BIN=path] [PER_SOCKET=K] [SOURCES=M] \
#   bench/fanout.sh [sockets=10000] [changes=20] [role=agent|customer] [sqlite|postgres]
# PER_SOCKET (1-6, default 1): subscriptions on each socket, each a different document.
# SOURCES (default 1): loopback source addresses the sockets are spread over.
# Prints per-change delivery delays and SUMMARY lines (recorded in BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
CHANGES=${2:-20}
ROLE=${3:-agent}
DB=${4:-sqlite}
PORT=${PORT:-18080}
export JWT_SECRET=${JWT_SECRET:-fanout-bench-secret-0123456789}
# Every socket comes from loopback: lift the per-address socket limit and the rate limit,
# which production keeps (and the per-user one, for runs with one agent per socket).
export TIER3_MAX_SOCKETS_PER_USER=0 TIER3_MAX_SOCKETS_PER_ADDRESS=0 TIER3_RATE_LIMIT=0

ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet --bin tier3 --example fanout
# TIER3_BIN runs another build of the server (e.g. an earlier commit) against the same driver.
bin=${TIER3_BIN:-./target/release/tier3}

work=$(mktemp -d)
case "$DB" in
  sqlite) export DATABASE_URL="sqlite://$work/tier3.db?mode=rwc" ;;
  postgres)
    name="tier3_bench_fanout_$$"
    psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $name"
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$name" ;;
  *) echo "unknown database $DB" >&2; exit 2 ;;
esac
# RUST_LOG=tier3::graphql::live=debug shows where each event's dispatch spent its time.
RUST_LOG=${RUST_LOG:-warn} "$bin" serve --bind "127.0.0.1:$PORT" --data-dir "$work" &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  [ "$DB" = postgres ] && psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.1
done
echo "server pid $server on $DB; $N $ROLE sockets, ${PER_SOCKET:-1} subscriptions each; $(nproc) cores shared by server and client"
./target/release/examples/fanout --url "http://127.0.0.1:$PORT" --server-pid "$server" \
  --subscribers "$N" --changes "$CHANGES" --role "$ROLE" \
  --per-socket "${PER_SOCKET:-1}" --sources "${SOURCES:-1}"
