# newsflow — the two commands a newcomer needs:
#   make demo   start Kafka, Elasticsearch and the four services, crawl the sample site, show what was indexed
#   make test   run the whole test suite (starts and stops what it needs)
# Everything they need is set up on first use: virtualenv, Python packages, Debian packages,
# Kafka and Elasticsearch from Maven Central. Every step is idempotent.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help setup stack-up stack-down stack-status demo down test test-fast eval bench bench-e2e chaos schemas lint-deploy clean

help:
	@echo "make demo     run the pipeline on the bundled sample site (leaves it running; 'make down' stops it)"
	@echo "make test     run every test, against a real Kafka and Elasticsearch"
	@echo "make eval     score the parser and enrichment against the annotated corpus"
	@echo "make bench    run the benchmarks (throughput, memory)"
	@echo "make bench-e2e  the end-to-end benchmark (backlog drain, freshness, CPU and memory per process)"
	@echo "make chaos    2,000 articles through the pipeline on three Kafka brokers under 20 random faults; 0 lost, 0 duplicated"
	@echo "make down     stop the demo's services, Kafka and Elasticsearch"

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"' || { echo "error: need Python 3.11+ as $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml requirements.lock | $(PY)
	bash deploy/local/system-packages.sh
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	$(PY) -m devtools.devstack fetch

stack-up: setup
	$(PY) -m devtools.devstack start

stack-down:
	@[ -x $(PY) ] && $(PY) -m devtools.devstack stop || true

stack-status:
	$(PY) -m devtools.devstack status

demo: setup
	$(PY) -m devtools.demo

down:
	@[ -x $(PY) ] && $(PY) -m devtools.demo --down || true

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not stack"

eval: setup
	$(PY) -m bench.eval

bench: setup
	$(PY) -m bench

# The whole pipeline, raw page in → searchable: backlog drain, freshness at a paced rate,
# CPU and memory per process. ARGS="--pages 500 --instances 2" to change it.
bench-e2e: setup
	$(PY) -m bench.bench_e2e $(ARGS)

# The pipeline under faults (kill -9 of services and workers, Elasticsearch down for 60 s, a broker
# killed, second instances, a rollover) on its own three-broker stack; exits 1 on any loss or
# duplicate. ARGS="--articles 300 --faults 8 --seed 7 --brokers 1" for a smaller run.
chaos: setup
	$(PY) -m bench.chaos $(ARGS)

schemas: setup
	$(PY) -m schemas.export

clean: down
	rm -rf $(VENV) .stack .run
