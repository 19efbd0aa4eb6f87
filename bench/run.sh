#!/usr/bin/env bash
# The read and write benchmark in one command: tier3 (release build, authorization on),
# PostGraphile v4 and the hand-written SQL floor (both in bench/peer/) on the same PostgreSQL
# database, alternated query by query, at each concurrency; then tier3 on SQLite, and W1 writes.
# Method and figures: BENCHMARKS.md.
#
# usage: bench/run.sh [CONNS="16 64"] [SECONDS=15]
# env:   BENCH_DB    PostgreSQL URL seeded with `tier3 seed --scale 1` (seeded here if empty;
#                    default postgres://postgres@127.0.0.1:5432/tier3_bench)
#        BENCH_SQLITE_DIR  data dir of a SQLite database seeded at scale 1 (skipped if unset)
#        WORKERS=2   PostGraphile with two Node.js workers (its strongest setting here)
#        ONLY="q1 q2 q3 q4 q4a w1"  which rows to run (q4: search as the scoped customer, q4a: as an agent)
#        SEARCH="error"  the common word Q4 searches for
# needs: psql and pgbench, wrk, curl, python3, Node.js 20+ with npm (PostGraphile, pinned in
#        bench/peer/package-lock.json, is installed into bench/peer/node_modules on first use)
set -euo pipefail
conns_list=${1:-"16 64"}
secs=${2:-15}
only=${ONLY:-"q1 q2 q3 q4 q4a w1"}
word=${SEARCH:-error}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
peer=$here/peer
db=${BENCH_DB:-postgres://postgres@127.0.0.1:5432/tier3_bench}
port=${BENCH_PORT:-18000}
secret=bench-secret-0123456789abcdef
bin=${TIER3_BIN:-$root/target/release/tier3}
work=$(mktemp -d /tmp/tier3-bench.XXXX)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }
for tool in psql pgbench curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool missing" >&2; exit 2; }
done
"$peer/install.sh" # before anything is measured, so a missing npm fails the run at once
# Loopback without TLS for all three: node-postgres (PostGraphile) does not negotiate TLS
# unless told to, while libpq (pgbench) and sqlx would by default, encrypting every row.
export PGSSLMODE=disable
case $db in *sslmode=*) ;; *\?*) db="$db&sslmode=disable" ;; *) db="$db?sslmode=disable" ;; esac
[ -x "$bin" ] || (cd "$root" && cargo build --release)
export JWT_SECRET=$secret
q() { psql "$db" -Atqc "$1"; }

if [ "$(q "select count(*) from ticket" 2>/dev/null || echo 0)" = 0 ]; then
  echo "seeding $db at scale 1 (a few minutes)"
  DATABASE_URL=$db "$bin" seed --scale 1 --seed 1
fi
# Earlier W1 runs leave pages not all-visible: counts would fall back to heap scans.
q "vacuum analyze" >/dev/null

# The subjects of the three pages, chosen from the data: the largest organization (a scoped
# customer of it), a ticket with many comments, and the triage queue.
org=$(q "select org_id from ticket group by org_id order by count(*) desc limit 1")
org_key=$(q "select key from organization where id = $org")
customer=$(q "select u.sub from app_user u join org_scope_grant g on g.user_id = u.id
              where u.org_id = $org and u.role = 'CUSTOMER' order by u.id limit 1")
ticket=$(q "select ticket_id from comment group by ticket_id order by count(*) desc, ticket_id limit 1")
ticket_gid=$(printf 'Ticket:%s' "$ticket" | base64 -w0)
agent=$(q "select sub from app_user where role = 'AGENT' order by id limit 1")
lead=$(q "select sub from app_user where role = 'TRIAGE_LEAD' order by id limit 1")
token() { DATABASE_URL=$db "$bin" token --sub "$1" --role "$2" ${3:+--org "$3"} --ttl 2h; }
tok_customer=$(token "$customer" customer "$org_key")
tok_agent=$(token "$agent" agent)
tok_lead=$(token "$lead" triage_lead)
echo "org $org ($org_key, $(q "select count(*) from ticket where org_id = $org") tickets), customer $customer," \
     "ticket $ticket ($(q "select count(*) from comment where ticket_id = $ticket") comments)"

# --- query files: tier3, PostGraphile over tier3's tables, and the SQL floor ---------------
mkdir -p "$work"/{tier3,peer,sql}/{q1,q2,q3,q4,q4a}
json() { python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2])}))' "$1" "$2"; }
json 'query Q1 { tickets(first: 50) { totalCount nodes { id number subject status priority createdAt
  requester { name } comments(first: 3, order: NEWEST_FIRST) { nodes { body createdAt author { name } } }
  escalation { status track priority } } } }' '{}' >"$work/tier3/q1/q1.json"
