# otpgate — `make run` serves a working instance; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test lint unit integration e2e contract bench bench-deps browser-deps redis-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/otpgate init --host $(HOST) --port $(PORT)
	$(BIN)/otpgate serve --host $(HOST) --port $(PORT)

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

test: $(STAMP) browser-deps redis-deps lint
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP) browser-deps
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
