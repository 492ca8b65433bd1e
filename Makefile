# What people type. `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# Django 6 needs Python 3.12+: take the first interpreter that is new enough (python3.x on
# PATH, then pyenv's installed versions), unless PYTHON is given.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)

.PHONY: run test install assets lint format messages bench check clean

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Heed needs Python 3.12 or newer (set PYTHON=/path/to/python3.12)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed

assets: node_modules/.installed

run: install
	$(BIN)/python manage.py database_create
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Heed: http://127.0.0.1:$(PORT)/   (web, Celery worker and beat; Ctrl-C stops them all)"
	@echo "  API docs: http://127.0.0.1:$(PORT)/api/docs/"
	@echo ""
	@# honcho gives the first process (web) the starting port; the links in emails and pages
	@# use it too (SITE_URL, unless set).
	@# Ctrl-C is how it stops: honcho's 130 then is a clean end, not an error of make's.
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/honcho start -f Procfile.dev -p $(PORT) \
		|| test $$? -eq 130

# The suite in parallel: one process per core (TEST_WORKERS=0 for one process), each with a test
# database and Redis keys of its own.
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest --numprocesses=$(TEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Extract new strings into locale/zh_Hans and compile them (needs GNU gettext).
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=tests --no-obsolete
	@# No string changed, only the extraction date: keep the catalogue as it was (a clean tree).
	@if git diff --quiet -I'^"POT-Creation-Date: ' -- locale 2>/dev/null; then git checkout -q -- locale; fi
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

# Benchmarks print their figures; run them on PostgreSQL (DATABASE_URL) for the real numbers.
# The volume benchmarks keep their own database (tests/bench/volume): a pytest run of their own.
bench: install
	$(BIN)/pytest tests/bench/volume -m bench -s -q --numprocesses=0
	$(BIN)/pytest tests/bench -m bench -s -q --numprocesses=0 --ignore=tests/bench/volume

check: install
	DEBUG=false ALLOWED_HOSTS=heed.example EMAIL_URL=smtp+tls://heed.example:587 \
		SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) node_modules var staticfiles
