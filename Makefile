# Sohoa — every routine action is a target. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install npm run demo stop services-up services-down status worker serve test test-fast test-unit system-deps \
	test-integration check lint format typecheck schemas bench clean

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Sohoa needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies

# The web page's viewer (OpenSeadragon), pinned in package.json/package-lock.json, installed into
# node_modules/ (ignored, never committed) and served by `sohoa serve`; no CDN.
NODE_STAMP := node_modules/.sohoa-installed
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  echo "npm ci (OpenSeadragon, the web page's viewer)"; \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm is missing, so the web page shows still images without its deep-zoom viewer:" \
	  "run 'make system-deps' as root (or apt-get install npm)"; fi

npm: $(NODE_STAMP) ## Install the web page's viewer (OpenSeadragon) from npm into node_modules/

run: $(STAMP) $(NODE_STAMP) ## Start the services and a worker, process the sample collection, serve the web page
	$(BIN)/sohoa demo --serve

demo: run

stop: $(STAMP) ## Stop what `make run` started (worker, SeaweedFS, Redis if ours), by PID
	$(BIN)/sohoa services down

services-up: $(STAMP) ## Start the embedded Redis (if none answers) and SeaweedFS, create buckets
	$(BIN)/sohoa services up

services-down: stop ## Same as `make stop`

status: $(STAMP) ## Show the embedded services and workers
	$(BIN)/sohoa services status

worker: $(STAMP) ## Run a worker in the foreground (Ctrl-C to stop)
	$(BIN)/sohoa worker

serve: $(STAMP) $(NODE_STAMP) ## Serve the web page, the read-only API and OAI-PMH on 127.0.0.1:8000 (Ctrl-C to stop)
	$(BIN)/sohoa serve

# Debian tools the tests compare against: ExifTool (the metadata reference), libmagic (used by
# the IIIF validator), Chromium (the web page's browser tests, driven by Playwright with no
# browser download) and npm (installs the viewer). Installed when missing and we are root.
SYSTEM_TOOLS := exiftool:libimage-exiftool-perl chromium:chromium npm:npm
system-deps: ## Install the Debian tools some tests need, when missing (needs root)
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	test -e /usr/lib/x86_64-linux-gnu/libmagic.so.1 -o -e /usr/lib/aarch64-linux-gnu/libmagic.so.1 \
	  || missing="$$missing libmagic1"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "missing:$$missing -- run: sudo apt-get install$$missing (tests needing them skip)"; fi

# The suite runs on 4 pytest-xdist processes: on 2 cores the extra ones overlap the tests' waits
# for workers, S3 and Redis (the suite spends about two thirds of its time waiting; 392 s with 4
# against 428-478 s with 3, same machine and day). Each has its own SeaweedFS and queue prefix; a module whose fixture is
# built once for the module runs whole on one of them (tests/conftest.py). XDIST= runs serially.
XDIST ?= -n 4 --dist loadgroup

test: $(STAMP) system-deps $(NODE_STAMP) ## Run the whole suite (unit + integration; starts its own SeaweedFS)
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: $(STAMP) ## Unit + in-process integration tests, no worker processes (the edit loop)
	$(BIN)/python -m pytest $(XDIST) -m "not process and not slow" $(PYTEST_ARGS)

.PHONY: test-cluster
test-cluster: $(STAMP) system-deps $(NODE_STAMP) ## The integration tests with storage on a SeaweedFS cluster (replication 001), not weed mini
	TEST_STORAGE=cluster $(BIN)/python -m pytest $(XDIST) tests/integration $(PYTEST_ARGS)

test-unit: $(STAMP) ## Run the unit tests only (pure core, no services)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: $(STAMP) ## Run the integration tests (real Redis, SeaweedFS, workers)
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

bench: $(STAMP) ## Per-scan cost on fixed 24/100 MP scans beside libvips (figures, not a test)
	$(BIN)/python -m tests.bench.scan_bench
	$(BIN)/python -m tests.bench.chart_bench

# E2E_ARGS, e.g. E2E_ARGS="--mode both --repeat 3" or "--kind jpeg"; see --help.
E2E_ARGS ?=
.PHONY: bench-e2e
bench-e2e: $(STAMP) ## Scans/hour through real workers and a private SeaweedFS, upload included (figures)
	$(BIN)/python -m tests.bench.e2e_bench $(E2E_ARGS)

# Issue #14's end-to-end targets, on the realistic Adobe RGB capture: scans/h with SeaweedFS on
# the same two cores, then a worker pinned alone to one core (its CPU-s per scan).
.PHONY: bench-e2e-adobe
bench-e2e-adobe: $(STAMP) ## bench-e2e on the Adobe RGB capture: --mode 2x1, then --mode pinned (figures)
	$(BIN)/python -m tests.bench.e2e_bench --kind adobe --mode 2x1 --out var/bench/e2e-adobe-2x1.json $(E2E_ARGS)
	$(BIN)/python -m tests.bench.e2e_bench --kind adobe --mode pinned --out var/bench/e2e-adobe-pinned.json $(E2E_ARGS)

.PHONY: bench-search relevance
bench-search: $(STAMP) ## Search over 10,000 generated records: API and page p50/p95, `sohoa search` (figures)
	$(BIN)/python -m tests.bench.search_bench

relevance: $(STAMP) ## Precision at 3 of the search's relevance set, by kind of query (make test checks each)
	$(BIN)/python -m tests.relevance.report

check: lint typecheck ## Lint, format check and type check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Reformat the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy pipeline workers config schemas

.PHONY: reliability-doc
reliability-doc: $(STAMP) ## Regenerate docs/RELIABILITY.md from the fault tests' Fault:/Outcome: lines
	$(BIN)/python -m tests.tools.reliability_doc

schemas: $(STAMP) ## Regenerate schemas/record.schema.json and scan.schema.json from the models
	$(BIN)/python -c 'import json; from pipeline.core.records import json_schemas; \
	[open(f"schemas/{n}.schema.json", "w").write(json.dumps(s, ensure_ascii=False, indent=2) + "\n") \
	 for n, s in json_schemas().items()]'

clean: ## Stop services and delete var/ (the embedded bucket data too) and .venv
	-test -x $(BIN)/sohoa && $(BIN)/sohoa services down
	rm -rf var $(VENV)
