#!/usr/bin/env bash
# `make run`: prepare a development desk (migrate, staff accounts, demo CRM), start it, and end the
# output with what a newcomer needs: the address, the staff accounts with their passwords and the demo
# CRM's requester addresses. Set-up and server output go to var/make-run.log.
#   usage: deploy/dev/run.sh PYTHON PORT
set -euo pipefail
PY=$1 PORT=$2
cd "$(dirname "$0")/../.."
mkdir -p var
LOG=var/make-run.log
: >"$LOG"
quietly() {
  if ! "$@" >>"$LOG" 2>&1; then
    echo "make run: '$*' failed; the last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
}
echo "Preparing the desk (details in $LOG) ..."
quietly "$PY" manage.py migrate --no-input
quietly "$PY" manage.py seed_staff --remember var/dev-staff-passwords.txt
quietly "$PY" manage.py demo_data_sources

# DEBUG only here (settings default it off); mail links follow the port the desk is served on.
# --skip-checks: migrate just ran them; runserver's own run races its reloader thread importing the
# URLs, which register the admin (config/urls.py), and sometimes died of "dictionary changed size".
DEBUG=1 "$PY" manage.py runserver --skip-checks "0.0.0.0:$PORT" >>"$LOG" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; exit 0' INT TERM
for _ in $(seq 120); do
  kill -0 "$server" 2>/dev/null || { echo "make run: the server stopped; see $LOG" >&2; tail -n 30 "$LOG" >&2; exit 1; }
  "$PY" - "$PORT" <<'PY' && break
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
  sleep 0.5
done
"$PY" manage.py dev_summary --url "http://localhost:$PORT/" --passwords var/dev-staff-passwords.txt \
  --demo-crm var/demo_crm.sqlite3 2>>"$LOG"
echo
echo "Server log: $LOG — Ctrl-C stops the desk."
wait "$server"
