#!/usr/bin/env bash
# Bring up what `make test` needs on this machine, and nothing that is already there (idempotent).
#
#   deploy/dev/services.sh [packages] [build] [venv] [postgres] [redis] [dovecot]   (no argument: all but
#                                                                               build and venv)
#
#   packages  install the Debian packages named in SYSTEM_PACKAGES that are missing (apt-get; root or sudo)
#   build     what `pip install` compiles against (BUILD_PACKAGES, and $PYTHON's headers when it lacks them)
#   venv      make `$PYTHON -m venv` work (Debian ships it as python3.X-venv)
#   postgres  start the PostgreSQL cluster that serves PG_TEST_URL if it does not answer; create one if
#             the machine has none; a cluster created here trusts loopback (a test machine's database)
#   redis     start redis-server on DESK_TEST_REDIS_URL's port if it does not answer (keeps nothing on disk)
#   dovecot   the throwaway IMAP server of the intake tests (.ci/dovecot.sh)
#
# Only loopback services are started; a remote PG_TEST_URL or Redis that does not answer is an error.
# Everything is a no-op when the service already answers, so running it beside other users is safe.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python3}
PG_TEST_URL=${PG_TEST_URL:-postgres://postgres@127.0.0.1:5432/privacy_desk}
REDIS_TEST_URL=${DESK_TEST_REDIS_URL:-redis://127.0.0.1:6379/9}
SYSTEM_PACKAGES=${SYSTEM_PACKAGES:-}
BUILD_PACKAGES=${BUILD_PACKAGES:-}
LOG=${SERVICES_LOG:-/dev/null}  # apt's and the servers' chatter

say() { echo "services: $*"; }
die() { echo "services: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "needs root to run: $* (run make as root, or install it yourself)"
  fi
}

apt_updated=
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "not a Debian machine: install these yourself: $*"
  say "installing $* (apt-get; details in $LOG)"
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq >>"$LOG" 2>&1 || die "apt-get update failed (see $LOG)"
    apt_updated=1
  fi
  # The tests start their own throwaway servers: no system-wide slapd directory (or mail system)
  # configured by the package, and no debconf question (DEBIAN_FRONTEND=noninteractive below).
  if command -v debconf-set-selections >/dev/null 2>&1; then
    printf '%s\n' "slapd slapd/no_configuration boolean true" \
      "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
  fi
  # policy-rc.d-free containers would otherwise let postinst scripts start daemons; we start our own.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$LOG" 2>&1 \
    || die "apt-get install $* failed (see $LOG)"
  installed_now+=" $* "
}
installed_now=" "

# Parse a URL with the Python we were given: host port user (one per line).
url_parts() {
  "$PYTHON" - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit
url = urlsplit(sys.argv[1])
print(url.hostname or "127.0.0.1")
print(url.port or int(sys.argv[2]))
print(url.username or "")
PY
}

is_loopback() { case "$1" in 127.*|localhost|::1) return 0 ;; *) return 1 ;; esac; }

ensure_packages() {
  local wanted=${1:-$SYSTEM_PACKAGES}
  [ -n "$wanted" ] || return 0
  command -v dpkg >/dev/null 2>&1 || { say "no dpkg: not checking Debian packages"; return 0; }
  local missing=() pkg
  for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  return 0
}

ensure_build() {
  ensure_packages "$BUILD_PACKAGES"
  command -v dpkg >/dev/null 2>&1 || return 0
  # A Debian python3.X has its C headers in python3.X-dev; a self-built one (pyenv, …) carries its own.
  "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    && return 0
  local version
  version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  if apt-cache show "python$version-dev" >/dev/null 2>&1; then apt_install "python$version-dev"
  else apt_install python3-dev
  fi
  return 0
}

ensure_venv() {
  local probe
  probe=$(mktemp -d)
  if "$PYTHON" -m venv "$probe/v" >/dev/null 2>&1; then rm -rf "$probe"; return 0; fi
  rm -rf "$probe"
  local version
  version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  # Debian splits venv/ensurepip out of the interpreter; the versioned package exists for its own python3.
  if apt-cache show "python$version-venv" >/dev/null 2>&1; then apt_install "python$version-venv"
  else apt_install python3-venv
  fi
  return 0
}

pg_answers() { pg_isready -q -h "$1" -p "$2" -t 3 >/dev/null 2>&1; }

pg_signs_in() { psql -h "$1" -p "$2" -U "$3" -d postgres -w -Atc 'select 1' >/dev/null 2>&1; }

