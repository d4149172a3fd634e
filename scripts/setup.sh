#!/usr/bin/env bash
# Installs what the server and its tests need when it is missing, then builds. Safe to run again.
# Debian packages: nats-server (the server starts it when there is no -ns; the tests start their own), and the database
# servers the SQL store tests start on loopback ports (with WITH_DATABASES=1): postgresql and mariadb-server.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then need+=(nats-server); fi
if [ "${WITH_DATABASES:-}" = 1 ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
  if [ ! -x /usr/sbin/mariadbd ] || ! command -v mariadb-install-db >/dev/null 2>&1; then need+=(mariadb-server); fi
fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "missing Debian packages: ${need[*]} (install them as root: apt-get install ${need[*]})" >&2; exit 1
  fi
  echo "installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
[ "${SKIP_BUILD:-}" = 1 ] || npm run --silent build
