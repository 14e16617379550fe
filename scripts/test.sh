#!/usr/bin/env bash
# The whole test suite from a fresh checkout: installs what is missing, then runs every test
# (unit tests, and integration tests against a throwaway Dovecot on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_deps.sh
exec deno test -A --parallel test/ "$@"
