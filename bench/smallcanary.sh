#!/usr/bin/env bash
# The README's example rollout on a small service, simulated: how often a
# healthy canary is rolled back or paused, how fast a bad one is caught,
# against the example as it stood before. See bench/README.md.
#
#   bench/smallcanary.sh [--rate 25] [--good 1000] [--bad 200] [--seed 1]
#                        [--sigma 0.5] [--errors 0.002] (--help lists all)
set -euo pipefail
args=()
while (($#)); do
	case $1 in
	-h | --help) args+=("-help") ;;
	--*) args+=("-${1#--}") ;;
	*) args+=("$1") ;;
	esac
	shift
done
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/smallcanary" ./bench/smallcanary)
cd "$root" && "$tmp/smallcanary" ${args[@]+"${args[@]}"}
