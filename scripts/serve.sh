#!/usr/bin/env bash
# Sets up what is missing, then runs the server with the given flags (the Go server's flags).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
export PATH="$PATH:/usr/sbin"
exec node dist/bin/nats-streaming-server.cjs "$@"
