# ibms — two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PGURL  ?= postgres://postgres@127.0.0.1:5432/ibms

.PHONY: demo test test-sqlite test-postgres install lint verify bench clean

$(BIN)/ibms: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

install: $(BIN)/ibms

## Run the system with the demo province on the embedded SQLite database: http://127.0.0.1:8000
demo: install
	$(BIN)/ibms demo

## The whole test suite: SQLite by default, PostgreSQL when IBMS_DATABASE_URL points at one.
test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

verify: install
	$(BIN)/ibms verify

clean:
	rm -rf $(VENV) var
