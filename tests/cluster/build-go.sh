#!/usr/bin/env bash
# Builds one pinned Go component from the Go module proxy into $BIN_DIR.
# Usage: build-go.sh kubernetes|etcd|coredns|kind
. "$(dirname "$0")/lib.sh"

K8S_BINARIES="kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy"

# A throwaway module, because these mains cannot be `go install`ed (replace directives upstream).
wrapper_module() {
  local dir=$PETS_CACHE/src/$1-$BIN_KEY
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
  go mod init "local/pets-$1" >/dev/null
}

version_ldflags() {
  local v=$1 major minor flags="-s -w" pkg
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    flags+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  done
  printf '%s' "$flags"
}

build_kubernetes() {
  wrapper_module kubernetes
  local gomod staging=v0${K8S_VERSION#v1} m b
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .GoMod)
  # Staging modules are required at v0.0.0 upstream; point each at its published tag.
  while read -r m; do
    go mod edit -replace="$m=$m@$staging"
  done < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod")
  local pkgs=()
  for b in $K8S_BINARIES; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  go get "${pkgs[@]/%/@$K8S_VERSION}"
  go build -p "$(nproc)" -ldflags "$(version_ldflags "$K8S_VERSION")" -o "$BIN_DIR/" "${pkgs[@]}"
  "$BIN_DIR/kubeadm" version -o short | grep -qx "$K8S_VERSION"
}

build_etcd() {
  wrapper_module etcd
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -ldflags "-s -w" -o "$BIN_DIR/etcd" go.etcd.io/etcd/server/v3
}

build_coredns() {
  GOBIN=$BIN_DIR go install -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
}

build_kind() {
  GOBIN=$BIN_DIR go install -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
}

"build_$1"
