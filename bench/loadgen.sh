#!/usr/bin/env bash
# Load generator benchmark: the ceiling of upfactory's built-in load
# generator next to wrk's, against a trivial Go handler on loopback.
# See bench/README.md.
#
#   bench/loadgen.sh [--install] [--duration 10s] [--rounds 3] [--connections 64]
#                    [--threads 2] [--demo]
set -euo pipefail

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }

install=0
args=()
while (($#)); do
	case $1 in
	--install) install=1 ;;
	-h | --help) usage; exit 0 ;;
	--*) args+=("-${1#--}") ;;
	*) args+=("$1") ;;
	esac
	shift
done

if ! command -v wrk >/dev/null 2>&1; then
	if ((!install)); then
		echo "loadgen.sh: missing Debian package: wrk" >&2
		echo "  install it with: apt-get install -y wrk" >&2
		echo "  or rerun with --install" >&2
		exit 1
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk
fi

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() {
	# The Go program stops the backend it started; this covers an interrupt
	# that lands before it could.
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$root" && go build -o "$tmp/loadgen" ./bench/loadgen)
"$tmp/loadgen" run ${args[@]+"${args[@]}"} &
pid=$!
wait "$pid"
