# ibms — two commands for a newcomer: `make demo` and `make test`.
PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?= -n auto

.PHONY: demo test install lint lock verify clean

$(BIN)/ibms: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ibms needs Python >= 3.11 (set PYTHON=python3.x)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

## Create .venv and install the locked dependencies.
install: $(BIN)/ibms

## Run the system with the demo province on the embedded SQLite database (var/): http://127.0.0.1:8000
demo: install
	$(BIN)/ibms demo

## The whole test suite: SQLite by default, PostgreSQL when IBMS_DATABASE_URL points at one.
## Browser tests (tests/e2e) need Debian's Chromium at $(CHROMIUM); without it they fail (never skip).
test: install
	@test -x $(CHROMIUM) || echo "*** $(CHROMIUM) is missing: the browser tests will FAIL. Install it with: sudo apt-get install -y chromium" >&2
	IBMS_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## Re-lock after changing dependencies in pyproject.toml.
lock: install
	test -x $(BIN)/uv || $(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python $(BIN)/python

verify: install
	$(BIN)/ibms verify

clean:
	rm -rf $(VENV) var
