# Two entry points for a newcomer: `make plan` and `make test`. Both create .venv on first
# use and reinstall only when pyproject.toml changes (the stamp file is keyed on its hash).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)
STACK ?= dev

.PHONY: plan test test-slow setup bench clean

plan: $(STAMP)
	$(PY) -m odoo_platform plan --stack $(STACK)

# `make test` is the fast group; `make test-slow` the end-to-end runs marked slow (real PostgreSQL, Checkov,
# Chromium, pipeline dry runs, ...). CI (.ci/run) runs both; a bare `pytest` runs everything, in one process.
# The fast group runs in two processes (pytest-xdist) that steal work from each other as they finish, so
# neither waits on the other; the plans they share come from the run's own plan cache (tests/conftest.py).
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -n 2 --dist worksteal

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

setup: $(STAMP)

# Benchmarks are not tests: they measure, in ratios against a bare-SDK baseline (bench/run.py).
bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check '.[bench]'
	$(PY) bench/run.py $(if $(TENANTS),--tenants $(TENANTS))

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf out
