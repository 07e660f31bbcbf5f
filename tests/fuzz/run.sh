#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (cargo-fuzz, libFuzzer, nightly), each from a corpus kept in
# target/fuzz-corpus/<target> and seeded from events/ (payloads, malformed ones included), the
# example policy and the warden messages in events/. Prints one line per target: executions, speed,
# corpus size; exits non-zero on the first crash (libFuzzer saves the input under
# tests/fuzz/artifacts/<target>/: make it a regression fixture in events/ or a unit test).
#
# usage: tests/fuzz/run.sh SECONDS [TARGET...]   (make fuzz, make fuzz-smoke)
# With FUZZ_RUNS=N each target stops after N executions (SECONDS is then the cap). With FUZZ_DEV=1 the
# targets are built unoptimised (cargo fuzz --dev): a quicker build for `make test`'s short smoke
# run (seeds and regressions still run, at fewer executions a second); `make fuzz` builds them
# optimised (the default: release, debug assertions on).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:?usage: run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(event policy slack janitor_plan)
# No sanitizer: the product forbids `unsafe` (workspace lints), so AddressSanitizer would mostly slow
# the search down (3-5x); debug assertions stay on, so an integer overflow is a crash.
fuzz() { local command=$1; shift; cargo +nightly fuzz "$command" --fuzz-dir tests/fuzz --sanitizer none ${FUZZ_DEV:+--dev} "$@"; }
cargo +nightly --version >/dev/null 2>&1 || { echo "fuzzing needs the nightly toolchain (rustup toolchain install nightly)" >&2; exit 1; }
# A build that runs out of disk or memory fails inside rustc or LLVM (exit 101) without saying so.
fuzz build >/dev/null || { status=$?; echo "fuzz build failed (exit $status); disk and memory now:" >&2; df -h . >&2; free -m >&2; exit "$status"; }
corpus=target/fuzz-corpus
mkdir -p "$corpus"/{event,policy,slack,janitor_plan}
cp events/*.json events/malformed/*.json "$corpus/event/"
cp infra/policy.yaml "$corpus/policy/"
# Inputs that once crashed a target, kept as regressions (each also has a unit test).
for t in event policy slack janitor_plan; do
  [ -d "tests/fuzz/regressions/$t" ] && cp tests/fuzz/regressions/$t/* "$corpus/$t/"
done
python3 - "$corpus/slack" <<'PY'
import glob, json, os, sys
# Every warden message the fixtures carry (SNS deliveries), one seed file each.
for path in glob.glob("events/*.json"):
    try:
        records = json.load(open(path)).get("Records", [])
    except (ValueError, AttributeError):
        continue
    for i, record in enumerate(records):
        message = record.get("Sns", {}).get("Message")
        if message:
            name = f"{os.path.basename(path)}.{i}"
            open(os.path.join(sys.argv[1], name), "w").write(message)
PY
printf '| target | seconds | executions | per second | corpus |\n|---|---:|---:|---:|---:|\n'
for t in "${targets[@]}"; do
  log=$(mktemp)
  started=$SECONDS
  if ! fuzz run "$t" "$corpus/$t" -- -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
      -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    if grep -q "Test unit written to" "$log"; then
      echo "fuzz target $t: a crash (input saved under tests/fuzz/artifacts/$t/)" >&2
    else
      echo "fuzz target $t: did not run (log above)" >&2
    fi
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(find "$corpus/$t" -type f | wc -l)
  took=$(( SECONDS - started > 0 ? SECONDS - started : 1 ))
  echo "| $t | $took | ${runs:-?} | $(( ${runs:-0} / took )) | $files |"
  rm -f "$log"
done
