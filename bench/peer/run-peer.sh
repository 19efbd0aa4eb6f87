#!/usr/bin/env bash
# Starts PostGraphile v4 over a PostgreSQL database and drives the query files of QUERY_DIR at it.
# usage: run-peer.sh DATABASE_URL QUERY_DIR [CONNECTIONS=16] [SECONDS=15] [PORT=5676]
# PostGraphile is the version pinned in package.json / package-lock.json next to this script,
# installed on first use by install.sh (npm ci into bench/peer/node_modules, ignored by git).
# WORKERS=2 runs it with --cluster-workers 2 (one Node.js process per core, as a 2-core deployment
# would; one process leaves half of the machine idle).
# PostGraphile derives its API from the tables it finds (names like allTickets, ticketById,
# commentsByTicketId): introspect it once (see README.md) to write query files for a schema.
set -euo pipefail
db=$1 dir=$2 conns=${3:-16} secs=${4:-15} port=${5:-5676}
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/node_modules/.bin/postgraphile
"$here/install.sh"
log=$(mktemp /tmp/tier3-postgraphile.XXXX.log)
NODE_ENV=production "$bin" -c "$db" --host 127.0.0.1 --port "$port" \
  --schema public --disable-graphiql --disable-query-log --no-setof-functions-contain-nulls \
  --legacy-relations omit -m 10 ${WORKERS:+--cluster-workers "$WORKERS"} >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$port/graphql" \
    --data '{"query":"{__typename}"}' && break
  kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
echo "PostGraphile $("$bin" --version) on $db"
"$here/drive.sh" "http://127.0.0.1:$port/graphql" "$dir" "$conns" "$secs"
