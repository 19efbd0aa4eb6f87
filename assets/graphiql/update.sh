#!/usr/bin/env bash
# Refreshes the GraphiQL assets in this folder from the npm registry.
#
# Each package is fetched with `npm pack` at the pinned version, its tarball is checked
# against the pinned sha512 integrity (the registry's `dist.integrity` for that version),
# and only the files tier3 serves are copied out, byte for byte, with the package's
# LICENSE beside them. The copies are never edited by hand. To move to another version,
# change PACKAGES below (the new integrity is `npm view <name>@<version> dist.integrity`),
# run this script, try the page in a browser, and commit what it wrote. tier3 embeds the
# files when it is compiled, so building it needs neither npm nor the network.
#
# Usage: assets/graphiql/update.sh           write the files here
#        assets/graphiql/update.sh --check   only verify that the files here are the
#                                            packages' own (exit 1 if any differs)
# Needs: npm, tar, openssl.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# name  version  integrity  then file-in-package:file-here pairs
PACKAGES=(
  "react 18.3.1 sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==
    umd/react.production.min.js:react.production.min.js
    LICENSE:LICENSE.react"
  "react-dom 18.3.1 sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==
    umd/react-dom.production.min.js:react-dom.production.min.js
    LICENSE:LICENSE.react-dom"
  "graphiql 4.1.2 sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg==
    graphiql.min.js:graphiql.min.js
    graphiql.min.css:graphiql.min.css
    LICENSE:LICENSE.graphiql"
)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# First fetch and verify every package, so a mismatch leaves this folder untouched.
for entry in "${PACKAGES[@]}"; do
  # shellcheck disable=SC2086 # split the entry on any whitespace
  set -- $entry
  name="$1" version="$2" integrity="$3"
  echo "== $name@$version"
  dir="$work/$name"
  mkdir -p "$dir"
  tarball="$(cd "$dir" && npm pack --silent "$name@$version" | tail -n 1)"
  actual="sha512-$(openssl dgst -sha512 -binary "$dir/$tarball" | openssl base64 -A)"
  if [[ "$actual" != "$integrity" ]]; then
    echo "integrity mismatch for $name@$version:" >&2
    echo "  pinned  $integrity" >&2
    echo "  fetched $actual" >&2
    exit 1
  fi
  echo "   $integrity ok"
  tar -xzf "$dir/$tarball" -C "$dir"
done

# Then copy (or compare) the files tier3 serves, byte for byte.
versions="# Written by update.sh: package version integrity\n"
differs=0
for entry in "${PACKAGES[@]}"; do
  # shellcheck disable=SC2086
  set -- $entry
  name="$1" version="$2" integrity="$3"
  shift 3
  for pair in "$@"; do
    from="$work/$name/package/${pair%%:*}"
    to="$here/${pair#*:}"
    if $check; then
      if cmp -s "$from" "$to"; then
        echo "   same    ${pair#*:}"
      else
        echo "   DIFFERS ${pair#*:}" >&2
        differs=1
      fi
    else
      cp "$from" "$to"
      echo "   $name/${pair%%:*} -> ${pair#*:}"
    fi
  done
  versions+="$name $version $integrity\n"
done

if $check; then
  if ! printf '%b' "$versions" | cmp -s - "$here/VERSIONS"; then
    echo "VERSIONS does not match PACKAGES" >&2
    differs=1
  fi
  exit "$differs"
fi
printf '%b' "$versions" >"$here/VERSIONS"
echo "wrote $here/VERSIONS"
