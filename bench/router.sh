#!/usr/bin/env bash
# Router benchmark: upfactory's built-in proxy against a direct connection,
# Caddy and HAProxy on loopback. See bench/README.md.
#
#   bench/router.sh [--install] [--duration 10s] [--rounds 3] [--connections 64]
#                   [--gomaxprocs N] [--caddy-gomaxprocs N] [--gogc N] [--rate R]
#                   [--skip-latency] [--cpuprofile FILE]
set -euo pipefail

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }

install=0
args=()
while (($#)); do
	case $1 in
	--install) install=1 ;;
	-h | --help) usage; exit 0 ;;
	*) args+=("$1") ;;
	esac
	shift
done

# Debian package providing each tool.
declare -A package=([wrk]=wrk [caddy]=caddy [haproxy]=haproxy)
missing=()
for tool in wrk caddy haproxy; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("${package[$tool]}")
done
if ((${#missing[@]})); then
	if ((!install)); then
		echo "router.sh: missing Debian packages: ${missing[*]}" >&2
		echo "  install them with: apt-get install -y ${missing[*]}" >&2
		echo "  or rerun with --install" >&2
		exit 1
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() {
	# The Go program stops the servers it started; this covers an interrupt
	# that lands before it could.
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$root" && go build -o "$tmp/router" ./bench/router)
"$tmp/router" run ${args[@]+"${args[@]}"} &
pid=$!
wait "$pid"
