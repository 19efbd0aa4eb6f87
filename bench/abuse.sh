#!/usr/bin/env bash
# Fires the abuse list (RELIABILITY.md, section 1) at a running tier3 and times each refusal,
# then checks the server still answers. Usage: TOKEN=… bench/abuse.sh [http://127.0.0.1:8000/graphql]
set -euo pipefail
URL=${1:-http://127.0.0.1:8000/graphql}
: "${TOKEN:?set TOKEN to any valid token (tier3 token --sub x --role agent)}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
q = "{ viewer { id } }"
open(f"{d}/body10mb.json", "w").write(json.dumps({"query": q, "variables": {"p": "x" * (10 << 20)}}))
inner = "id"
for _ in range(50):
    inner = "viewer { %s }" % inner
open(f"{d}/deep.json", "w").write(json.dumps({"query": "{ %s }" % inner}))
open(f"{d}/aliases.json", "w").write(json.dumps({"query": "{ %s }" % " ".join(f"a{i}: viewer {{ id }}" for i in range(1000))}))
open(f"{d}/fields.json", "w").write(json.dumps({"query": "{ %s }" % ("__typename " * 10000)}))
open(f"{d}/batch.json", "w").write(json.dumps([{"query": q}] * 100))
open(f"{d}/normal.json", "w").write(json.dumps({"query": q}))
PY

printf '%-26s %6s %10s %9s  %s\n' request status bytes seconds "code/limit"
for name in body10mb deep aliases fields batch normal; do
  out=$(curl -s -o "$tmp/out" -w '%{http_code} %{size_upload} %{time_total}' \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$tmp/$name.json" "$URL")
  what=$(python3 -c 'import json,sys
b=json.load(open(sys.argv[1]))
e=(b[0] if isinstance(b,list) else b).get("errors") or [{}]
x=e[0].get("extensions",{})
print(x.get("code","ok"), x.get("limit",""), x.get("actual",""))' "$tmp/out" 2>/dev/null || echo "-")
  read -r status bytes secs <<<"$out"
  printf '%-26s %6s %10s %9s  %s\n' "$name" "$status" "$bytes" "$secs" "$what"
done
