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

# The line parser's and the template miner's modules, compiled with mypyc beside their sources when a C compiler
# and Python's headers are here (src/logmonitor/compiled.py; a test checks this list
# against its MODULES); else they run as Python. Rebuilt when a source changes; a build
# older than its source is never used.
COMPILED := src/logmonitor/shapes.py src/logmonitor/parse/timestamps.py src/logmonitor/parse/formats.py \
	src/logmonitor/patterns/masking.py src/logmonitor/patterns/families.py src/logmonitor/patterns/miner.py

$(VENV)/.compiled: $(VENV)/.runtime $(COMPILED) Makefile
	@rm -f src/*__mypyc*.so $(COMPILED:.py=.*.so)
	@if command -v cc >/dev/null 2>&1 && $(BIN)/python -c "import os, sysconfig; \
		assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))" \
		2>/dev/null; then \
		$(BIN)/python -m pip install --quiet 'mypy>=1.10' && \
		cd src && ../$(BIN)/mypyc $(COMPILED:src/%=%) >../$(VENV)/mypyc.log 2>&1 && \
		rm -rf build && echo "compiled with mypyc: $(COMPILED:src/%=%)" || \
		{ rm -rf build; echo "mypyc failed (see $(VENV)/mypyc.log): they run as Python"; }; \
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
	rm -f src/*__mypyc*.so $(COMPILED:.py=.*.so)