json 'query Q2($id: ID!) { ticket(id: $id) { id number subject description status priority createdAt
  requester { name } comments(first: 100) { totalCount nodes { body public createdAt author { name } } } } }' \
  "{\"id\": \"$ticket_gid\"}" >"$work/tier3/q2/q2.json"
json 'query Q3 { escalations(first: 50, filter: { status: [AWAITING_TRIAGE] }) { nodes { id title status
  priority track createdAt tickets(first: 1) { nodes { subject number organization { name } } } } } }' \
  '{}' >"$work/tier3/q3/q3.json"

# Q4: a search for a common word, newest first (tier3's default order), as the scoped customer
# of the largest organization (public text of its tickets) and as an agent (everything).
q4='query Q4($q: String!) { tickets(first: 20, filter: { search: $q }) { totalCount nodes { id number subject status priority createdAt } } }'
json "$q4" "{\"q\": \"$word\"}" >"$work/tier3/q4/q4.json"
json "$q4" "{\"q\": \"$word\"}" >"$work/tier3/q4a/q4a.json"

json 'query Q1($org: BigInt!) { organizationById(id: $org) { ticketsByOrgId(first: 50, orderBy: [CREATED_AT_DESC, ID_DESC]) {
  totalCount nodes { id number subject status priority createdAt appUserByRequesterId { name }
  commentsByTicketId(first: 3, orderBy: ID_DESC, condition: { public: true }) { nodes { body createdAt appUserByAuthorId { name } } }
  escalationTicketsByTicketId(first: 1) { nodes { escalationByEscalationId { status track priority } } } } } } }' \
  "{\"org\": $org}" >"$work/peer/q1/q1.json"
json 'query Q2($id: BigInt!) { ticketById(id: $id) { id number subject description status priority createdAt
  appUserByRequesterId { name } commentsByTicketId(first: 100, orderBy: ID_ASC) { totalCount nodes { body public createdAt appUserByAuthorId { name } } } } }' \
  "{\"id\": $ticket}" >"$work/peer/q2/q2.json"
json 'query Q3 { allEscalations(first: 50, condition: { status: "AWAITING_TRIAGE" }, orderBy: [PRIORITY_ASC, ID_ASC]) {
  nodes { id title status priority track createdAt escalationTicketsByEscalationId(first: 1) { nodes {
  ticketByTicketId { subject number organizationByOrgId { name } } } } } } }' '{}' >"$work/peer/q3/q3.json"
# PostGraphile has no text search of its own: its users expose a SQL function, which it serves
# as a connection with conditions and orders (created below, before the peer runs).
json 'query Q4($q: String!, $org: BigInt!) { peerSearchPublic(q: $q, first: 20, condition: { orgId: $org },
  orderBy: [CREATED_AT_DESC, ID_DESC]) { totalCount nodes { id number subject status priority createdAt } } }' \
  "{\"q\": \"$word\", \"org\": $org}" >"$work/peer/q4/q4.json"
json 'query Q4A($q: String!) { peerSearchAll(q: $q, first: 20, orderBy: [CREATED_AT_DESC, ID_DESC]) {
  totalCount nodes { id number subject status priority createdAt } } }' \
  "{\"q\": \"$word\"}" >"$work/peer/q4a/q4a.json"
q "create or replace function peer_search_public(q text) returns setof ticket language sql stable as \$\$
     select t.* from ticket t where t.id in (select ticket_id from ticket_search
       where public_doc @@ websearch_to_tsquery('english', q)) \$\$;
   create or replace function peer_search_all(q text) returns setof ticket language sql stable as \$\$
     select t.* from ticket t where t.id in (select ticket_id from ticket_search
       where all_doc @@ websearch_to_tsquery('english', q)) \$\$;
   comment on function peer_search_public(text) is E'@sortable\n@filterable';
   comment on function peer_search_all(text) is E'@sortable\n@filterable';" >/dev/null

