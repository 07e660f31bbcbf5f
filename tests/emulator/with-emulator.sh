#!/usr/bin/env bash
# Run a command with the local AWS up: starts the patched moto on a free 127.0.0.1 port, exports
# WARDEN_EMULATOR_URL (and AWS_ENDPOINT_URL for binaries run under it), runs "$@", stops the server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=${WARDEN_PYTHON:-$here/../../.venv/bin/python}
dir=$(mktemp -d)
(cd "$here" && exec "$py" -m warden_emulator --port-file "$dir/port" --parent-pid $$ >"$dir/emulator.log" 2>&1) &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  [ -s "$dir/port" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then echo "emulator failed to start:" >&2; cat "$dir/emulator.log" >&2; exit 1; fi
  sleep 0.1
done
[ -s "$dir/port" ] || { echo "emulator did not start in 60s" >&2; cat "$dir/emulator.log" >&2; exit 1; }
export WARDEN_EMULATOR_URL="http://127.0.0.1:$(cat "$dir/port")"
export AWS_ENDPOINT_URL="$WARDEN_EMULATOR_URL"
echo "local AWS (moto + warden patches) at $WARDEN_EMULATOR_URL" >&2
"$@"
