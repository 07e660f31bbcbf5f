# ecr-warden. The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
# The deploy and template-check tools, each in a venv of its own (infra/requirements-*.txt).
SAM_STAMP     := .venv-sam/.installed
CHECKOV_STAMP := .venv-checkov/.installed
# The CDK app's npm packages (versions locked in infra/cdk/package-lock.json).
CDK_STAMP     := infra/cdk/node_modules/.installed
# cargo-fuzz, in a tools folder of the project's own (the fuzz targets need the nightly toolchain).
FUZZ_STAMP    := .cargo-tools/bin/cargo-fuzz
FUZZ_RUNS     ?= 10000000
FUZZ_SECONDS  ?= 3600
# Where the integration tests record each function's AWS operations, for the IAM check.
CALL_LOG  := $(CURDIR)/target/iam-calls
FUNCTIONS := $(notdir $(wildcard functions/*))
# The deployed arm64 bootstraps of the event functions are non-PIE, like the ones `make bench`
# measures (docs/benchmarks.md): each such function's folder says so in its .cargo/config.toml, read
# by the builds that run there (`sam build`, `make build`); the CDK construct passes the same flag.
# Where cargo puts what it builds (CARGO_TARGET_DIR and build.target-dir included).
TARGET_DIR = $(shell cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/.cargo-tools/bin:$(PATH)

.PHONY: help setup debian-packages build test test-fast check lint demo bench fuzz deploy sam-build synth infra-build clean

help:
	@echo "make demo   - run ecr-warden against the local AWS emulator"
	@echo "make test   - unit + emulator integration tests"
	@echo "make test-fast - unit tests and the core's property tests: no emulator, no set-up"
	@echo "make check  - lint, then test-fast (before a commit)"
	@echo "make lint   - rustfmt --check, clippy -D warnings, no import cycle between a crate's modules"
	@echo "make build  - release Lambda binaries (arm64) with cargo-lambda"
	@echo "make bench  - janitor's planner at scale; each function's cold start, RSS, zip and start-up instructions"
	@echo "make fuzz   - every fuzz target to FUZZ_RUNS executions (10 M; cargo-fuzz, nightly)"
	@echo "make setup  - Python venvs: pinned moto, cargo-lambda and zig; aws-sam-cli + cfn-lint; checkov"
	@echo "make deploy - sam build && sam deploy (guided the first time; docs/deploy.md)"
	@echo "make synth  - the CDK app synthesized, functions bundled with cargo-lambda (infra/cdk/cdk.out)"

# The venv holds the emulator (pinned moto) and the build tools that come from PyPI.
$(STAMP): tests/emulator/requirements.txt infra/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r tests/emulator/requirements.txt -r infra/requirements.txt
	touch $@

$(SAM_STAMP): infra/requirements-sam.txt
	python3 -m venv .venv-sam
	.venv-sam/bin/python -m pip install --quiet --upgrade pip
	.venv-sam/bin/python -m pip install --quiet -r infra/requirements-sam.txt
	touch $@

$(CHECKOV_STAMP): infra/requirements-checkov.txt
	python3 -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --upgrade pip
	.venv-checkov/bin/python -m pip install --quiet -r infra/requirements-checkov.txt
	touch $@

$(CDK_STAMP): infra/cdk/package-lock.json
	cd infra/cdk && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(FUZZ_STAMP):
	cargo install --quiet --locked --root .cargo-tools cargo-fuzz --version 0.13.2

# docker-registry and skopeo (tests/tests/registry_copy.rs): apt-get as root or through sudo, else
# the exact command to run.
debian-packages:
	@tests/setup/debian-packages.sh

setup: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) $(CDK_STAMP) $(FUZZ_STAMP) debian-packages

build: $(STAMP)
	@command -v rustup >/dev/null && rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
	@# One function per build: cargo unifies the features of the packages it builds together,
	@# and each function enables only its own SDK crates (shared/aws/Cargo.toml, [features]).
	@# Each from its own folder, whose .cargo/config.toml (if any) sets its relocation model.
	for f in $(FUNCTIONS); do (cd functions/$$f && cargo lambda build --release --arm64) || exit 1; done

# The integration tests record every function's AWS operations (the tests' `call-log` feature);
# infra/check.sh then lints the SAM template and compares each role with those operations.
# infra/check.sh also runs the CDK app's assertion tests and compares its template with SAM's.
# Then every fuzz target for 10 seconds from its seeds and regressions, built unoptimised for a
# quick build (a parser regression fails here; `make fuzz` is the long, optimised run).
test: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) $(CDK_STAMP) $(FUZZ_STAMP) debian-packages
	rm -rf $(CALL_LOG)
	@# The organization-scale simulation (tests/tests/fanout/simulation.rs) at 50 repositories per
	@# account-region here (12 lanes, 8 at a time: every path of the 3 x 2 x 300 run that
	@# `make bench` measures, a sixth of the seeding).
	WARDEN_CALL_LOG=$(CALL_LOG) WARDEN_SIM_REPOSITORIES=50 tests/emulator/with-emulator.sh cargo test --workspace --all-targets --no-fail-fast
	@# Where AWS's words fit more than one behaviour, the emulator offers each reading behind a
	@# switch (docs/emulator.md, "Readings"): the integration test targets (those that talk to it)
	@# run again under every further reading set, each on a fresh emulator, the simulation at 10
	@# repositories per account-region. `--workspace` as above: cargo unifies features over the
	@# packages selected, so the same selection reuses the build instead of compiling another.
	WARDEN_SIM_REPOSITORIES=10 tests/emulator/every-reading.sh cargo test --workspace --test '*' --no-fail-fast
	infra/check.sh $(CALL_LOG)
	FUZZ_DEV=1 tests/fuzz/run.sh 10
	@# Bursts through the real binaries (debug here, built with the workspace's features as the
	@# tests are — `--all-targets` too, or cargo resolves features without the dev-dependencies
	@# and compiles the SDKs again; `make bench` times the release ones, each built alone).
	cargo build --quiet --workspace --all-targets
	tests/emulator/with-emulator.sh $(PY) tests/bench/burst.py "$(TARGET_DIR)/debug"

# Fuzzing, the long run (docs/benchmarks.md has the figures): each target until FUZZ_RUNS executions,
# at most FUZZ_SECONDS.
fuzz: $(FUZZ_STAMP)
	FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run.sh $(FUZZ_SECONDS)

# What needs no emulator and no set-up: every crate's unit tests (lib and bins) and the core's
# own test files (the ECR lifecycle reference model, janitor's properties).
test-fast:
	cargo test --quiet --workspace --lib --bins
	cargo test --quiet -p warden-core --tests

check: lint test-fast

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@# Each crate's modules import one way: a new import cycle between them fails here.
	python3 tests/lint/import_cycles.py shared/core/src shared/aws/src cli/src tests/src
	@# No production function over 60 lines; those over it when the rule came may only shrink.
	python3 tests/lint/function_length.py tests/lint/function_length_allowed.txt \
	  shared/core/src shared/aws/src cli/src $(wildcard functions/*/src)
	@# The fuzz targets are a workspace of their own (tests/fuzz).
	cargo fmt --manifest-path tests/fuzz/Cargo.toml -- --check
	cargo clippy --quiet --manifest-path tests/fuzz/Cargo.toml -- -D warnings

demo: $(STAMP)
	tests/emulator/with-emulator.sh tests/demo.sh

# Speed and memory (results and how they were measured: docs/benchmarks.md): janitor's planner at
# registry scale, then each function's cold start, peak RSS, zip and start-up instructions
# (callgrind) against a Python + boto3 twin, then the replicator copying a 1 GiB layer (time, peak
# RSS) through both data paths.
bench: $(STAMP) $(SAM_STAMP)
	cargo run --quiet --release -p warden-core --example bench_janitor_plan -- 10000
	cargo run --quiet --release -p warden-core --example bench_janitor_plan -- 100000
	cargo run --quiet --release -p warden-core --example bench_policy_load -- infra/policy.yaml
	@# Each function built by sam build from infra/template.yaml, as deployed (own package folder,
	@# release profile, non-PIE), the architecture switched to this machine's so that it can run.
	tests/bench/sam_build_host.sh target/bench-sam
	$(PY) tests/bench/cold_start.py 20 target/bench-sam/bin --write docs/benchmarks.md
	@# The replicator's copy at 1 GiB: the release binary through ECR's API (emulator), then both
	@# data paths side by side (needs the Debian packages docker-registry and skopeo).
	tests/emulator/with-emulator.sh $(PY) tests/bench/copy_rss.py 1024 target/bench-sam/bin/replicator
	tests/emulator/with-emulator.sh cargo run --quiet --release -p warden-tests --example bench_copy -- 1024
	@# Organization scale: 3 accounts x 2 regions x 300 repositories cleaned in lanes by the local
	@# driver (tests/tests/fanout/simulation.rs; `make test` runs it at 50 and 10 per account-region);
	@# figures in target/fanout-simulation.json.
	WARDEN_SIM_REPOSITORIES=300 tests/emulator/with-emulator.sh cargo test --quiet --release -p warden-tests --test fanout simulation -- --nocapture
	@# Bursts: 1,000 pushes and 2,000 Inspector messages through the release binaries built above.
	tests/emulator/with-emulator.sh $(PY) tests/bench/burst.py target/bench-sam/bin

# sam build runs cargo-lambda (arm64, release) for each function in its own package's folder (its
# CodeUri: cargo resolves that package alone, tests/infra/features.py checks the feature set) and
# puts the template and bootstraps in infra/.aws-sam/build.
sam-build: $(STAMP) $(SAM_STAMP)
	cd infra && SAM_CLI_TELEMETRY=0 ../.venv-sam/bin/sam build

# cdk synth bundles every function with the local cargo-lambda, selecting its package alone
# (`--package`: the same feature set as sam build's); with the fan-out engine (context fanOut), so
# that every function is built, fanout's too.
synth: $(STAMP) $(CDK_STAMP)
	cd infra/cdk && npx cdk synth --quiet -c fanOut=enabled

# Both deployments built for real, and their bootstraps checked (arm64 ELF, one per function):
# what CI runs after `make test` (see .ci/run).
infra-build: sam-build synth
	.venv-sam/bin/python tests/infra/artifacts.py

# First deploy: guided (asks for region and parameters, saves them in infra/samconfig.local.toml).
deploy: sam-build
	cd infra && if [ -f samconfig.local.toml ]; then ../.venv-sam/bin/sam deploy --config-file samconfig.local.toml; else ../.venv-sam/bin/sam deploy --guided --config-file samconfig.local.toml; fi

clean:
	cargo clean
	rm -rf $(VENV) .venv-sam .venv-checkov .cargo-tools tests/fuzz/target infra/.aws-sam infra/cdk/node_modules infra/cdk/cdk.out
