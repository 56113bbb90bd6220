# LogMonitor: `make run` starts the monitor, `make test` runs every check.
# Both create .venv on first use; a stamp file makes later runs skip the install.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STATE  := .logmonitor

.DEFAULT_GOAL := help
.PHONY: help run test lint format typecheck pytest bench clean chromium

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

# The line parser's and the template miner's modules, compiled with mypyc when a C
# compiler and Python's headers are here (src/logmonitor/compiled.py; a test checks
# this list against its MODULES); else they run as Python. Built from a copy of the
# sources in $(MYPYC), never in src/, with a manifest of the sources it was made from:
# a build that no longer matches them is not used.
COMPILED := src/logmonitor/shapes.py src/logmonitor/parse/timestamps.py src/logmonitor/parse/formats.py \
	src/logmonitor/patterns/masking.py src/logmonitor/patterns/families.py src/logmonitor/patterns/miner.py
MYPYC    := $(VENV)/mypyc
MYPY     := mypy==2.4.1

$(VENV)/.compiled: $(VENV)/.runtime $(COMPILED) Makefile
	@rm -rf $(MYPYC)
	@if command -v cc >/dev/null 2>&1 && $(BIN)/python -c "import os, sysconfig; \
		assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))" \
		2>/dev/null; then \
		mkdir -p $(MYPYC) && cp -R src/logmonitor $(MYPYC)/ && \
		$(BIN)/python -m pip install --quiet '$(MYPY)' && \
		( cd $(MYPYC) && ../bin/mypyc $(COMPILED:src/%=%) >build.log 2>&1 ) && \
		$(BIN)/python -c "import sys, pathlib, logmonitor.compiled as c; \
			c.write_manifest(pathlib.Path(sys.argv[1]))" $(MYPYC) && \
		echo "compiled with mypyc: $(COMPILED:src/%=%)" || \
		{ tail -n 20 $(MYPYC)/build.log 2>/dev/null; rm -rf $(MYPYC); \
		  echo "mypyc failed (above): the parser and the miner run as Python"; }; \
	else \
		echo "no C compiler or Python headers: the parser and the miner run as Python"; \
	fi
	@touch $@

run: $(VENV)/.compiled ## watch /var/log (or ./logmonitor.toml's directories); dashboard on http://127.0.0.1:8000
	@mkdir -p $(STATE)
	@echo "dashboard on http://127.0.0.1:8000 (Ctrl-C stops)"
	@if [ -f logmonitor.toml ]; then \
		exec $(BIN)/logmonitor watch --ui --config logmonitor.toml --state $(STATE)/state.db; \
	else \
		exec $(BIN)/logmonitor watch /var/log --ui --state $(STATE)/state.db; \
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

pytest: $(VENV)/.dev $(VENV)/.compiled chromium ## the test suite (the parser's and miner's also as pure Python)
	$(BIN)/pytest
	LOGMONITOR_PURE=1 $(BIN)/pytest -q tests/parse tests/patterns tests/test_compiled.py

# The browser tests drive Debian's chromium through Playwright (no browser can be
# downloaded at run time); installed once when missing (needs root or sudo).
chromium: ## Debian's chromium for the browser tests
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium; }; }

bench: $(VENV)/.dev $(VENV)/.compiled ## benchmarks beside their peers; tables on stdout, JSON in bench/results/
	$(BIN)/python -m bench

clean: ## remove the virtualenv, caches and local state
	rm -rf $(VENV) $(STATE) .mypy_cache .ruff_cache .pytest_cache .hypothesis bench/results/*.json
