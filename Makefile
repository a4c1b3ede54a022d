# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

# axe-core, which the browser tests inject into pages to audit accessibility (npm; pinned
# in tests/browser/axe/package-lock.json). Without npm the accessibility tests are skipped.
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/axe/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser/axe --no-audit --no-fund --silent; fi

install: $(VENV)/.installed $(AXE)

## run: the app on http://127.0.0.1:5000 with SQLite, in-process jobs and demo data
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed
	STRIPE_DEMO=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

## test: the whole suite (real PostgreSQL and Redis when they can be had)
test: install
	$(BIN)/python tests/run.py $(ARGS)

lint: install
	$(BIN)/ruff check .
