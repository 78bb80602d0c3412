#!/usr/bin/env bash
# Runs every test of upfactory: vet, unit and end-to-end tests (with the race
# detector), and a short run of each fuzz target. Installs what the tests
# need; with CI=true nothing may be skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# An iteration count, not a duration: a time limit that expires while the
# fuzzer minimizes a new input fails the run with "context deadline
# exceeded" and no crasher, which says nothing about the code.
#
# The fuzzer's exploration draws random inputs with no seed to set, so two
# runs of the same commit may differ: in CI (CI=true) only the corpora run
# (every f.Add seed and testdata/fuzz crasher, through go test above), and
# a crasher found by exploration elsewhere is kept in testdata/fuzz so that
# CI runs it from then on. Set FUZZTIME to explore in CI too.
if [[ "${CI:-}" == "true" && -z "${FUZZTIME:-}" ]]; then
  fuzztime=""
else
  fuzztime=${FUZZTIME:-50000x}
fi

echo "== python3-scipy and python3-feedparser for cross-checks"
# The Mann-Whitney test is checked against scipy.stats.mannwhitneyu, and
# the status feed's Atom is read by feedparser, both run by Debian's
# system python (not a pyenv shim on PATH).
if ! /usr/bin/python3 -c 'import scipy, feedparser' 2>/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-scipy python3-feedparser >/dev/null
  else
    echo "test.sh: /usr/bin/python3 cannot import scipy or feedparser: their cross-checks skip (Debian packages python3-scipy, python3-feedparser)" >&2
  fi
fi

echo "== PostgreSQL for the schema-drift tests"
# A throw-away cluster on a loopback port, stopped on the way out. Outside CI
# a machine without the package skips those tests (they say so); in CI the
# script installs it, and a failure to start is a failure.
if pgenv=$(scripts/postgres.sh start); then
  eval "$pgenv"
  trap 'scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
elif [[ "${CI:-}" == "true" ]]; then
  echo "test.sh: PostgreSQL (Debian package postgresql) did not start; with CI=true nothing may skip" >&2
  exit 1
else
  echo "test.sh: PostgreSQL did not start: the tests that need it skip (Debian package postgresql)" >&2
fi

echo "== Prometheus for the metric-provider tests"
# Debian's prometheus on a loopback port; tests add their own targets by
# file-based discovery (see scripts/prometheus.sh).
if promenv=$(scripts/prometheus.sh start); then
  eval "$promenv"
  trap 'scripts/prometheus.sh stop >/dev/null 2>&1 || true; scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
elif [[ "${CI:-}" == "true" ]]; then
  echo "test.sh: Prometheus (Debian package prometheus) did not start; with CI=true nothing may skip" >&2
  exit 1
else
  echo "test.sh: Prometheus did not start: the tests that need it skip (Debian package prometheus)" >&2
fi

echo "== flagd's evaluator for the flag-file test"
# @openfeature/flagd-core, the evaluator flagd and its providers use, reads
# the flag files upfactory writes; installed once into a cache with npm.
flagd_dir="${XDG_CACHE_HOME:-$HOME/.cache}/upfactory/flagd-core-4.0.1"
if ! command -v npm >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm >/dev/null || true
fi
if [[ ! -d "$flagd_dir/node_modules/@openfeature/flagd-core" ]] && command -v npm >/dev/null; then
  mkdir -p "$flagd_dir" && npm install --prefix "$flagd_dir" --no-audit --no-fund --silent @openfeature/flagd-core@4.0.1 >/dev/null 2>&1 || true
fi
if [[ -d "$flagd_dir/node_modules/@openfeature/flagd-core" ]] && command -v node >/dev/null; then
  export UPFACTORY_FLAGD_CORE="$flagd_dir"
elif [[ "${CI:-}" == "true" ]]; then
  echo "test.sh: flagd's evaluator (npm @openfeature/flagd-core, with node and npm from Debian) could not be installed; with CI=true nothing may skip" >&2
  exit 1
else
  echo "test.sh: flagd's evaluator is not installed: the flag-file test skips (npm @openfeature/flagd-core; Debian packages nodejs, npm)" >&2
fi

echo "== HAProxy for the haproxy router tests"
# Debian's haproxy, run by the tests themselves (each its own, on a
# loopback port with an admin socket in a temp dir).
if ! command -v haproxy >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy >/dev/null || true
fi
if ! command -v haproxy >/dev/null; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "test.sh: haproxy (Debian package haproxy) could not be installed; with CI=true nothing may skip" >&2
    exit 1
  fi
  echo "test.sh: haproxy is not installed: the HAProxy router tests skip (Debian package haproxy)" >&2
fi

echo "== kube-apiserver and etcd for the Kubernetes tests"
# envtest runs a real kube-apiserver (built once from the Go module proxy
# into a cache: several minutes the first time) with Debian's etcd.
if assets=$(scripts/kube-apiserver.sh); then
  export KUBEBUILDER_ASSETS="$assets"
elif [[ "${CI:-}" == "true" ]]; then
  echo "test.sh: kube-apiserver could not be built or etcd installed (Debian package etcd-server); with CI=true nothing may skip" >&2
  exit 1
else
  echo "test.sh: no kube-apiserver: the Kubernetes tests skip (Debian package etcd-server; scripts/kube-apiserver.sh)" >&2
fi
echo "== go build -tags kubernetes"
go build -tags kubernetes -o /dev/null ./cmd/upfactory

echo "== go vet"
go vet ./...

echo "== go test (race detector on)"
go test -race -count=1 -timeout 20m ./... 2>&1 | tee /tmp/upfactory-test.out

if [[ -n "$fuzztime" ]]; then
  echo "== fuzz targets, ${fuzztime} inputs each"
  for pkg in $(go list ./...); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
      echo "-- $pkg $fz"
      go test -run '^$' -fuzz "^${fz}\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x "$pkg"
    done
  done
else
  echo "== fuzz targets: their corpora ran with go test above; no exploration under CI=true (random inputs; FUZZTIME=50000x explores)"
fi

pass=$(grep -c '^ok ' /tmp/upfactory-test.out || true)
fail=$(grep -c '^FAIL' /tmp/upfactory-test.out || true)
echo "packages: ${pass} passed, ${fail} failed"
