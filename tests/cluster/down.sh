#!/usr/bin/env bash
# `make cluster-down`: remove the cluster; the build caches under $PETS_CACHE stay.
. "$(dirname "$0")/lib.sh"
if docker info >/dev/null 2>&1 && [[ -x $BIN_DIR/kind ]]; then
  kind delete cluster --name "$CLUSTER_NAME"
fi
rm -f "$PETS_KUBECONFIG"
say "cluster '$CLUSTER_NAME' removed; caches kept in $PETS_CACHE"
