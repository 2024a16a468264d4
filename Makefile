# Two entry points a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Sync the built-in demo source into SQLite and render the report.
demo: $(STAMP)
	$(BIN)/intensive-tracker demo --out out/demo

## Run the whole test suite (PostgreSQL too when CI=true or INTENSIVE_TRACKER_TEST_PG is set).
test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache
