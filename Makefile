# Privacy Desk — the two commands a newcomer needs: `make run` and `make test`.
# Whichever Python >= 3.11 the machine has (newest first); `make PYTHON=/path/to/python` to choose.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.14 python3.13 python3.12 python3.11 python3; do \
  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  && { echo $$p; break; }; done)
endif
VENV ?= .venv
PY := $(VENV)/bin/python
# PostgreSQL for the second test run; pytest-django creates and drops test_<name> itself.
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/privacy_desk
DESK_TEST_REDIS_URL ?= redis://127.0.0.1:6379/9
PORT ?= 8000
# Debian packages the tests and the desk use: the one list (`make system-deps`, `make test`, .ci/run);
# libpango* for WeasyPrint (the notice PDFs), poppler-utils for pdftotext (tests read them back);
# slapd + ldap-utils: the throwaway LDAP directory of the sign-in tests (tests/support/slapd.py).
# BUILD_PACKAGES: what `pip install` needs to build python-ldap (django-auth-ldap); `make setup` checks them.
BUILD_PACKAGES := gcc libldap2-dev libsasl2-dev
SYSTEM_PACKAGES := postgresql redis-server dovecot-imapd chromium chromium-driver \
  fonts-noto-cjk gettext libpango-1.0-0 libpangoft2-1.0-0 poppler-utils valgrind \
  $(BUILD_PACKAGES) slapd ldap-utils
SERVICES := SYSTEM_PACKAGES="$(SYSTEM_PACKAGES)" BUILD_PACKAGES="$(BUILD_PACKAGES)" PYTHON="$(PYTHON)" \
  PG_TEST_URL="$(PG_TEST_URL)" \
  DESK_TEST_REDIS_URL="$(DESK_TEST_REDIS_URL)" bash deploy/dev/services.sh

.PHONY: run test setup lint services test-sqlite test-postgres test-quick system-deps load messages clean

$(PY):
	@test -n "$(PYTHON)" || { echo "Privacy Desk needs Python 3.11 or newer (python3.11, python3.12, ...)" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); $(SERVICES) venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip

# `make run` needs only the desk itself (no compiler, no root); `make test` adds the dev extras, whose
# python-ldap is built against Debian's LDAP headers (the `build` step installs them when missing).
$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: pyproject.toml | $(PY)
	@$(SERVICES) build
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-run

setup: $(VENV)/.installed

## run: set up from nothing (venv, install, migrate, staff accounts, demo CRM source) and start the desk
## on SQLite; the output ends with the address, the staff passwords and the demo CRM's addresses.
run:
	@mkdir -p var
	@echo "Installing into $(VENV) (details in var/make-setup.log) ..."
	@$(MAKE) --no-print-directory $(VENV)/.installed-run >var/make-setup.log 2>&1 || { tail -n 30 var/make-setup.log; exit 1; }
	@bash deploy/dev/run.sh $(PY) $(PORT)

## test: bring up what is missing (packages, PostgreSQL, Redis, Dovecot), lint and type-check,
## then the whole suite on SQLite and on the real PostgreSQL.
test: services setup lint test-sqlite test-postgres

## services: install missing Debian packages and start PostgreSQL, Redis and the test Dovecot (idempotent).
services:
	@$(SERVICES)

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

## system-deps: only install the Debian packages (SYSTEM_PACKAGES) that are missing.
system-deps:
	@$(SERVICES) packages

## load: the load and fault tests (minutes; bounded, loopback only).
load: setup
	DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -q -m load tests/load

messages:
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
