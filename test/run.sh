#!/usr/bin/env bash
# The test command: builds, then runs unit, conformance and end-to-end tests with node's test runner.
# End-to-end tests start real nats-server processes (Debian package nats-server) on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nats-server >/dev/null 2>&1 && [ -x /usr/sbin/nats-server ]; then export PATH="$PATH:/usr/sbin"; fi
command -v nats-server >/dev/null 2>&1 || { echo "nats-server is missing: apt-get install nats-server" >&2; exit 1; }
npm run --silent build
if [ $# -gt 0 ]; then files="$*"; else files=$(find test/unit test/conformance test/e2e -name '*.test.ts' 2>/dev/null | sort); fi
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec $files
