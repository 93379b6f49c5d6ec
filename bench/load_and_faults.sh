#!/bin/sh
# Load and fault tests on loopback (PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379 DB 7).
# Takes a few minutes; prints its figures at the end. See docs/production.md, section 9.
set -eu
cd "$(dirname "$0")/.."
[ -d .venv ] && . .venv/bin/activate
exec python -m pytest -m load tests/load -s -q -p no:cacheprovider "$@"
