#!/usr/bin/env bash
# Installs the PostGraphile pinned in package.json / package-lock.json into bench/peer/node_modules
# (ignored by git) with `npm ci`, unless that version is there already. Needs Node.js 20 or later
# and npm, and the npm registry the first time. run-peer.sh and bench/run.sh call it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "node and npm missing: install Node.js 20 or later (Debian: apt-get install -y nodejs npm)" >&2; exit 2; }
want=$(node -p 'require(process.argv[1]).dependencies.postgraphile' "$here/package.json")
have=$(node -p 'try { require(process.argv[1]).version } catch (e) { "" }' \
  "$here/node_modules/postgraphile/package.json")
if [ "$have" != "$want" ] || [ ! -x "$here/node_modules/.bin/postgraphile" ]; then
  echo "installing PostGraphile $want into $here/node_modules (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --silent >/dev/null)
fi
