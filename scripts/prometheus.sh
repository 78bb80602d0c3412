#!/usr/bin/env bash
# Starts or stops a throw-away Prometheus (Debian's package) on a free
# loopback port, scraping every second, for upfactory's provider tests.
#
#   eval "$(scripts/prometheus.sh start)"                  # file-based discovery only
#   eval "$(scripts/prometheus.sh start 127.0.0.1:7070)"   # plus static targets (host:port, path /metrics)
#   scripts/prometheus.sh stop                             # stops $UPFACTORY_TEST_PROMETHEUS_DIR and removes it
#   scripts/prometheus.sh stop DIR
#
# start prints:
#   UPFACTORY_TEST_PROMETHEUS      the base URL, http://127.0.0.1:PORT
#   UPFACTORY_TEST_PROMETHEUS_SD   a file_sd JSON file that Prometheus watches;
#                                  tests started on random ports add targets by
#                                  writing it, or (better when several tests
#                                  share one Prometheus) any other *.json file
#                                  in the same directory
#   UPFACTORY_TEST_PROMETHEUS_DIR  the temp dir (config, data, log) for stop
# New targets, static or from file_sd, are scraped within about 5s:
# Prometheus passes discovery updates to its scrapers at most every 5s. Poll
# up{job="…"} rather than sleeping.
# The lifecycle API is on (--web.enable-lifecycle): POST /-/reload re-reads
# the config. Static targets get job "upfactory"; file_sd entries carry their
# own labels (set "job" there to tell tests apart).
set -euo pipefail

marker=.upfactory-test-prometheus
bin=/usr/bin/prometheus

log() { echo "prometheus.sh: $*" >&2; }

install_prometheus() {
  if [[ -x "$bin" ]]; then
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "Prometheus is not installed and this is not root; install the Debian package prometheus"
    exit 1
  fi
  log "installing the Debian package prometheus"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >&2
  # The package enables a systemd unit; where systemd runs, the packaged
  # server would take port 9090 and scrape nothing of ours. We never use it.
  if [[ ! -x "$bin" ]]; then
    log "the Debian package prometheus did not install $bin"
    exit 1
  fi
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for p in $(seq 29090 29190); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  log "no free port found in 29090-29190"
  exit 1
}

# ready waits until /-/ready answers 200 or the process exits.
ready() {
  local port=$1 pid=$2 i
  for i in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if curl -fsS -o /dev/null "http://127.0.0.1:${port}/-/ready" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

write_config() {
  local dir=$1
  shift
  {
    echo "global:"
    echo "  scrape_interval: 1s"
    echo "  scrape_timeout: 1s"
    echo "  evaluation_interval: 1s"
    echo "scrape_configs:"
    echo "  - job_name: upfactory-sd"
    echo "    metrics_path: /metrics"
    echo "    file_sd_configs:"
    echo "      - files: ['${dir}/sd/*.json']"
    echo "        refresh_interval: 1s"
    if [[ $# -gt 0 ]]; then
      echo "  - job_name: upfactory"
      echo "    metrics_path: /metrics"
      echo "    static_configs:"
      echo "      - targets:"
      local t
      for t in "$@"; do
        echo "          - '${t}'"
      done
    fi
  } >"$dir/prometheus.yml"
}

print_exports() {
  local dir=$1 port
  port=$(cat "$dir/$marker")
  # Both values are ours (a number and a mktemp path); check anyway, since
  # the caller evals this.
  if [[ ! "$port" =~ ^[0-9]+$ || "$dir" == *"'"* ]]; then
    log "unexpected port or directory in $dir"
    exit 1
  fi
  echo "export UPFACTORY_TEST_PROMETHEUS='http://127.0.0.1:${port}'"
  echo "export UPFACTORY_TEST_PROMETHEUS_SD='${dir}/sd/targets.json'"
  echo "export UPFACTORY_TEST_PROMETHEUS_DIR='${dir}'"
}

start() {
  local t dir port pid attempt
  for t in "$@"; do
    # host:port only: the target goes into YAML and a URL.
    if [[ ! "$t" =~ ^[A-Za-z0-9.-]+:[0-9]+$ && ! "$t" =~ ^\[[0-9A-Fa-f:]+\]:[0-9]+$ ]]; then
      log "target $t is not host:port"
      exit 2
    fi
  done
  install_prometheus
  if ! command -v curl >/dev/null 2>&1; then
    log "curl is needed to wait for /-/ready; install the Debian package curl"
    exit 1
  fi
  dir=$(mktemp -d /tmp/upfactory-prom.XXXXXX)
  mkdir -p "$dir/sd" "$dir/data"
  echo '[]' >"$dir/sd/targets.json"
  write_config "$dir" "$@"
  # Another process may take the free port before Prometheus binds it: try
  # a few ports.
  for attempt in 1 2 3; do
    port=$(free_port)
    # setsid: the server outlives this script and the caller's shell job.
    setsid "$bin" \
      --config.file="$dir/prometheus.yml" \
      --storage.tsdb.path="$dir/data" \
      --web.listen-address="127.0.0.1:${port}" \
      --web.enable-lifecycle \
      --storage.tsdb.retention.time=1d \
      --log.level=warn \
      >"$dir/prometheus.log" 2>&1 </dev/null &
    pid=$!
    if ready "$port" "$pid"; then
      break
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [[ $attempt -eq 3 ]]; then
      log "Prometheus did not become ready; its log:"
      cat "$dir/prometheus.log" >&2 || true
      rm -rf -- "$dir"
      exit 1
    fi
  done
  echo "$pid" >"$dir/pid"
  echo "$port" >"$dir/$marker"
  log "Prometheus ready on 127.0.0.1:${port} (pid ${pid}), dir ${dir}"
  print_exports "$dir"
}

stop() {
  local dir=${1:-${UPFACTORY_TEST_PROMETHEUS_DIR:-}} pid i
  if [[ -z "$dir" ]]; then
    log "stop needs the dir: an argument or UPFACTORY_TEST_PROMETHEUS_DIR"
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
  if [[ -f "$dir/pid" ]]; then
    pid=$(cat "$dir/pid")
    # Only the process we started: its command line names our config.
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--config.file=$dir/prometheus.yml"; then
      kill "$pid" 2>/dev/null || true
      for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf -- "$dir"
  log "stopped and removed $dir"
  echo "unset UPFACTORY_TEST_PROMETHEUS UPFACTORY_TEST_PROMETHEUS_SD UPFACTORY_TEST_PROMETHEUS_DIR"
}

case "${1:-}" in
start)
  shift
  start "$@"
  ;;
stop) stop "${2:-}" ;;
*)
  echo "usage: $0 start [HOST:PORT...] | stop [DIR]" >&2
  exit 2
  ;;
esac
