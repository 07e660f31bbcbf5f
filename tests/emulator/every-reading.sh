#!/usr/bin/env bash
# Run a command once per further reading set of the emulator (docs/emulator.md, "Every reading"):
# where AWS's words fit more than one behaviour, the emulator offers each reading behind a switch,
# and set N picks each switch's N-th reading (its last where it has fewer). Set 0, the documented
# or literal readings, is the plain `with-emulator.sh` run; sets 1 .. n-1 are run here, each on a
# fresh emulator, so that every reading of every switch is tried.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=${WARDEN_PYTHON:-$here/../../.venv/bin/python}
sets=$(cd "$here" && "$py" -c 'from warden_emulator.readings import reading_sets; print(reading_sets())')
for n in $(seq 1 $((sets - 1))); do
  echo "== reading set $n of $((sets - 1)): $(cd "$here" && WARDEN_READING_SET=$n "$py" -c 'from warden_emulator.readings import describe_set; print(describe_set())')" >&2
  WARDEN_READING_SET=$n "$here/with-emulator.sh" "$@"
done
