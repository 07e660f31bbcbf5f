#!/usr/bin/env bash
# The Debian packages `make test` needs beyond Rust, Python and Node.js: `docker-registry` (CNCF
# distribution) and `skopeo`, for the copy test against real OCI registries
# (tests/tests/registry_copy.rs). Installs them with apt-get as root, or through sudo when it asks
# for no password; otherwise stops at once, naming the command to run.
set -euo pipefail
missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
[ "${#missing[@]}" -eq 0 ] && exit 0
install="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing[*]}"
if ! command -v apt-get >/dev/null; then
  echo "make test needs the Debian packages ${missing[*]}, and this machine has no apt-get: install them with its package manager" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  echo "installing ${missing[*]} (Debian packages) ..." >&2
  bash -c "$install"
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  echo "installing ${missing[*]} (Debian packages, through sudo) ..." >&2
  sudo bash -c "$install"
else
  echo "make test needs the Debian packages ${missing[*]}. Run, then make test again:" >&2
  echo "  sudo bash -c '$install'" >&2
  exit 1
fi
