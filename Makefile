# The two commands of the README are `make run` and `make test`; every other
# target is a piece of `make test` (CI runs `.ci/run`, which runs `make test`).
SHELL := /bin/bash
CARGO ?= cargo
# libpq tries GSSAPI encryption first unless told not to, which loads
# Kerberos; its library destructor aborts a process that exits while another
# thread is inside libpq (a SIGABRT "k5_mutex_lock" after a passing test).
# Nothing here uses Kerberos: every process the targets start connects
# without it.
export PGGSSENCMODE ?= disable

.PHONY: run fleet bench-scaleout test services tools fmt-check clippy build openapi openapi-check \
        migrations-lint migrations-roundtrip test-rust newman schemathesis browser lint bench spec-lint admin

## The whole stack with demo data on 127.0.0.1:8080 (api) and :8081 (renderer).
run:
	scripts/run.sh

## The stack scaled out: 2 api and 3 renderer nodes behind HAProxy.
fleet:
	scripts/fleet.sh

## Everything CI checks.
test: services tools fmt-check clippy build openapi-check admin spec-lint migrations-lint migrations-roundtrip test-rust newman schemathesis browser
	@echo "make test: all checks passed"

services:
	@source scripts/lib.sh && ensure_postgres && ensure_redis

tools:
	@source scripts/lib.sh && ensure_build_tools && ensure_fleet_tools && ensure_node_tools && ensure_python_tools

## The editors' admin (api/admin): type-checked against the spec, built by Vite.
admin:
	@source scripts/lib.sh && ensure_admin_build

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

lint: fmt-check clippy migrations-lint

build:
	$(CARGO) build --workspace --bins

## Regenerate openapi/openapi.json from the code.
openapi: build
	./target/debug/api openapi > openapi/openapi.json

openapi-check: build
	@./target/debug/api openapi | diff -u openapi/openapi.json - \
	  || { echo "openapi/openapi.json is stale: run 'make openapi' and commit it"; exit 1; }

## The committed spec validates as OpenAPI 3.1 (Redocly CLI, pinned).
spec-lint:
	scripts/spec-lint.sh openapi/openapi.json

migrations-lint:
	scripts/migrations.sh lint

migrations-roundtrip: build
	scripts/migrations.sh roundtrip

test-rust:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

newman: build
	scripts/newman.sh

## Schemathesis over every operation of the spec: no input answers 5xx.
schemathesis: build
	scripts/schemathesis.sh

## Headless Chromium against the demo landing (tests/browser).
browser: build
	scripts/browser.sh

## Benchmarks (release build); results and commands in BENCHMARKS.md.
bench:
	scripts/bench.sh

## Read replicas and the fleet: delivery misses with 0, 1, 2 replicas, a
## replica killed mid-run, renderers through HAProxy against one directly.
bench-scaleout:
	scripts/bench_scaleout.sh
