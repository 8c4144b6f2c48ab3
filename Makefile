# Every target creates/reuses the local virtual environment and installs what it needs itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUM    := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# `make serve` installs only what serving needs; the other targets the whole development set.
SERVE_STAMP := $(VENV)/.installed-serve-$(SUM)
DEV_STAMP   := $(VENV)/.installed-dev-$(SUM)
HOST   ?= 127.0.0.1
PORT   ?= 8761

.PHONY: serve test bench bench-fleet soak lint docs venv js-deps browser-deps net-deps screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SERVE_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[server]'
	rm -f $(VENV)/.installed-serve-*
	touch $(SERVE_STAMP)

$(DEV_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[server,fastapi,dev]'
	rm -f $(VENV)/.installed-*
	touch $(DEV_STAMP) $(SERVE_STAMP)

venv: $(DEV_STAMP)

# eureka-js-client, used by the third-party-client integration tests.
js-deps:
	@if command -v npm >/dev/null 2>&1; then \
		cd tests/integration/js && npm install --no-audit --no-fund --silent >/dev/null; \
	else echo "npm not found: the eureka-js-client tests will be skipped"; fi

# Debian's chromium and chromium-driver, for the dashboard's headless browser tests.
APT := DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=300
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			{ $(APT) update && $(APT) install -y chromium chromium-driver >/dev/null; } || \
			echo "chromium could not be installed: the browser tests will be skipped"; \
		else echo "chromium/chromedriver missing (needs root and apt-get): the browser tests will be skipped"; fi; \
	fi

# iproute2's `ip`, for the partition test's network namespaces (tests/faults/netns.py).
net-deps:
	@if ! command -v ip >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			{ $(APT) update && $(APT) install -y iproute2 >/dev/null; } || \
			echo "iproute2 could not be installed: the partition test will be skipped"; \
		else echo "ip (iproute2) missing: the partition test will be skipped"; fi; \
	fi

serve: $(SERVE_STAMP)
	$(BIN)/eureka server --host $(HOST) --port $(PORT)

# The suite starts real server processes with sub-second timers: two suites sharing one machine's
# cores make each other flaky, so concurrent runs on one machine (several checkouts) take turns.
TEST_LOCK ?= /tmp/eureka-py-test.lock

test: $(DEV_STAMP) js-deps browser-deps net-deps
	flock $(TEST_LOCK) $(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

# The fleet simulation's search for the largest fleet one core carries (minutes; `make bench`
# runs it once, short). BENCH_FLEET_LADDER=100000,400000 picks the sizes tried.
bench-fleet: $(DEV_STAMP)
	BENCH_FLEET=search $(BIN)/python -m bench fleet

# The soak (issue 10): 10,000 instances, 100 delta clients and churn for SOAK_MINUTES (10)
# minutes; prints a row a minute and PASS/FAIL (exit 1) on evictions, losses, errors, RSS drift.
SOAK_MINUTES ?= 10
soak: $(DEV_STAMP)
	$(BIN)/python -m bench.soak $(SOAK_MINUTES)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

# Regenerate the reference pages that are built from the code (tests fail when they are stale).
# Refresh the committed dashboard screenshots (docs/screenshots/) from the browser tests.
screenshots: $(DEV_STAMP) browser-deps
	EUREKA_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest tests/browser -q

docs: $(DEV_STAMP)
	$(BIN)/python -m tools.gen_reference

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
