#!/usr/bin/env bash
# The functions as `sam build` builds the deployed ones — infra/template.yaml, each function in its
# own package's folder (CodeUri), release profile, non-PIE where the function's folder asks for it
# (functions/<name>/.cargo/config.toml; fanout is position independent) — with one change: the
# architecture is this machine's (x86_64), so that tests/bench/cold_start.py can run them. The
# folder's config names the arm64 target only; here RUSTFLAGS carries the same flag to the x86_64
# build of those functions (with the --target cargo-lambda passes, it reaches only the binaries, not
# build scripts or proc macros). One `sam build` per function, since the flag is per function.
#
# Usage: tests/bench/sam_build_host.sh OUT_DIR   (then OUT_DIR/bin/<function> is each bootstrap)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:?usage: tests/bench/sam_build_host.sh OUT_DIR}")
[ "$(uname -m)" = x86_64 ] || { echo "sam_build_host.sh: builds x86_64 twins; this is $(uname -m)" >&2; exit 2; }
# SAM resolves each CodeUri against the template's folder: the twin template sits beside the real one.
twin="$root/infra/.bench-template.yaml"
trap 'rm -f "$twin"' EXIT
sed 's/^    Architectures: \[arm64\]$/    Architectures: [x86_64]/' "$root/infra/template.yaml" >"$twin"
grep -q "Architectures: \[x86_64\]" "$twin" || { echo "sam_build_host.sh: no Architectures line in the template" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/bin"
# cargo-lambda and zig come from the project's venv (make setup).
export PATH="$root/.venv/bin:$PATH"
PYTHONPATH="$root/tests/infra" "$root/.venv-sam/bin/python" - "$root/infra/template.yaml" >"$out/functions" <<'PY'
import sys
from pathlib import Path
from artifacts import non_pie
from features import sam_functions
for logical, binary, _ in sam_functions(Path(sys.argv[1])):
    print(logical, binary, "static" if non_pie(binary) else "pie")
PY
while read -r logical binary model; do
  flags=""
  [ "$model" = static ] && flags="-C relocation-model=static"
  (cd "$root/infra" && SAM_CLI_TELEMETRY=0 RUSTFLAGS="$flags" \
    "$root/.venv-sam/bin/sam" build "$logical" --template-file .bench-template.yaml --build-dir "$out/build/$logical" </dev/null >&2)
  ln -s "$out/build/$logical/$logical/bootstrap" "$out/bin/$binary"
  echo "$binary ($model): $out/build/$logical/$logical/bootstrap"
done <"$out/functions"