ensure_postgres() {
  local host port user
  { read -r host; read -r port; read -r user; } < <(url_parts "$PG_TEST_URL" 5432)
  user=${user:-postgres}
  command -v pg_isready >/dev/null 2>&1 || apt_install postgresql
  if pg_answers "$host" "$port" && pg_signs_in "$host" "$port" "$user"; then
    say "PostgreSQL answers on $host:$port"; return 0
  fi
  is_loopback "$host" || die "PostgreSQL at $host:$port does not answer (not on this machine: start it there)"

  local created="" version="" cluster=""
  # The cluster configured for this port (pg_lsclusters: version name port status ...).
  read -r version cluster < <(pg_lsclusters --no-header 2>/dev/null | awk -v p="$port" '$3 == p {print $1, $2; exit}') || true
  if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    cluster=main
    if pg_lsclusters --no-header 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q . \
       || [ -e "/var/lib/postgresql/$version/main" ]; then
      cluster=desk_test  # a "main" exists on another port: leave it alone
    fi
    say "creating PostgreSQL $version cluster '$cluster' on port $port"
    # shellcheck disable=SC2086  # PG_CREATE_OPTIONS: extra pg_createcluster words, e.g. "-d /srv/pgdata"
    as_root pg_createcluster "$version" "$cluster" -p "$port" ${PG_CREATE_OPTIONS:-} >>"$LOG" 2>&1 || die "pg_createcluster failed (see $LOG)"
    created=1
  fi
  if ! pg_answers "$host" "$port"; then
    say "starting PostgreSQL $version/$cluster on port $port"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >>"$LOG" 2>&1 \
      || die "pg_ctlcluster $version $cluster start failed (see $LOG)"
    for _ in $(seq 30); do pg_answers "$host" "$port" && break; sleep 1; done
    pg_answers "$host" "$port" || die "PostgreSQL $version/$cluster did not come up on $host:$port"
  fi

  if ! pg_signs_in "$host" "$port" "$user"; then
    # A cluster this script installed or made exists only for the tests: loopback connections are
    # trusted. Anyone else's cluster is left as it is unless PG_TRUST_LOOPBACK=1 says otherwise.
    [ -n "$created" ] || [[ "$installed_now" == *" postgresql "* ]] || [ "${PG_TRUST_LOOPBACK:-}" = 1 ] \
      || die "PostgreSQL on $host:$port refuses '$user' without a password: put it in PG_TEST_URL (or PG_TRUST_LOOPBACK=1)"
    local hba
    hba=$(as_root su postgres -c "psql -p $port -Atc 'show hba_file'")
    say "trusting loopback connections in $hba (a test cluster)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" reload >>"$LOG" 2>&1
    for _ in $(seq 10); do pg_signs_in "$host" "$port" "$user" && break; sleep 0.5; done
    pg_signs_in "$host" "$port" "$user" || die "cannot sign in to PostgreSQL on $host:$port as '$user'"
  fi
  say "PostgreSQL answers on $host:$port"
}

redis_answers() { redis-cli -h "$1" -p "$2" ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  local host port _user
  { read -r host; read -r port; read -r _user; } < <(url_parts "$REDIS_TEST_URL" 6379)
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  if redis_answers "$host" "$port"; then say "Redis answers on $host:$port"; return 0; fi
  is_loopback "$host" || die "Redis at $host:$port does not answer (not on this machine: start it there)"
  local dir=${REDIS_DIR:-/var/lib/redis} logfile
  logfile=${REDIS_LOG:-/var/log/redis/ci$([ "$port" = 6379 ] || echo "-$port").log}
  as_root mkdir -p "$dir" "$(dirname "$logfile")"
  say "starting redis-server on port $port"
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no \
    --dir "$dir" --logfile "$logfile" >>"$LOG" 2>&1 || die "redis-server did not start (see $logfile)"
  for _ in $(seq 30); do redis_answers "$host" "$port" && break; sleep 0.5; done
  redis_answers "$host" "$port" || die "Redis did not come up on $host:$port (see $logfile)"
  say "Redis answers on $host:$port"
}

ensure_dovecot() {
  command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || apt_install dovecot-imapd
  bash "$ROOT/.ci/dovecot.sh" | sed 's/^/services: /'
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(packages postgres redis dovecot)
for step in "${steps[@]}"; do
  case "$step" in
    packages) ensure_packages ;;
    build) ensure_build ;;
    venv) ensure_venv ;;
    postgres) ensure_postgres ;;
    redis) ensure_redis ;;
    dovecot) ensure_dovecot ;;
    *) die "unknown step '$step' (packages, build, venv, postgres, redis, dovecot)" ;;
  esac
done
