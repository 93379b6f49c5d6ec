# Privacy Desk — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
# PostgreSQL for the second test run; pytest-django creates and drops test_<name> itself.
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/privacy_desk
PORT ?= 8000

.PHONY: run test setup lint test-sqlite test-postgres test-quick system-deps load messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

## run: set up from nothing (venv, install, migrate, staff accounts, demo CRM source) and start the desk on SQLite.
run: setup
	mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_staff
	$(PY) manage.py demo_data_sources
	@echo
	@echo "  Privacy Desk is starting."
	@echo "    Contact Us (requesters):  http://localhost:$(PORT)/"
	@echo "    Staff desk:               http://localhost:$(PORT)/desk/   (accounts and passwords printed above on first run)"
	@echo "    Django admin:             http://localhost:$(PORT)/admin/"
	@echo "    API docs:                 http://localhost:$(PORT)/api/v1/docs/"
	@echo
	# DEBUG only here (settings default it off); mail links follow the port the desk is served on.
	DEBUG=1 $(PY) manage.py runserver 0.0.0.0:$(PORT)

## test: lint and type-check, then the whole suite on SQLite and on the real PostgreSQL.
test: setup lint test-sqlite test-postgres

lint:
	$(PY) -m ruff check .
	$(PY) -m mypy config helpdesk workflows notifications
	$(VENV)/bin/lint-imports

test-sqlite:
	$(PY) -m pytest -q -p no:cacheprovider

test-postgres:
	DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -q -p no:cacheprovider

## test-quick: while working: lint, then SQLite without the tests marked slow (`make test` runs them all).
test-quick: setup lint
	$(PY) -m pytest -q -p no:cacheprovider -m 'not load and not slow'

## system-deps: Debian packages the real-part tests use (IMAP server, browser, Korean fonts, valgrind).
system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd chromium chromium-driver fonts-noto-cjk gettext valgrind

## load: the load and fault tests (minutes; bounded, loopback only).
load: setup
	DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -q -m load tests/load

messages:
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
