#!/usr/bin/env bash
# Fault-injection load test: mixed reads, writes and resumable subscriptions from
# many users on loopback while PostgreSQL is stopped and started again and the server is sent
# SIGTERM and restarted; then checks that every acknowledged write is in the database, every
# resumed subscriber got every event exactly once, and every accepted request was answered
# with a result or a clean error.
#
# Usage: bench/chaos.sh [DURATION_SECS=60] [USERS=40] [SUBSCRIBERS=20]
# Environment:
#   TIER3_BIN    server binary (default target/release/tier3, built if missing)
#   RESULTS      JSON results file (default target/chaos/results.json)
#   CHAOS_PORT   API port (default 18080)      CHAOS_PG_PORT  private PostgreSQL port (55432)
#   CHAOS_VENV   Python virtualenv for bench/requirements.txt (default target/chaos-venv)
#   CHAOS_SEED   random seed for the driver (default: time based)
# Exit status: 0 when nothing was lost and nothing failed, 1 otherwise, 2 on setup errors.
#
# PostgreSQL is a private throw-away cluster (initdb in a temp dir, its own port and socket
# dir), so stopping it never touches the machine's shared server on 5432. Needs root (to run
# initdb/pg_ctl as the `postgres` OS user) or to be run as `postgres` itself.
set -euo pipefail
case "${RESULTS:-}" in ""|/*) ;; *) RESULTS=$(pwd)/$RESULTS ;; esac
case "${TIER3_BIN:-}" in ""|/*) ;; *) TIER3_BIN=$(pwd)/$TIER3_BIN ;; esac
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=${1:-60}
USERS=${2:-40}
SUBSCRIBERS=${3:-20}
PORT=${CHAOS_PORT:-18080}
PG_PORT=${CHAOS_PG_PORT:-55432}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BIN=${TIER3_BIN:-$ROOT/target/release/tier3}
OUT_DIR=$ROOT/target/chaos
RESULTS=${RESULTS:-$OUT_DIR/results.json}
VENV=${CHAOS_VENV:-$ROOT/target/chaos-venv}
SECRET=chaos-test-secret-0123456789abcdef-not-for-production
DB_NAME=tier3_chaos

die() { echo "chaos: $*" >&2; exit 2; }

for p in "$PORT" "$PG_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "port $p on 127.0.0.1 is already in use (set CHAOS_PORT / CHAOS_PG_PORT)"
  fi
done
[ -x "$PG_BIN/initdb" ] || die "no PostgreSQL 15 at $PG_BIN (set PG_BIN)"

if [ ! -x "$BIN" ]; then
  if [ -z "${TIER3_BIN:-}" ]; then
    echo "chaos: $BIN is missing; building it with 'cargo build --release' (takes minutes)..." >&2
    cargo build --release --bin tier3
  else
    die "TIER3_BIN=$BIN is not an executable"
  fi
fi

# Python driver dependencies, in a virtualenv kept under target/.
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import aiohttp, websockets, jwt' 2>/dev/null; then
  echo "chaos: installing bench/requirements.txt into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/requirements.txt
fi

# As root, PostgreSQL tools run as the `postgres` OS user.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "no 'postgres' OS user to run the private cluster as"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

WORK=$(mktemp -d /tmp/tier3-chaos.XXXXXX)
chmod 755 "$WORK"
# Everything PostgreSQL writes lives under $WORK/pg, owned by the user it runs as.
PGDATA=$WORK/pg/data
PGSOCK=$WORK/pg/sock
PGLOG=$WORK/pg/postgres.log
mkdir -p "$PGDATA" "$PGSOCK" "$WORK/data" "$OUT_DIR" "$(dirname "$RESULTS")"
chmod 700 "$PGDATA"
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$WORK/pg"; fi
SERVER_LOG=${RESULTS%.json}-server.log
SERVER_PIDFILE=$WORK/server.pid
: >"$SERVER_LOG"

pg_ctl_() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [ -s "$SERVER_PIDFILE" ]; then
    local pid
    pid=$(cat "$SERVER_PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  pg_ctl_ stop -m immediate -w >/dev/null 2>&1
  cp -f "$PGLOG" "${RESULTS%.json}-postgres.log" 2>/dev/null
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "chaos: private PostgreSQL cluster in $PGDATA on 127.0.0.1:$PG_PORT"
as_pg "$PG_BIN/initdb" -D "$PGDATA" -A trust -U postgres -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
PG_OPTS="-p $PG_PORT -k $PGSOCK -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on"
pg_ctl_ -o "$PG_OPTS" -l "$PGLOG" -w start >/dev/null || { cat "$PGLOG" >&2; die "PostgreSQL did not start"; }
PSQL=(psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB_NAME" || die "createdb failed"

# The fault helpers the driver calls (it times them and records the results).
cat >"$WORK/pg_stop" <<EOF
#!/usr/bin/env bash
exec $( [ "$(id -u)" = 0 ] && echo "runuser -u postgres --" ) "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop
EOF
cat >"$WORK/pg_start" <<EOF
#!/usr/bin/env bash
exec $( [ "$(id -u)" = 0 ] && echo "runuser -u postgres --" ) "$PG_BIN/pg_ctl" -D "$PGDATA" -o "$PG_OPTS" -l "$PGLOG" -w start
EOF
chmod +x "$WORK/pg_stop" "$WORK/pg_start"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME"
export JWT_SECRET=$SECRET
export TIER3_BIND=127.0.0.1:$PORT
export TIER3_DATA_DIR=$WORK/data
export TIER3_SHUTDOWN_GRACE=${TIER3_SHUTDOWN_GRACE:-5}
# The per-user budget is 1,000 points a minute by default; the load would hit it.
export TIER3_RATE_LIMIT=1000000
# Every subscriber connects from loopback; the per-address socket limit is for real clients.
export TIER3_MAX_SOCKETS_PER_ADDRESS=0
export RUST_LOG=${RUST_LOG:-info,sqlx=warn,sea_orm=warn}
unset TIER3_LOG_FORMAT

echo "chaos: server $BIN on 127.0.0.1:$PORT (log $SERVER_LOG)"
echo "chaos: ${DURATION}s, $USERS users, $SUBSCRIBERS subscribers; results -> $RESULTS"
set +e
"$VENV/bin/python" bench/chaos.py \
  --duration "$DURATION" --users "$USERS" --subscribers "$SUBSCRIBERS" \
  --url "http://127.0.0.1:$PORT" --secret "$SECRET" \
  --server-bin "$BIN" --server-log "$SERVER_LOG" --server-pidfile "$SERVER_PIDFILE" \
  --grace "$TIER3_SHUTDOWN_GRACE" \
  --pg-stop "$WORK/pg_stop" --pg-start "$WORK/pg_start" \
  --psql "psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d $DB_NAME" \
  --results "$RESULTS" ${CHAOS_SEED:+--seed "$CHAOS_SEED"}
rc=$?
set -e
echo "chaos: kept ${RESULTS%.json}-server.log, -postgres.log and -subscribers.json (per-subscriber deliveries)"
exit "$rc"
