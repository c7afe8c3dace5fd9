# The one task runner for people, hooks and CI. Everything runs on this machine:
# Kafka from Maven Central jars, FerretDB built from the Go module proxy (deploy/local).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup infra-setup infra-up infra-down up down demo test test-unit lint format docs bench chaos clean eval-duplicates

setup: $(STAMP) infra-setup

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "python3 not found: install Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

infra-setup:
	bash deploy/local/infra.sh setup

infra-up: setup
	bash deploy/local/infra.sh start

infra-down:
	bash deploy/local/infra.sh stop

## Start the local stack (infrastructure and the four services) in the background.
up: infra-up
	$(PY) -m devtools.stack up

## Stop what `make up` started.
down:
	-@[ -x $(PY) ] && $(PY) -m devtools.stack down
	bash deploy/local/infra.sh stop

## Set up, run the whole pipeline locally on sample complaints, and report.
demo: setup
	bash scripts/demo.sh

## Set up and run every test against the real broker and database.
test: setup
	bash scripts/test.sh

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy services shared devtools tests

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Precision and recall of the duplicate detector on the labelled pairs in tests/data.
eval-duplicates: $(STAMP)
	$(PY) -m devtools.eval_duplicates

## Regenerate the AsyncAPI document of the event contract (docs/asyncapi.json).
docs: $(STAMP)
	$(PY) -m devtools.asyncapi > docs/asyncapi.json

clean:
	rm -rf .local

## Kill things while traffic flows, then check nothing was lost or doubled.
chaos: setup
	$(PY) -m devtools.chaos --complaints $${CHAOS_COMPLAINTS:-20000}

## Throughput, latency, CPU and database commands per complaint against a fair baseline.
# make bench BENCH_ARGS="--rates 25 50 --seconds 10": options of devtools/bench/run.py.
bench: setup
	$(PY) -m devtools.bench.run $(BENCH_ARGS)
