# LogMonitor: `make run` starts the monitor, `make test` runs every check.
# Both create .venv on first use; a stamp file makes later runs skip the install.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STATE  := .logmonitor

.DEFAULT_GOAL := help
.PHONY: help run test lint format typecheck pytest bench clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python pyproject.toml requirements.txt
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(VENV)/.runtime ## watch /var/log (or the directories in ./logmonitor.toml), state in ./.logmonitor/
	@mkdir -p $(STATE)
	@if [ -f logmonitor.toml ]; then \
		exec $(BIN)/logmonitor watch --config logmonitor.toml --state $(STATE)/state.db; \
	else \
		exec $(BIN)/logmonitor watch /var/log --state $(STATE)/state.db; \
	fi

test: lint typecheck pytest ## ruff, mypy and pytest

lint: $(VENV)/.dev ## ruff lint and format check
	$(BIN)/ruff check src tests bench log_monitor.py
	$(BIN)/ruff format --check src tests bench log_monitor.py

format: $(VENV)/.dev ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench log_monitor.py
	$(BIN)/ruff format src tests bench log_monitor.py

typecheck: $(VENV)/.dev ## mypy --strict on src/
	$(BIN)/mypy

pytest: $(VENV)/.dev ## the test suite
	$(BIN)/pytest

bench: $(VENV)/.dev ## benchmarks beside their peers; tables on stdout, JSON in bench/results/
	$(BIN)/python -m bench

clean: ## remove the virtualenv, caches and local state
	rm -rf $(VENV) $(STATE) .mypy_cache .ruff_cache .pytest_cache .hypothesis bench/results/*.json
