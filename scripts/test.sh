#!/usr/bin/env bash
# Sets up what is missing, then runs the whole test suite (unit, store conformance, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_DATABASES=1 SKIP_BUILD=1 bash scripts/setup.sh
export PATH="$PATH:/usr/sbin"
exec bash test/run.sh "$@"
