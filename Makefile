# The README's commands. Each target creates or refreshes .venv itself when needed.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_SAMPLE := ../shared/data/tickets.csv
PORT ?= 3000

# Offline machines: use the shared real sample and the packaged embedding model.
ifneq ($(wildcard $(SHARED_SAMPLE)),)
export SMART_SUPPORT_DATA ?= $(SHARED_SAMPLE)
export HF_HUB_OFFLINE ?= 1
endif
export BENTOML_DO_NOT_TRACK := true
export TOKENIZERS_PARALLELISM := false
export PATH := $(BIN):$(PATH)

.PHONY: run setup repro serve bento test lint format bench loadtest fuzz clean

## run: set up, reproduce the pipeline (dvc exp run), then serve the champion on :$(PORT)
run: repro serve

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## repro: recompose params.yaml from conf/ and run every stale DVC stage
repro: setup
	dvc exp run

serve: setup
	bentoml serve bentos.service:SmartSupport --host 127.0.0.1 --port $(PORT)

## test: lint, format check, type check of the library and the whole test suite
test: setup
	ruff check .
	ruff format --check .
	mypy src
	python -m pytest

format: setup
	ruff format .
	ruff check --fix .

## bench: latency/throughput in-process and over HTTP -> benchmarks/results, docs/performance.md
bench: setup
	python -m benchmarks.run

## loadtest: 60 s of mixed traffic plus an outage flood against bentoml serve (pass/fail)
loadtest: setup
	python -m benchmarks.loadtest --duration 60

## fuzz: schemathesis against the OpenAPI document, 200 examples per operation
fuzz: setup
	python -m benchmarks.fuzz --examples 200

clean:
	rm -rf data models reports mlflow.db optuna.db state
