#!/usr/bin/env bash
# Intake benchmark: `upfactory scan`, osv-scanner (offline) and `upfactory
# intake run` over 1,000 generated services × 200 Go components, matched
# against the Go vulnerability database; then the findings of upfactory and
# osv-scanner compared, every disagreement classified. See bench/README.md.
#
#   bench/intake.sh [--install] [--rounds 3] [--services 1000] [--components 200]
#                   [--fixtures DIR] [--keep] [--skip-run] [--skip-compare]
#                   [--zip ZIP] [--sboms DIR] [--out FILE] [--skip-osv-scanner]
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

osv_version=v2.5.0
install=0 keep=0 skip_run=0 skip_compare=0 skip_osv=0
rounds=3 services=1000 components=200 fixtures=
out=${TMPDIR:-/tmp}/intake-disagreements.tsv
root=$(cd "$(dirname "$0")/.." && pwd)
zip=$root/../shared/corpus/osv/go-vulndb-all.zip
sboms=$root/../shared/corpus/sbom
while (($#)); do
	case $1 in
	--install) install=1 ;;
	--keep) keep=1 ;;
	--skip-run) skip_run=1 ;;
	--skip-compare) skip_compare=1 ;;
	--skip-osv-scanner) skip_osv=1 ;;
	--rounds) rounds=$2; shift ;;
	--services) services=$2; shift ;;
	--components) components=$2; shift ;;
	--fixtures) fixtures=$2; shift ;;
	--zip) zip=$2; shift ;;
	--sboms) sboms=$2; shift ;;
	--out) out=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "intake.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [[ ! -f $zip ]]; then
	echo "intake.sh: no OSV database at $zip (pass --zip FILE)" >&2
	exit 2
fi
zip=$(cd "$(dirname "$zip")" && pwd)/$(basename "$zip")

gobin=$(go env GOBIN)
[[ -n $gobin ]] || gobin=$(go env GOPATH)/bin
osv=$(command -v osv-scanner 2>/dev/null || true)
[[ -n $osv || ! -x $gobin/osv-scanner ]] || osv=$gobin/osv-scanner
osv_missing=
if ((skip_osv)); then
	osv= osv_missing="osv-scanner: skipped (--skip-osv-scanner)"
elif [[ -z $osv ]]; then
	if ((install)); then
		echo "intake.sh: installing osv-scanner $osv_version (go install, about 9 minutes)" >&2
		GOFLAGS= go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$osv_version"
		osv=$gobin/osv-scanner
	else
		osv_missing="osv-scanner: not found in PATH or $gobin; skipped (bench/intake.sh --install installs $osv_version)"
		echo "intake.sh: $osv_missing" >&2
	fi
fi

tmp=$(mktemp -d)
cleanup() {
	if ((keep)); then
		echo "intake.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$root" && go build -o "$tmp/upfactory" ./cmd/upfactory && go build -o "$tmp/intake" ./bench/intake)
if [[ -z $fixtures ]]; then
	fixtures=$tmp/fixtures
fi
if ! compgen -G "$fixtures/sboms/*.cdx.json" >/dev/null; then
	"$tmp/intake" gen -out "$fixtures" -services "$services" -components "$components" -zip "$zip" -sboms "$sboms"
fi

if ((!skip_run)); then
	"$tmp/intake" run -upfactory "$tmp/upfactory" -osv-scanner "$osv" -osv-scanner-missing "$osv_missing" \
		-fixtures "$fixtures" -rounds "$rounds" -zip "$zip"
fi
if ((!skip_compare)); then
	if [[ -z $osv ]]; then
		echo "intake.sh: compare skipped: $osv_missing" >&2
	else
		echo
		"$tmp/intake" compare -upfactory "$tmp/upfactory" -osv-scanner "$osv" -fixtures "$fixtures" \
			-sboms "$sboms" -zip "$zip" -out "$out"
	fi
fi
