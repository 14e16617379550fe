#!/usr/bin/env bash
# Installs OfflineIMAP itself (the Debian/Ubuntu package offlineimap3, which provides
# /usr/bin/offlineimap, OfflineIMAP 8.x on Python 3) for the compatibility test
# test/integration/compat_offlineimap_test.ts. Idempotent and non-interactive.
#
# Without root and without the package, it prints the command to run and exits 1; the test is
# then reported as ignored, naming this script.
set -euo pipefail

if command -v offlineimap >/dev/null 2>&1; then
  exit 0
fi

command=(apt-get install -y -q --no-install-recommends offlineimap3)
if [ "$(id -u)" != 0 ]; then
  echo "error: offlineimap is missing; install it as root with:" >&2
  echo "  sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive ${command[*]}'" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "compat_deps: installing offlineimap3 with apt-get" >&2
# The package lists may be missing or stale on a fresh machine.
if ! apt-cache policy offlineimap3 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  apt-get update -q </dev/null
fi
"${command[@]}" </dev/null
