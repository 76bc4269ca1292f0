#!/usr/bin/env bash
# `make cluster`: bring up the kind cluster `pets` (1 control plane, 2 workers) and write its kubeconfig.
# Every build step is skipped when its output is cached under $PETS_CACHE, keyed by the pinned versions.
. "$(dirname "$0")/lib.sh"

# A machine that reaches a registry uses kind's stock node image; PETS_OFFLINE=1/0 forces the choice.
registry_reachable() {
  case ${PETS_OFFLINE:-auto} in 1) return 1 ;; 0) return 0 ;; esac
  timeout 5 bash -c 'exec 3<>/dev/tcp/registry-1.docker.io/443' 2>/dev/null
}

have_bins() { local b; for b in "$@"; do [[ -x $BIN_DIR/$b ]] || return 1; done; }

build_offline_node_image() {
  have_bins kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy ||
    step build-kubernetes "$CLUSTER_DIR/build-go.sh" kubernetes
  have_bins etcd || step build-etcd "$CLUSTER_DIR/build-go.sh" etcd
  have_bins coredns || step build-coredns "$CLUSTER_DIR/build-go.sh" coredns
  image_exists "$BASE_IMAGE" || step build-rootfs "$CLUSTER_DIR/build-rootfs.sh" node
  image_exists "$PET_BASE_IMAGE" || step build-pet-base "$CLUSTER_DIR/build-rootfs.sh" nodejs
  if ! image_exists "$NODE_IMAGE"; then
    [[ -s $PETS_CACHE/images-$IMAGE_KEY.tar ]] || step build-component-images "$CLUSTER_DIR/build-images.sh" components
    step build-node-image "$CLUSTER_DIR/build-images.sh" node
  fi
}

# kind's --wait covers the control plane only, and `kubectl wait --all` only the Nodes registered so far:
# a worker whose kubelet has not registered yet would be missed. Wait for all three, then for Ready.
EXPECTED_NODES=3
nodes_ready() {
  local timeout=$1 deadline=$((SECONDS + $1)) count
  while count=$(kubectl --kubeconfig "$PETS_KUBECONFIG" get nodes -o name 2>/dev/null | wc -l) &&
    ((count < EXPECTED_NODES)); do
    if ((SECONDS >= deadline)); then
      say "only $count of $EXPECTED_NODES nodes of cluster '$CLUSTER_NAME' registered within $timeout s"
      return 1
    fi
    sleep 1
  done
  kubectl --kubeconfig "$PETS_KUBECONFIG" wait --for=condition=Ready nodes --all --timeout="$((deadline - SECONDS + 1))s"
}

# A cluster counts as up only when it was made from the current configuration, its three nodes run the wanted
# image, answer Ready and serve DNS; anything less (a half-created or outdated cluster) is recreated, never reused.
cluster_healthy() {
  local image=$1 images
  kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME" || return 1
  # A cluster made from an older configuration (other mounts, other flags) is recreated too.
  cmp -s <(render_config) "$PETS_CACHE/kind-$CLUSTER_NAME.yaml" || return 1
  images=$(docker ps --filter "label=io.x-k8s.kind.cluster=$CLUSTER_NAME" --format '{{.Image}}')
  [[ $(grep -cx "$image" <<<"$images") -eq $EXPECTED_NODES && $(wc -l <<<"$images") -eq $EXPECTED_NODES ]] || return 1
  # A fresh clone has no .kube directory yet, while the cluster of another checkout may be up and healthy.
  mkdir -p "$(dirname "$PETS_KUBECONFIG")"
  kind get kubeconfig --name "$CLUSTER_NAME" >"$PETS_KUBECONFIG.tmp" 2>/dev/null || return 1
  mv "$PETS_KUBECONFIG.tmp" "$PETS_KUBECONFIG"
  nodes_ready 30 >/dev/null 2>&1 &&
    kubectl --kubeconfig "$PETS_KUBECONFIG" -n kube-system wait --for=condition=Available deployment/coredns \
      --timeout=30s >/dev/null 2>&1
}

# The kind configuration with this host's directories filled in.
render_config() {
  sed -e "s|@HOSTPATH_DIR@|$PETS_HOSTPATH_DIR|g" -e "s|@NODE_DISKS_DIR@|$PETS_NODE_DISKS_DIR|g" \
    -e "s|@NODE_DISK_PATH@|$PETS_NODE_DISK_PATH|g" "$CLUSTER_DIR/kind.yaml.in"
}

# The pet image's base: Debian's nodejs offline, the stock slim Node.js image where a registry answers.
write_pet_image_base() {
  if [[ $1 == "$STOCK_NODE_IMAGE" ]]; then echo node:22-bookworm-slim; else echo "$IMAGE_REPO/pets-nodejs:bookworm"; fi \
    >"$(dirname "$PETS_KUBECONFIG")/pet-image-base"
}

create_cluster() {
  local image=$1 config=$PETS_CACHE/kind-$CLUSTER_NAME.yaml
  mkdir -p "$PETS_HOSTPATH_DIR" "$PETS_NODE_DISKS_DIR"/node{0,1,2} "$(dirname "$PETS_KUBECONFIG")"
  render_config >"$config"
  kind delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1 || true
  kind create cluster --name "$CLUSTER_NAME" --image "$image" --config "$config" \
    --kubeconfig "$PETS_KUBECONFIG" --wait 5m --retain
  nodes_ready 180
  kubectl --kubeconfig "$PETS_KUBECONFIG" -n kube-system rollout status deployment/coredns --timeout=180s
}

main() {
  local start=$SECONDS
  step host-prepare "$CLUSTER_DIR/host.sh"
  if ! have_bins kind; then step build-kind "$CLUSTER_DIR/build-go.sh" kind; fi
  if [[ ${1:-} == --build-only ]]; then
    build_offline_node_image
    say "node image $NODE_IMAGE built in $((SECONDS - start)) s"
    return 0
  fi
  local image=$NODE_IMAGE
  if registry_reachable; then image=$STOCK_NODE_IMAGE; fi
  if cluster_healthy "$image"; then
    # A fresh clone reusing the cluster needs the file too: the Makefile reads it for PETS_PET_IMAGE_BASE.
    write_pet_image_base "$image"
    say "cluster '$CLUSTER_NAME' is already up; nothing to do (kubeconfig: $PETS_KUBECONFIG)"
    return 0
  fi
  if [[ $image == "$STOCK_NODE_IMAGE" ]]; then
    say "a registry is reachable: using the stock node image $image"
  else
    build_offline_node_image
  fi
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
    say "cluster '$CLUSTER_NAME' exists but is not healthy: recreating it"
  fi
  step create-cluster create_cluster "$image"
  write_pet_image_base "$image"
  say "cluster '$CLUSTER_NAME' is up in $((SECONDS - start)) s. Use it with:"
  say "  export KUBECONFIG=$PETS_KUBECONFIG"
  say "  $BIN_DIR/kubectl get nodes"
}

main "$@"
