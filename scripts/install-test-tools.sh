#!/usr/bin/env bash
# Installs the system tools the test suites call, when they are missing (Debian/Ubuntu, as root
# or with sudo): promtool and prometheus (package prometheus), kubectl (package kubernetes-client,
# only if no kubectl is installed), python3 and make (node-gyp's pass over the SQLite driver in
# `npm ci` needs both, though it compiles nothing), openssl (the pod simulation's API server
# certificate), strace (the Logger's fsync test), and the PostgreSQL server binaries initdb and
# postgres (package postgresql; test-support/postgres.ts runs a throwaway server on them, found by
# `pg_config --bindir` or in /usr/lib/postgresql/*/bin). Node packages come from `npm ci`.
#
# Installing postgresql may also start the distribution's own cluster on port 5432; the tests
# neither use nor collide with it (their servers listen on random free ports).
set -euo pipefail

# pg_config alone is no proof: Debian's (from libpq-dev) names the server's bindir without a server in it.
has_postgres_server() {
  local bindir
  for bindir in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
    [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/postgres" ] && return 0
  done
  return 1
}

missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
command -v python3 >/dev/null || missing+=(python3)
command -v make >/dev/null || missing+=(make)
command -v openssl >/dev/null || missing+=(openssl)
command -v strace >/dev/null || missing+=(strace)
has_postgres_server || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-tools: nothing to install"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-test-tools: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
