# otpgate — `make run` serves a working instance; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Installs come from the hash-checked lock (requirements/, written by `make lock`).
LOCK   := requirements/dev.txt
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha1sum | cut -c1-12)
UV_VERSION ?= 0.13.9
COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--no-header --system-certs pyproject.toml requirements/build.in

.PHONY: run test lint lock readme-deps unit integration e2e contract bench bench-deps browser-deps redis-deps clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Re-resolve every dependency after editing pyproject.toml (or to take newer releases):
# writes requirements/runtime.txt and requirements/dev.txt, pinned, with hashes.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(COMPILE) --upgrade -o requirements/runtime.txt
	$(COMPILE) --extra dev --constraint requirements/runtime.txt -o requirements/dev.txt

run: $(STAMP)
	$(BIN)/otpgate init --host $(HOST) --port $(PORT)
	OTPGATE_PRODUCTION_OUTBOX=$${OTPGATE_PRODUCTION_OUTBOX:-true} $(BIN)/otpgate serve --host $(HOST) --port $(PORT)

browser-deps:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  { echo "installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "could not install chromium: browser tests will skip (fail under CI=true)"; }

# The Redis-outage test starts and kills a redis-server of its own.
redis-deps:
	@command -v redis-server >/dev/null 2>&1 || \
	  { echo "installing Debian's redis-server for the Redis outage test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
	    || echo "could not install redis-server: the outage test will skip (fail under CI=true)"; }

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The README test (tests/e2e/test_readme.py) runs its examples, which use curl and jq.
readme-deps:
	@command -v curl >/dev/null 2>&1 && command -v jq >/dev/null 2>&1 || \
	  { echo "installing Debian's curl and jq for the README test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl jq >/dev/null) \
	    || echo "could not install curl/jq: the README test will skip (fail under CI=true)"; }

test: $(STAMP) browser-deps redis-deps readme-deps lint
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP) browser-deps readme-deps
	$(BIN)/pytest tests/e2e

# One store/limiter contract over memory, SQLite, PostgreSQL and Redis.
contract: $(STAMP)
	$(BIN)/pytest tests/contract

bench-deps:
	@command -v wrk >/dev/null 2>&1 || \
	  { echo "installing Debian's wrk (the load generator make bench drives)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

# One run: the two floors and otpgate, 10 s per flow at 32 and 128 connections, then the
# 1,000 vs 1,000,000 stored sessions check; writes docs/benchmarks.md. BENCH_ARGS=--help.
bench: $(STAMP) bench-deps
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
