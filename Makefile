# Two commands on a fresh machine:  make run   (the app on devhost)   and   make test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Written by npm ci: Azurite (package.json) for the Azure Storage store tests.
NODE   := node_modules/.package-lock.json

.PHONY: venv run test unit e2e browser package-check bench reliability soak lint clean

venv: $(STAMP) $(NODE)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NODE): package.json package-lock.json
	@# npm ci failing stops make: a broken install is an error, never a quiet skip. Without npm at all
	@# the Azurite tests skip on a developer machine and fail in CI (tests/conftest.py decides).
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund || { echo "npm ci failed (see above): fix it, or the Azure Storage tests cannot run."; exit 1; }; \
	else \
		echo "npm not found: the Azure Storage (Azurite) tests will skip here and fail in CI (install Node.js 18+)."; \
	fi

## The app on devhost, http://127.0.0.1:7071, state in .devhost/durable.db
run: $(STAMP)
	$(PY) -m devhost start

## Every test suite: unit (replay), devhost, end to end, browser
test: $(STAMP) $(NODE)
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest tests/unit

e2e: $(STAMP) $(NODE)
	$(PY) -m pytest tests/e2e

## The progress page in headless Chromium (apt-get install chromium); screenshots in test-artifacts/
browser: $(STAMP)
	$(PY) -m pytest tests/browser

## The deployment package as azd builds it (.funcignore), installed from requirements.txt alone into a
## clean venv and indexed; the config schemas, infra/ and requests.http checks too
package-check: $(STAMP)
	$(PY) -m pytest tests/deploy

## Benchmarks: devhost in its own process, driven over loopback; prints JSON lines and tables, then every
## figure with its target and anchor (durabletask-python, for comparison, goes into .bench-cache/)
bench: $(STAMP) $(NODE)
	$(PY) -m bench --stores sqlite,azure

## Long reliability runs: 200 SIGKILLs of the host under a mixed workload (SQLite, then Azurite), 60 s
## of 32 concurrent clients, 20 s storage outages (Azurite stopped, SQLite's disk full), 100 SIGKILLs of
## worker processes, a 30-minute soak; each prints a summary (lost, doubled and errors must be 0).
## SEED=n repeats a run.
reliability: $(STAMP) $(NODE)
	$(PY) -m tests.reliability.crash --kills 200 $(if $(SEED),--seed $(SEED))
	$(PY) -m tests.reliability.crash --store azure --kills 200 $(if $(SEED),--seed $(SEED))
	$(PY) -m tests.reliability.load --seconds 60 --clients 32 $(if $(SEED),--seed $(SEED))
	$(PY) -m tests.reliability.outage --store azure --outage 20 $(if $(SEED),--seed $(SEED))
	$(PY) -m tests.reliability.outage --store sqlite --outage 20 $(if $(SEED),--seed $(SEED))
	$(PY) -m tests.reliability.worker_kill --kills 100 $(if $(SEED),--seed $(SEED))
	$(PY) -m tests.reliability.soak --minutes 30 $(if $(SEED),--seed $(SEED))

## 30 minutes of the mixed workload with purges; memory and descriptors of devhost and its workers
## sampled, growth after the warm-up bounded (MINUTES=n for another length)
soak: $(STAMP)
	$(PY) -m tests.reliability.soak --minutes $(or $(MINUTES),30) $(if $(SEED),--seed $(SEED))

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy function_app.py orchestrators activities clients devhost
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .devhost