cat >"$work/sql/q1/q1.sql" <<SQL
-- Q1 floor: the organization's 50 newest tickets, requester, 3 newest public comments with authors, escalation.
select json_build_object('totalCount', (select count(*) from ticket where org_id = $org), 'nodes', coalesce(json_agg(t), '[]'))
from (
  select tk.id, tk.number, tk.subject, tk.status, tk.priority, tk.created_at, u.name as requester,
    (select coalesce(json_agg(c), '[]') from (
       select cm.body, cm.created_at, au.name as author from comment cm join app_user au on au.id = cm.author_id
       where cm.ticket_id = tk.id and cm.public order by cm.id desc limit 3) c) as comments,
    (select json_build_object('status', e.status, 'track', e.track, 'priority', e.priority)
       from escalation_ticket et join escalation e on e.id = et.escalation_id
       where et.ticket_id = tk.id order by et.escalation_id desc limit 1) as escalation
  from ticket tk join app_user u on u.id = tk.requester_id
  where tk.org_id = $org order by tk.created_at desc, tk.id desc limit 50) t;
SQL
cat >"$work/sql/q2/q2.sql" <<SQL
-- Q2 floor: one ticket with all its comments and their authors.
select json_build_object('id', tk.id, 'number', tk.number, 'subject', tk.subject, 'description', tk.description,
  'status', tk.status, 'priority', tk.priority, 'created_at', tk.created_at, 'requester', u.name,
  'comments', (select coalesce(json_agg(c), '[]') from (
     select cm.body, cm.public, cm.created_at, au.name as author from comment cm join app_user au on au.id = cm.author_id
     where cm.ticket_id = tk.id order by cm.id limit 100) c))
from ticket tk join app_user u on u.id = tk.requester_id where tk.id = $ticket;
SQL
cat >"$work/sql/q3/q3.sql" <<'SQL'
-- Q3 floor: the triage queue, 50 escalations awaiting triage by priority then age, with ticket and organization.
select coalesce(json_agg(x), '[]') from (
  select e.id, e.title, e.status, e.priority, e.track, e.created_at,
    (select json_build_object('subject', t.subject, 'number', t.number, 'organization', o.name)
       from escalation_ticket et join ticket t on t.id = et.ticket_id join organization o on o.id = t.org_id
       where et.escalation_id = e.id order by et.ticket_id limit 1) as ticket
  from escalation e where e.status = 'AWAITING_TRIAGE' order by e.priority, e.id limit 50) x;
SQL
cat >"$work/sql/q4/q4.sql" <<SQL
-- Q4 floor: the 20 newest tickets of the organization whose public text matches, and how many match.
select json_build_object(
  'totalCount', (select count(*) from ticket t where t.org_id = $org and t.id in (
     select ticket_id from ticket_search where public_doc @@ websearch_to_tsquery('english', '$word'))),
  'nodes', (select coalesce(json_agg(x), '[]') from (
     select t.id, t.number, t.subject, t.status, t.priority, t.created_at from ticket t
     where t.org_id = $org and t.id in (
       select ticket_id from ticket_search where public_doc @@ websearch_to_tsquery('english', '$word'))
     order by t.created_at desc, t.id desc limit 20) x));
SQL
cat >"$work/sql/q4a/q4a.sql" <<SQL
-- Q4 floor, agent: the 20 newest tickets whose text (internal notes included) matches, and how many.
select json_build_object(
  'totalCount', (select count(*) from ticket_search where all_doc @@ websearch_to_tsquery('english', '$word')),
  'nodes', (select coalesce(json_agg(x), '[]') from (
     select t.id, t.number, t.subject, t.status, t.priority, t.created_at from ticket t
     where t.id in (
       select ticket_id from ticket_search where all_doc @@ websearch_to_tsquery('english', '$word'))
     order by t.created_at desc, t.id desc limit 20) x));
SQL
cp -r "$work" "$root/target/bench-queries" 2>/dev/null || true

