# Two entry points a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install clean bench bench-small messages

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

## Layer contracts (import-linter: each layer imports only the layers below it), ruff and mypy --strict.
lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The message catalog: re-extract every `_()`/`ngettext()` of the code and templates into
## intensive_tracker/locale (messages.pot; ru and en .po keep their translations), then list what is missing.
messages: $(STAMP)
	$(BIN)/python -m intensive_tracker.catalog update
	$(BIN)/python -m intensive_tracker.catalog check

## Region-scale benchmark (README «Производительность»): factors 0.25, 1 and 4 on SQLite and
## PostgreSQL (when reachable); writes bench/results/latest.json and latest.md, exits 1 if a check fails.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## The same at factor 0.05, SQLite and PostgreSQL, one run each: about a minute.
bench-small: $(STAMP)
	$(BIN)/python -m bench.run --factors 0.05 --reps 1 --report-reps 1 --results out/bench-small $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out .pytest_cache
