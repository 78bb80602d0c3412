#!/usr/bin/env bash
# Starts or stops a throw-away PostgreSQL cluster (Debian's package) on a
# free loopback port, with trust authentication, for upfactory's tests.
#
#   eval "$(scripts/postgres.sh start)"   # exports UPFACTORY_TEST_POSTGRES and UPFACTORY_TEST_PGDATA
#   scripts/postgres.sh stop              # stops $UPFACTORY_TEST_PGDATA and removes it
#   scripts/postgres.sh stop DIR          # stops the cluster in DIR and removes it
#
# start is idempotent: when UPFACTORY_TEST_PGDATA names a running cluster
# made by this script, it prints the same exports again. stop is idempotent:
# a missing or stopped cluster is not an error.
set -euo pipefail

marker=.upfactory-test-cluster

log() { echo "postgres.sh: $*" >&2; }

pgbin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [[ -z "$d" || ! -x "$d/initdb" ]]; then
    return 1
  fi
  printf '%s\n' "$d"
}

install_postgres() {
  if [[ $(id -u) -ne 0 ]]; then
    log "PostgreSQL is not installed and this is not root; install the Debian package postgresql"
    exit 1
  fi
  log "installing the Debian package postgresql"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2
}

# as_postgres runs a command as the postgres user when we are root (initdb
# refuses root), else as ourselves.
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  # Ask the kernel for a free port on loopback; python3 is on Debian images,
  # else fall back to probing with bash's /dev/tcp.
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for p in $(seq 25432 25532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  log "no free port found in 25432-25532"
  exit 1
}

print_exports() {
  local dir=$1 port
  port=$(cat "$dir/$marker")
  # Both values are ours (a number and a mktemp path), so single quotes
  # suffice; check anyway, since the caller evals this.
  if [[ ! "$port" =~ ^[0-9]+$ || "$dir" == *"'"* ]]; then
    log "unexpected port or directory in $dir"
    exit 1
  fi
  echo "export UPFACTORY_TEST_POSTGRES='postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable'"
  echo "export UPFACTORY_TEST_PGDATA='${dir}'"
}

start() {
  local bin dir port
  if [[ -n "${UPFACTORY_TEST_PGDATA:-}" && -f "${UPFACTORY_TEST_PGDATA}/$marker" ]]; then
    bin=$(pgbin) || install_postgres
    bin=$(pgbin)
    if as_postgres "$bin/pg_ctl" -D "$UPFACTORY_TEST_PGDATA" status >/dev/null 2>&1; then
      log "already running in $UPFACTORY_TEST_PGDATA"
      print_exports "$UPFACTORY_TEST_PGDATA"
      return
    fi
  fi
  if ! bin=$(pgbin); then
    install_postgres
    bin=$(pgbin)
  fi
  dir=$(mktemp -d /tmp/upfactory-pg.XXXXXX)
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$dir"
  fi
  chmod 700 "$dir"
  as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust --no-sync >/dev/null
  # Another process may take the free port before the server binds it:
  # try a few ports.
  local attempt
  for attempt in 1 2 3; do
    port=$(free_port)
    if as_postgres "$bin/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >&2; then
      break
    fi
    if [[ $attempt -eq 3 ]]; then
      log "PostgreSQL did not start; its log:"
      cat "$dir/server.log" >&2 || true
      rm -rf -- "$dir"
      exit 1
    fi
  done
  echo "$port" >"$dir/$marker"
  log "PostgreSQL running on 127.0.0.1:$port, data in $dir"
  print_exports "$dir"
}

stop() {
  local dir=${1:-${UPFACTORY_TEST_PGDATA:-}} bin
  if [[ -z "$dir" ]]; then
    log "stop needs the data dir: an argument or UPFACTORY_TEST_PGDATA"
    exit 2
  fi
  if [[ ! -d "$dir" ]]; then
    log "$dir does not exist: nothing to stop"
    return
  fi
  if [[ ! -f "$dir/$marker" ]]; then
    log "$dir was not made by this script: not touching it"
    exit 1
  fi
  if bin=$(pgbin) && as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$dir" -w -m immediate stop >&2
  fi
  rm -rf -- "$dir"
  log "stopped and removed $dir"
  echo "unset UPFACTORY_TEST_POSTGRES UPFACTORY_TEST_PGDATA"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
  echo "usage: $0 start|stop [DIR]" >&2
  exit 2
  ;;
esac