# --- servers ------------------------------------------------------------------------------
start_tier3() { # DATABASE_URL DATA_DIR
  DATABASE_URL=$1 TIER3_DATA_DIR=$2 TIER3_BIND=127.0.0.1:$port TIER3_RATE_LIMIT=0 TIER3_RATE_LIMIT_ANONYMOUS=0 \
    RUST_LOG=warn "$bin" serve >"$work/tier3.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && return; sleep 0.2; done
  cat "$work/tier3.log" >&2; exit 1
}
stop_tier3() { kill "$server"; wait "$server" 2>/dev/null || true; server=; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$server/status"; }

run_tier3() { # label query conns token
  local before after
  before=$(cpu_ticks)
  local row; row=$(TOKEN=$4 "$peer/drive.sh" "http://127.0.0.1:$port/graphql" "$work/tier3/$2" "$3" "$secs" | tail -1)
  after=$(cpu_ticks)
  # CPU over warm-up (5 s) and run, in % of one core.
  local cpu; cpu=$(( (after - before) * 100 / $(getconf CLK_TCK) / (secs + 5) ))
  printf '%-22s %s  cpu%%=%s rss_mb=%s\n' "$1" "$row" "$cpu" "$(( $(rss_kb) / 1024 ))"
}

token_for() { case $1 in q1|q4) echo "$tok_customer";; q2|q4a) echo "$tok_agent";; q3) echo "$tok_lead";; esac; }

echo "== $(date -u +%FT%TZ) $(nproc) cores; wrk -t2, ${secs}s after a 5 s warm-up; pgbench -c N -j2 -T ${secs}"
for conns in $conns_list; do
  for qn in q1 q2 q3 q4 q4a; do
    [[ " $only " == *" $qn "* ]] || continue
    start_tier3 "$db" "$work"
    run_tier3 "tier3 postgres" "$qn" "$conns" "$(token_for "$qn")"
    stop_tier3
    # A failing peer leaves its row empty (its error is on stderr) and the run goes on.
    printf '%-22s ' "postgraphile"; { "$peer/run-peer.sh" "$db" "$work/peer/$qn" "$conns" "$secs" || true; } | tail -1
    printf '%-22s ' "sql floor (simple)"; "$peer/floor.sh" "$db" "$work/sql/$qn" "$conns" "$secs" | tail -1
    printf '%-22s ' "sql floor (prepared)"; MODE=prepared "$peer/floor.sh" "$db" "$work/sql/$qn" "$conns" "$secs" | tail -1
  done
done

if [ -n "${BENCH_SQLITE_DIR:-}" ]; then
  for conns in $conns_list; do
    for qn in q1 q2 q3 q4 q4a; do
      [[ " $only " == *" $qn "* ]] || continue
      start_tier3 "sqlite://$BENCH_SQLITE_DIR/tier3.db?mode=rwc" "$BENCH_SQLITE_DIR"
      run_tier3 "tier3 sqlite" "$qn" "$conns" "$(token_for "$qn")"
      stop_tier3
    done
  done
fi

# --- W1: createTicket and addComment from many customers at once ---------------------------
# On a copy of the database, so the writes never change what the next run's Q1–Q3 read.
if [[ " $only " == *" w1 "* ]]; then
  src_name=$(q "select current_database()")
  w1_name=${src_name}_w1
  admin=${db/\/$src_name/\/postgres}
  psql "$admin" -qc "drop database if exists $w1_name with (force)" -c "create database $w1_name template $src_name"
  trap 'cleanup; psql "$admin" -qc "drop database if exists $w1_name with (force)"' EXIT
  db=${db/\/$src_name/\/$w1_name}
  python3 - "$work/w1.txt" "$db" "$bin" <<'PY'
import json, subprocess, sys, base64
out, db, binary = sys.argv[1:4]
rows = subprocess.run(["psql", db, "-Atqc", """
  select u.sub, o.key, (select t.id from ticket t where t.requester_id = u.id and t.status <> 'CLOSED' order by t.id desc limit 1)
  from app_user u join organization o on o.id = u.org_id
  where u.role = 'CUSTOMER' and exists (select 1 from ticket t where t.requester_id = u.id and t.status <> 'CLOSED')
  order by u.id limit 200"""], capture_output=True, text=True, check=True).stdout.split()
with open(out, "w") as f:
    for i, row in enumerate(rows):
        sub, org, ticket = row.split("|")
        token = subprocess.run([binary, "token", "--sub", sub, "--role", "customer", "--org", org, "--ttl", "2h"],
                               capture_output=True, text=True, check=True, env={"DATABASE_URL": db, "JWT_SECRET": "bench-secret-0123456789abcdef"}).stdout.strip()
        gid = base64.b64encode(f"Ticket:{ticket}".encode()).decode()
        create = json.dumps({"query": "mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticket { id } } }",
                             "variables": {"i": {"subject": f"bench {i}", "description": "load"}}})
        comment = json.dumps({"query": "mutation($i: AddCommentInput!) { addComment(input: $i) { comment { id } } }",
                              "variables": {"i": {"ticketId": gid, "body": f"bench comment {i}", "public": True}}})
        f.write(f"{token}\t{create}\n{token}\t{comment}\n")
