#!/usr/bin/env bash
# Statistical judge benchmark: simulated canary rollouts measure detection
# power, time to detect and the A/A false-positive rate. See bench/README.md.
#
#   bench/judge.sh [--aa 1000] [--n 200] [--seed 1] [--rate 200] [--share 0.05]
#                  [--interval 10s] [--duration 2m] [--alpha 0.01] [--workers N]
#                  (every flag of bench/judge; --help lists them)
set -euo pipefail

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }

args=()
while (($#)); do
	case $1 in
	-h | --help) usage; echo; args+=("-help") ;;
	--*) args+=("-${1#--}") ;;
	*) args+=("$1") ;;
	esac
	shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$root" && go build -o "$tmp/judge" ./bench/judge)
"$tmp/judge" ${args[@]+"${args[@]}"}
