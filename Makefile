# Two entry points (see README): `make serve` and `make test`. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test test-postgres bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/eddydb serve

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q tests

# The same suite with every durable server and database on PostgreSQL (see docs/postgres.md).
test-postgres: $(STAMP)
	EDDYDB_TEST_STORE=$${EDDYDB_TEST_STORE:-postgresql://root@localhost/postgres} $(BIN)/python -m pytest -n 2 -q tests

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) eddydb-data .pytest_cache
