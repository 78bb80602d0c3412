#!/usr/bin/env bash
# Builds a real kube-apiserver from the Go module proxy, once, into a cache,
# and prints the directory envtest needs (KUBEBUILDER_ASSETS: kube-apiserver
# and etcd). etcd comes from Debian's etcd-server.
#
#   export KUBEBUILDER_ASSETS="$(scripts/kube-apiserver.sh)"
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod
# replaces its staging modules (k8s.io/api, k8s.io/client-go, ...) with
# directories of its own repository. A throw-away module requires it and
# replaces each staging module with its published version of the same
# release instead. The first build takes several minutes; later runs reuse
# the binary.
set -euo pipefail

version=${KUBE_VERSION:-v1.36.3}
staging=v0.${version#v1.}
minor=$(echo "$version" | cut -d. -f2)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/upfactory/kube-$version"
log() { echo "kube-apiserver.sh: $*" >&2; }

if ! command -v etcd >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing the Debian package etcd-server"
    apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server >/dev/null
  else
    log "etcd is not installed: install the Debian package etcd-server"
    exit 1
  fi
fi
mkdir -p "$cache"
ln -sf "$(command -v etcd)" "$cache/etcd"

if [[ ! -x "$cache/kube-apiserver" ]]; then
  log "building kube-apiserver $version from the Go module proxy (a few minutes, once)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cd "$work"
  printf 'module kubebuild\n\ngo 1.26\n' > go.mod
  GOFLAGS=-mod=mod go mod download "k8s.io/kubernetes@$version" >&2
  gomod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$version.mod
  for m in $(grep -E '=> \./staging/' "$gomod" | awk '{print $1}' | sort -u); do
    echo "replace $m => $m $staging" >> go.mod
  done
  echo "require k8s.io/kubernetes $version" >> go.mod
  GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/kube-apiserver@$version" >&2
  GOFLAGS=-mod=mod go build -trimpath -o "$cache/kube-apiserver.tmp" \
    -ldflags "-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    k8s.io/kubernetes/cmd/kube-apiserver >&2
  mv "$cache/kube-apiserver.tmp" "$cache/kube-apiserver"
fi
printf '%s\n' "$cache"
