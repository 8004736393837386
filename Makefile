# `make test` sets everything up (venv, PostgreSQL, Debian packages) and runs every test.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-pyproject

.PHONY: venv test lint

venv: $(STAMP)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	cp pyproject.toml $@

test: venv
	scripts/ensure-services.sh
	$(VENV)/bin/pytest -q

lint: venv
	$(VENV)/bin/ruff check src tests
