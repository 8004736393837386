# `make test` sets everything up (venv, PostgreSQL, Debian packages) and runs every test.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-pyproject

.PHONY: venv test lint demo bench tui

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

test: venv
	scripts/ensure-services.sh
	$(VENV)/bin/pytest -q

lint: venv
	$(VENV)/bin/ruff check src tests

# Every benchmark, one table, saved under benchmarks/results/ (BENCH_ARGS=--quick for a short run).
bench: venv
	$(VENV)/bin/python -m benchmarks $(BENCH_ARGS)
