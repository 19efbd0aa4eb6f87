#!/usr/bin/env bash
# The mail benchmark: a release note published to N followers (default 10,000) on a seeded
# PostgreSQL database, mailed through a real SMTP server (examples/smtp_sink.rs, mailin-embedded)
# on loopback. Reports the time from the publish request until the last message was handed to
# the SMTP server, messages per second, and Q1's latency while it happens against Q1 idle.
# Method and figures: BENCHMARKS.md.
#
# usage: bench/mail.sh [FOLLOWERS=10000] [SECONDS=30]
# env:   BENCH_DB  PostgreSQL URL seeded with `tier3 seed --scale 1` (default
#                  postgres://postgres@127.0.0.1:5432/tier3_bench); the run works on a copy
#        TIER3_BIN the release binary (built if missing)
set -euo pipefail
followers=${1:-10000}
secs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
src_db=${BENCH_DB:-postgres://postgres@127.0.0.1:5432/tier3_bench}
port=${BENCH_PORT:-18000}
smtp_port=${BENCH_SMTP_PORT:-2525}
secret=bench-secret-0123456789abcdef
bin=${TIER3_BIN:-$root/target/release/tier3}
sink=$root/target/release/examples/smtp_sink
work=$(mktemp -d /tmp/tier3-mail.XXXX)
server= sink_pid=
export PGSSLMODE=disable JWT_SECRET=$secret
src_name=${src_db##*/}; src_name=${src_name%%\?*}
copy=${src_name}_mail
admin=${src_db/\/$src_name/\/postgres}
db=${src_db/\/$src_name/\/$copy}
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
  wait 2>/dev/null
  [ -n "${KEEP:-}" ] || psql "$admin" -qc "drop database if exists $copy with (force)" >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }
[ -x "$bin" ] || (cd "$root" && cargo build --release)
[ -x "$sink" ] || (cd "$root" && cargo build --release --example smtp_sink)
q() { psql "$db" -Atqc "$1"; }

psql "$admin" -qc "drop database if exists $copy with (force)" -c "create database $copy template $src_name"
q "insert into release_note_follow (user_id, created_at)
   select id, now() from app_user where role = 'CUSTOMER' and email is not null
   order by id limit $followers on conflict do nothing" >/dev/null
q "vacuum analyze" >/dev/null
# The seed's own followers come on top of these: every follower with an address is expected.
followers=$(q "select count(*) from release_note_follow f join app_user u on u.id = f.user_id where u.email is not null")
echo "followers with an address: $followers"

org=$(q "select org_id from ticket group by org_id order by count(*) desc limit 1")
org_key=$(q "select key from organization where id = $org")
customer=$(q "select u.sub from app_user u join org_scope_grant g on g.user_id = u.id
              where u.org_id = $org and u.role = 'CUSTOMER' order by u.id limit 1")
token() { DATABASE_URL=$db "$bin" token --sub "$1" --role "$2" ${3:+--org "$3"} --ttl 2h; }
tok_customer=$(token "$customer" customer "$org_key")
tok_lead=$(token triage-1 triage_lead)
mkdir -p "$work/q1"
python3 -c 'import json; print(json.dumps({"query": """query Q1 { tickets(first: 50) { totalCount nodes { id number subject status priority createdAt
  requester { name } comments(first: 3, order: NEWEST_FIRST) { nodes { body createdAt author { name } } }
  escalation { status track priority } } } }""", "variables": {}}))' >"$work/q1/q1.json"

DATABASE_URL=$db TIER3_DATA_DIR=$work TIER3_BIND=127.0.0.1:$port TIER3_RATE_LIMIT=0 TIER3_RATE_LIMIT_ANONYMOUS=0 \
  TIER3_SMTP_URL=smtp://127.0.0.1:$smtp_port RUST_LOG=${RUST_LOG:-warn} "$bin" serve >"$work/tier3.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done

gql() { # token body
  curl -s -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
    "http://127.0.0.1:$port/graphql" --data "$2"
}
echo "== $(date -u +%FT%TZ) $(nproc) cores; Q1 as a scoped customer, wrk -t2 -c16, ${secs}s after a 5 s warm-up"
printf '%-10s ' "Q1 idle"; TOKEN=$tok_customer "$here/peer/drive.sh" "http://127.0.0.1:$port/graphql" "$work/q1" 16 "$secs" | tail -1

release=$(gql "$tok_lead" '{"query":"mutation { createRelease(input: { version: \"bench-'"$RANDOM"'\", kind: QUARTERLY, quarter: \"2027-Q1\" }) { release { id } } }"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["createRelease"]["release"]["id"])')
gql "$tok_lead" '{"query":"mutation($r: ID!) { markReleaseImminent(input: { releaseId: $r }) { release { status } } }","variables":{"r":"'"$release"'"}}' >/dev/null
# The sink starts just before the mailing (mailin-embedded was seen to stall the first
# connections after sitting idle for half a minute).
"$sink" --port "$smtp_port" --expect "$followers" --timeout 900 >"$work/sink.out" 2>"$work/sink.err" &
sink_pid=$!
TOKEN=$tok_customer "$here/peer/drive.sh" "http://127.0.0.1:$port/graphql" "$work/q1" 16 "$secs" >"$work/during.txt" &
drive=$!
sleep 6 # the warm-up, then publish inside the measured window
t0=$(date +%s.%N)
gql "$tok_lead" '{"query":"mutation($r: ID!) { publishReleaseNote(input: { releaseId: $r, title: \"Benchmark note\", body: \"Mailed to every follower.\" }) { releaseNote { id } } }","variables":{"r":"'"$release"'"}}' >/dev/null
wait "$drive"
printf '%-10s ' "Q1 mailing"; tail -1 "$work/during.txt"
wait "$sink_pid" || true; sink_pid=
echo "queued: $(q "select extract(epoch from min(created_at))::numeric(20,3) || ' ' || extract(epoch from min(delivered_at))::numeric(20,3) || ' ' || extract(epoch from max(delivered_at))::numeric(20,3) from delivery") (first queued, first and last delivered, unix s); published at $t0"
read -r received first last < <(sed -E 's/received=([0-9]+) first=([0-9.]+) last=([0-9.]+)/\1 \2 \3/' "$work/sink.out")
python3 - "$received" "$first" "$last" "$t0" "$followers" <<'PY'
import sys
received, first, last, t0, want = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5])
total = last - t0
print(f"mail: {received}/{want} handed to SMTP; first after {first - t0:.2f} s, all after {total:.2f} s; "
      f"{received / total:.0f} messages/s overall, {received / max(last - first, 1e-9):.0f}/s once sending")
PY
echo "deliveries: $(q "select status || '=' || count(*) from delivery group by status order by status" | tr '\n' ' ')"
echo "tier3 peak RSS: $(( $(awk '/VmHWM/ {print $2}' "/proc/$server/status") / 1024 )) MB"
