#!/usr/bin/env bash
# The demo from a fresh checkout: installs what is missing, then runs scripts/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_deps.sh
exec deno run -A scripts/demo.ts "$@"
