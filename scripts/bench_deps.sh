#!/usr/bin/env bash
# Installs the tools scripts/bench_sync.ts compares against, if missing: mbsync (Debian package
# isync) and offlineimap (Debian package offlineimap3). Not needed for the build or the tests.
# Idempotent and non-interactive (reads no stdin). As a normal user it installs nothing and
# prints the command to run as root instead.
set -euo pipefail

packages=()
if ! command -v mbsync >/dev/null 2>&1; then
  packages+=(isync)
fi
if ! command -v offlineimap >/dev/null 2>&1; then
  packages+=(offlineimap3)
fi
# GNU time gives the benchmark CPU time and peak memory without polling /proc.
if [ ! -x /usr/bin/time ]; then
  packages+=(time)
fi
if [ "${#packages[@]}" -eq 0 ]; then
  echo "bench_deps: mbsync, offlineimap and /usr/bin/time are installed" >&2
  exit 0
fi

command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "bench_deps: missing packages: ${packages[*]}; install them as root with:" >&2
  echo "  sudo sh -c '${command}'" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "bench_deps: installing ${packages[*]} with apt-get" >&2
# Update only when apt does not know a package yet: a fresh container has no lists.
for package in "${packages[@]}"; do
  if ! apt-cache show "$package" >/dev/null 2>&1; then
    apt-get update -q </dev/null
    break
  fi
done
apt-get install -y -q --no-install-recommends "${packages[@]}" </dev/null
