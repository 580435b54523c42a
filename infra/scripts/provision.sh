#!/usr/bin/env bash
# Installs what Slipway's local stack and tests need, idempotently, into a cache; optionally starts the servers.
#
#   provision.sh install   build/install missing tools: temporal CLI and MinIO (go install), PostgreSQL (apt)
#   provision.sh start     install, then start Temporal, PostgreSQL and MinIO on loopback with data under
#                          $SLIPWAY_HOME (default .slipway/stack), and print the environment settings to use
#   provision.sh stop      stop what `start` started
#   provision.sh promtool  optional: build promtool (Prometheus 3.16) into the cache; the tests check the rules in
#                          infra/prometheus without it and also run it where it is installed (a cold build of
#                          Prometheus takes tens of minutes on a small machine, so `install` leaves it out)
#   provision.sh python [requirements.txt]
#                          a Python virtual environment with those requirements (default: the example trainer's),
#                          under the tool cache and keyed by the interpreter's version and the file's sha256; made
#                          once, reused after; prints the path of its python
set -euo pipefail

cache="${SLIPWAY_TOOL_CACHE:-$HOME/.cache/slipway/bin}"
mkdir -p "$cache"
export PATH="$cache:$PATH:/usr/local/go/bin"

say() { printf 'provision: %s\n' "$*" >&2; }

install_go_tool() { # name package
  local name=$1 pkg=$2
  if command -v "$name" >/dev/null 2>&1; then return 0; fi
  if ! command -v go >/dev/null 2>&1; then
    say "$name not found and no Go toolchain to build it"
    return 1
  fi
  say "building $name with go install $pkg (first time only; several minutes on a small machine)"
  GOBIN="$cache" GOFLAGS="${GOFLAGS:-} -trimpath" go install "$pkg"
}

pg_bindir() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return 0; fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  return 1
}

install_postgres() {
  if pg_bindir >/dev/null; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing PostgreSQL from apt"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    say "PostgreSQL (initdb) not found: install it, or set DATABASE_URL"
    return 1
  fi
}

cmd_install() {
  local failed=0
  # The two Go builds take minutes each on a small machine: run them side by side, and apt meanwhile.
  install_go_tool temporal github.com/temporalio/cli/cmd/temporal@v1.5.1 & local t=$!
  install_go_tool minio github.com/minio/minio@latest & local m=$!
  install_postgres || failed=1
  wait $t || failed=1
  wait $m || failed=1
  say "tools: temporal=$(command -v temporal || echo missing) minio=$(command -v minio || echo missing) postgres=$(pg_bindir || echo missing)"
  return $failed
}

cmd_promtool() {
  install_go_tool promtool github.com/prometheus/prometheus/cmd/promtool@v0.316.0
  say "promtool=$(command -v promtool)"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cmd_start() {
  cmd_install
  local home="${SLIPWAY_HOME:-.slipway}/stack"
  mkdir -p "$home"
  home=$(cd "$home" && pwd)
  local tport=${TEMPORAL_PORT:-7233} uiport=${TEMPORAL_UI_PORT:-8233} pgport=${PGPORT:-5433} s3port=${S3_PORT:-9000}
  temporal server start-dev --ip 127.0.0.1 --port "$tport" --ui-port "$uiport" --db-filename "$home/temporal.db" \
    --log-level error --search-attribute ModelName=Keyword --search-attribute Stage=Keyword \
    --search-attribute ChampionVersion=Int >"$home/temporal.log" 2>&1 &
  echo $! >"$home/temporal.pid"

  local bindir; bindir=$(pg_bindir)
  local run=()
  if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); chown -R postgres "$home" 2>/dev/null || true; fi
  if [ ! -f "$home/pgdata/PG_VERSION" ]; then
    mkdir -p "$home/pgdata"; [ "$(id -u)" = 0 ] && chown postgres "$home/pgdata"
    "${run[@]}" "$bindir/initdb" -D "$home/pgdata" -U slipway --auth=trust >/dev/null
  fi
  "${run[@]}" "$bindir/pg_ctl" -D "$home/pgdata" -o "-p $pgport -k /tmp -c listen_addresses=127.0.0.1" \
    -l "$home/postgres.log" -w start >/dev/null

  MINIO_ROOT_USER=slipway MINIO_ROOT_PASSWORD=slipway-secret minio server --quiet --address "127.0.0.1:$s3port" \
    "$home/minio" >"$home/minio.log" 2>&1 &
  echo $! >"$home/minio.pid"
  say "started; logs in $home"
  cat <<ENV
TEMPORAL_ADDRESS=127.0.0.1:$tport
DATABASE_URL=postgresql://slipway@127.0.0.1:$pgport/postgres
ARTIFACT_STORE=s3
S3_ENDPOINT=http://127.0.0.1:$s3port
S3_ACCESS_KEY_ID=slipway
S3_SECRET_ACCESS_KEY=slipway-secret
S3_BUCKET=slipway
ENV
}

cmd_stop() {
  local home="${SLIPWAY_HOME:-.slipway}/stack"
  for p in temporal minio; do
    if [ -f "$home/$p.pid" ]; then kill "$(cat "$home/$p.pid")" 2>/dev/null || true; rm -f "$home/$p.pid"; fi
  done
  local bindir; bindir=$(pg_bindir || true)
  if [ -n "$bindir" ] && [ -f "$home/pgdata/postmaster.pid" ]; then
    local run=(); [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
    "${run[@]}" "$bindir/pg_ctl" -D "$home/pgdata" -m fast stop >/dev/null || true
  fi
  say "stopped"
}

# The example trainer's requirements go into a virtual environment of their own, never into the system's Python.
# One directory per (Python version, requirements sha256): editing requirements.txt makes a new one, and two runs
# that need it at once wait for each other on a lock instead of both building it.
cmd_python() {
  local req=${1:-examples/python-trainer/requirements.txt}
  if [ ! -f "$req" ]; then say "python: no requirements file $req"; return 1; fi
  # Debian splits venv and ensurepip out of python3: install them where we can, as for PostgreSQL.
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "python: installing python3 and python3-venv from apt"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    else
      say "python: python3 with its venv module is needed for the example trainer (Debian: apt-get install python3-venv)"
      return 1
    fi
  fi
  local version hash root dir
  version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  hash=$(sha256sum "$req" | cut -c1-16)
  root="${SLIPWAY_PYTHON_CACHE:-$HOME/.cache/slipway/python}"
  dir="$root/py$version-$hash"
  if [ ! -f "$dir/.complete" ]; then
    mkdir -p "$root"
    exec 9>"$dir.lock"
    flock 9
    if [ ! -f "$dir/.complete" ]; then
      say "python: installing $req into $dir (first time only)"
      rm -rf "$dir"
      python3 -m venv "$dir"
      "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req" >&2
      touch "$dir/.complete"
    fi
    exec 9>&-
  fi
  echo "$dir/bin/python"
}

case "${1:-install}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  promtool) cmd_promtool ;;
  python) shift; cmd_python "$@" ;;
  *) echo "usage: $0 install|start|stop|promtool|python [requirements.txt]" >&2; exit 2 ;;
esac
