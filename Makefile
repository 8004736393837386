# `make test` sets everything up (venv, PostgreSQL, Debian packages) and runs every test.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-pyproject

.PHONY: venv test lint format-check audit demo bench tui

venv: $(STAMP)

# Reinstall only when pyproject.toml or the pins changed since the last install.
# constraints.txt pins every dependency to the versions the test suite last passed with
# (regenerate: .venv/bin/pip freeze --exclude-editable > constraints.txt).
$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
	cp pyproject.toml $@

# A fresh demo vault in ./demo/vault.db (fictional customers), a `get` and the log.
demo: venv
	$(VENV)/bin/python -m custodian.demo demo

# The terminal UI on the demo vault (needs a terminal). User ben; his passphrase is
# "demo passphrase of ben" (make demo prints every demo passphrase).
tui: venv
	test -f demo/vault.db || $(VENV)/bin/python -m custodian.demo demo
	CUSTODIAN_DB=demo/vault.db CUSTODIAN_USER=$${CUSTODIAN_USER:-ben} $(VENV)/bin/custodian tui

# Static checks first (docs/development.md), then every test.
test: venv lint audit
	scripts/ensure-services.sh
	$(VENV)/bin/pytest -q

# ruff's lint rules and its format check, mypy --strict on src/custodian and tui
# ([tool.mypy] in pyproject.toml), then the layer rules ([tool.importlinter]).
lint: venv format-check
	$(VENV)/bin/ruff check src tests tui benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Formatting, checked without rewriting anything (`ruff format src tests tui benchmarks`
# rewrites). Part of `make lint`, so of `make test`.
format-check: venv
	$(VENV)/bin/ruff format --check src tests tui benchmarks

# pip-audit over constraints.txt: fails on a known vulnerability that has a fix, reports the
# others, and says so in one line when the advisory service cannot be reached.
audit: venv
	$(VENV)/bin/python scripts/audit.py constraints.txt

# Every benchmark, one table, saved under benchmarks/results/ (BENCH_ARGS=--quick for a short run).
bench: venv
	$(VENV)/bin/python -m benchmarks $(BENCH_ARGS)