PY
  # The W1 floor: the same rows written by hand-written SQL through pgbench, one transaction
  # per mutation (half createTicket, half addComment), by the same 200 customers on the same
  # tickets: take a ticket number and insert the ticket and its event; read the ticket
  # through the requester's scope, bump it under its optimistic lock, insert the comment and
  # its event. The database's own triggers (tally, search index) run for both.
  psql "$db" -qc "create table if not exists w1_subjects (i int primary key, user_id bigint, org_id bigint, ticket_id bigint);
    truncate w1_subjects;
    insert into w1_subjects select row_number() over (order by u.id), u.id, u.org_id,
      (select t.id from ticket t where t.requester_id = u.id and t.status <> 'CLOSED' order by t.id desc limit 1)
    from app_user u where u.role = 'CUSTOMER'
      and exists (select 1 from ticket t where t.requester_id = u.id and t.status <> 'CLOSED')
    order by u.id limit 200"
  cat >"$work/w1-create.sql" <<'SQL'
\set i random(1, 200)
SELECT user_id AS uid, org_id AS oid FROM w1_subjects WHERE i = :i \gset
BEGIN;
UPDATE counter SET value = value + 1 WHERE name = 'ticket_number' RETURNING value AS num \gset
INSERT INTO ticket (number, subject, description, status, priority, requester_id, org_id, lock_version, created_at, updated_at)
  VALUES (:num, 'floor', 'load', 'NEW', 'NORMAL', :uid, :oid, 0, now(), now()) RETURNING id AS tid \gset
INSERT INTO event (kind, public, actor_id, org_id, ticket_id, to_status, created_at)
  VALUES ('TICKET_CREATED', true, :uid, :oid, :tid, 'NEW', now());
COMMIT;
SQL
  cat >"$work/w1-comment.sql" <<'SQL'
\set i random(1, 200)
SELECT user_id AS uid, org_id AS oid, ticket_id AS tid FROM w1_subjects WHERE i = :i \gset
BEGIN;
SELECT lock_version AS lv FROM ticket WHERE id = :tid AND requester_id = :uid \gset
UPDATE ticket SET updated_at = now(), lock_version = lock_version + 1 WHERE id = :tid AND lock_version = :lv;
INSERT INTO comment (ticket_id, author_id, body, public, created_at)
  VALUES (:tid, :uid, 'floor comment', true, now()) RETURNING id AS cid \gset
INSERT INTO event (kind, public, actor_id, org_id, ticket_id, comment_id, created_at)
  VALUES ('COMMENT_ADDED', true, :uid, :oid, :tid, :cid, now());
COMMIT;
SQL
  w1_floor() { # conns
    local out tps lat
    out=$(pgbench -n -M prepared -c "$1" -j 2 -T "$secs" -f "$work/w1-create.sql@1" -f "$work/w1-comment.sql@1" "$db" 2>&1)
    tps=$(grep -oP '^tps = \K[0-9.]+' <<<"$out" | head -1 || true)
    lat=$(grep -oP 'latency average = \K[0-9.]+' <<<"$out" | head -1 || true)
    [ -n "$tps" ] || { echo "$out" >&2; exit 1; }
    printf '%-22s %-10s %5s %10s %9s (mean latency ms)\n' "write floor (pgbench)" w1 "$1" "$tps" "$lat"
  }
  for conns in $conns_list; do
    w1_floor "$conns"
    start_tier3 "$db" "$work"
    before=$(cpu_ticks)
    line=$(LINES_FILE="$work/w1.txt" wrk -t2 -c"$conns" -d"${secs}s" -s "$here/w1.lua" "http://127.0.0.1:$port/graphql" 2>&1 | grep '^RESULT')
    after=$(cpu_ticks)
    eval "${line#RESULT }"
    printf '%-22s %-10s %5s %10s %9s %9s %8s  cpu%%=%s rss_mb=%s\n' "tier3 postgres" w1 "$conns" "$rps" "$p50_ms" "$p99_ms" "$non2xx" \
      "$(( (after - before) * 100 / $(getconf CLK_TCK) / secs ))" "$(( $(rss_kb) / 1024 ))"
    stop_tier3
  done
fi
