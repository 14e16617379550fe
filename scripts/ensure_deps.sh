#!/usr/bin/env bash
# Installs what the build and the tests need, if missing: deno, Dovecot (imap + doveadm), openssl.
# Idempotent and non-interactive (reads no stdin), so CI can run it on every start.
#
# The tests start their own Dovecot (scripts/dovecot.ts) with its own config, base_dir, state
# dir and free ports, so a system Dovecot that the package might start changes nothing for them.
set -euo pipefail

DENO_VERSION=2.9.6

if ! command -v deno >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "error: deno is missing and so is npm to install it; install Node.js first" >&2
    exit 1
  fi
  echo "ensure_deps: installing deno ${DENO_VERSION} with npm" >&2
  npm install -g "deno@${DENO_VERSION}" </dev/null
fi

packages=()
if [ ! -x /usr/sbin/dovecot ] || [ ! -x /usr/bin/doveadm ] || [ ! -x /usr/lib/dovecot/imap ]; then
  packages+=(dovecot-imapd)
fi
if ! command -v openssl >/dev/null 2>&1; then
  packages+=(openssl)
fi
# OfflineIMAP itself, for the compatibility test (optional: that test is ignored without it).
if [ "$(id -u)" = 0 ] && ! command -v offlineimap >/dev/null 2>&1; then
  packages+=(offlineimap3)
fi
if [ "${#packages[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "error: missing packages: ${packages[*]}; install them as root with:" >&2
  echo "  sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages[*]}'" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the package from starting a system Dovecot (harmless, but useless here): invoke-rc.d
# asks policy-rc.d, and exit code 101 means "action forbidden". An existing policy is kept.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
echo "ensure_deps: installing ${packages[*]} with apt-get" >&2
apt-get update -q </dev/null
apt-get install -y -q "${packages[@]}" </dev/null
