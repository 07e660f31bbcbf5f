# ecr-warden. The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
HOST      := $(shell rustc -vV | sed -n "s/^host: //p")
STAMP     := $(VENV)/.installed
FUNCTIONS := $(notdir $(wildcard functions/*))
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup build test lint demo bench clean

help:
	@echo "make demo   - run ecr-warden against the local AWS emulator"
	@echo "make test   - unit + emulator integration tests"
	@echo "make lint   - rustfmt --check and clippy -D warnings"
	@echo "make build  - release Lambda binaries (arm64) with cargo-lambda"
	@echo "make bench  - janitor's planner at scale; each function's cold start, RSS and zip"
	@echo "make setup  - Python venv with pinned moto, cargo-lambda and zig"

# The venv holds the emulator (pinned moto) and the build tools that come from PyPI.
$(STAMP): tests/emulator/requirements.txt infra/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r tests/emulator/requirements.txt -r infra/requirements.txt
	touch $@

setup: $(STAMP)

build: $(STAMP)
	@command -v rustup >/dev/null && rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
	@# One function per build: cargo unifies the features of the packages it builds together,
	@# and each function enables only its own SDK crates (shared/aws/Cargo.toml, [features]).
	for f in $(FUNCTIONS); do cargo lambda build --release --arm64 -p $$f || exit 1; done

test: $(STAMP)
	tests/emulator/with-emulator.sh cargo test --workspace --all-targets --no-fail-fast

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

demo: $(STAMP)
	tests/emulator/with-emulator.sh tests/demo.sh

# Speed and memory (results and how they were measured: docs/benchmarks.md): janitor's planner at
# registry scale, then each function's cold start, peak RSS and zip against a Python + boto3 twin.
bench: $(STAMP)
	cargo run --quiet --release -p warden-core --example bench_janitor_plan -- 10000
	cargo run --quiet --release -p warden-core --example bench_janitor_plan -- 100000
	cargo run --quiet --release -p warden-core --example bench_policy_load -- infra/policy.yaml
	@# Non-PIE (static relocation model): no start-up relocation of ~34,000 pointers, fewer pages
	@# touched. With --target, RUSTFLAGS reaches only the binaries, not build scripts or proc macros.
	for f in $(FUNCTIONS); do RUSTFLAGS="-C relocation-model=static" cargo build --quiet --release --target $(HOST) -p $$f || exit 1; done
	$(PY) tests/bench/cold_start.py 20 "$$(cargo metadata --format-version 1 --no-deps | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/$(HOST)/release"

clean:
	cargo clean
	rm -rf $(VENV)
