# Shared helpers for the test-cluster scripts. Source it; do not run it.
# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this file
set -euo pipefail

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CLUSTER_DIR/../.." && pwd)
# shellcheck source=versions.env
. "$CLUSTER_DIR/versions.env"

CLUSTER_NAME=${PETS_CLUSTER_NAME:-pets}
PETS_CACHE=${PETS_CACHE:-/var/cache/stateful-pets}
PETS_KUBECONFIG=${PETS_KUBECONFIG:-$REPO_ROOT/.kube/pets.kubeconfig}
PETS_HOSTPATH_DIR=${PETS_HOSTPATH_DIR:-$PETS_CACHE/hostpath}
# Each node's own disk: the host directory $PETS_NODE_DISKS_DIR/node<N>, mounted at $PETS_NODE_DISK_PATH in node N only.
PETS_NODE_DISKS_DIR=${PETS_NODE_DISKS_DIR:-$PETS_CACHE/node-disks}
PETS_NODE_DISK_PATH=/var/lib/stateful-pets
LOG_DIR=$PETS_CACHE/logs

# Each cache key hashes the pins and the scripts or files that shape that output.
key_of() { { find "$@" -type f 2>/dev/null || true; } | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-12; }
BIN_KEY=$(key_of "$CLUSTER_DIR/versions.env" "$CLUSTER_DIR/build-go.sh")
ROOTFS_KEY=$(key_of "$CLUSTER_DIR/versions.env" "$CLUSTER_DIR/build-rootfs.sh")
IMAGE_KEY=$(key_of "$CLUSTER_DIR/versions.env" "$CLUSTER_DIR/build-rootfs.sh" "$CLUSTER_DIR/build-images.sh" \
  "$CLUSTER_DIR/node" "$CLUSTER_DIR/images")
BIN_DIR=$PETS_CACHE/bin-$BIN_KEY
# A separate repository name lets measure-cold.sh rebuild everything beside the cached images.
IMAGE_REPO=${PETS_IMAGE_REPO:-local}
BASE_IMAGE=$IMAGE_REPO/pets-bookworm:$ROOTFS_KEY
PET_BASE_IMAGE=$IMAGE_REPO/pets-nodejs:bookworm-$ROOTFS_KEY
NODE_IMAGE=$IMAGE_REPO/pets-node:$K8S_VERSION-$IMAGE_KEY

export GOFLAGS="-trimpath -buildvcs=false" CGO_ENABLED=0
export PATH="$BIN_DIR:$PATH"
mkdir -p "$LOG_DIR" "$BIN_DIR"

say() { printf 'cluster: %s\n' "$*" >&2; }

# step NAME CMD...: run CMD with its output in a log; on failure, one line naming the step and the log.
step() {
  local name=$1; shift
  local log=$LOG_DIR/$name.log start=$SECONDS
  say "$name ..."
  if "$@" >"$log" 2>&1; then
    say "$name done in $((SECONDS - start)) s"
    printf '%s %s %d\n' "$(date -u +%FT%TZ)" "$name" "$((SECONDS - start))" >>"$LOG_DIR/timings.txt"
  else
    say "FAILED at step '$name'; see $log"
    tail -n 20 "$log" | sed 's/^/  | /' >&2
    exit 1
  fi
}

# cached MARKER NAME CMD...: like step, but skipped when MARKER exists; MARKER is written on success.
cached() {
  local marker=$1 name=$2; shift 2
  if [[ -e $marker ]]; then say "$name cached"; return 0; fi
  step "$name" "$@"
  touch "$marker"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
