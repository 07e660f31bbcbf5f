#!/usr/bin/env bash
# The functions as `sam build` builds the deployed ones — infra/template.yaml, each function in its
# own package's folder (CodeUri), release profile, non-PIE — with one change: the architecture is
# this machine's (x86_64), so that tests/bench/cold_start.py can run them. The deployed arm64
# bootstraps get the same relocation model from .cargo/config.toml; here RUSTFLAGS carries it (with
# the --target cargo-lambda passes, it reaches only the binaries, not build scripts or proc macros).
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
# cargo-lambda and zig come from the project's venv (make setup).
export PATH="$root/.venv/bin:$PATH"
(cd "$root/infra" && SAM_CLI_TELEMETRY=0 RUSTFLAGS="-C relocation-model=static" \
  "$root/.venv-sam/bin/sam" build --template-file .bench-template.yaml --build-dir "$out/build" >&2)
mkdir -p "$out/bin"
PYTHONPATH="$root/tests/infra" "$root/.venv-sam/bin/python" - "$root/infra/template.yaml" "$out" <<'PY'
import sys
from pathlib import Path
from features import sam_functions
out = Path(sys.argv[2])
for logical, binary, _ in sam_functions(Path(sys.argv[1])):
    (out / "bin" / binary).symlink_to(out / "build" / logical / "bootstrap")
    print(f"{binary}: {out / 'build' / logical / 'bootstrap'}")
PY
