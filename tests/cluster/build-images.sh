#!/usr/bin/env bash
# Builds the cluster's component images and the node image that carries them preloaded.
# Usage: build-images.sh components|node
. "$(dirname "$0")/lib.sh"
export DOCKER_BUILDKIT=0

IMAGES_TAR=$PETS_CACHE/images-$IMAGE_KEY.tar
TOOLBOX_IMAGE=registry.local/pets-toolbox:v1

# build_image TAG DOCKERFILE FILE... [-- BUILD-ARG...]: docker build in a context holding only FILEs.
build_image() {
  local tag=$1 dockerfile=$2; shift 2
  local ctx file
  ctx=$(mktemp -d)
  while (($#)) && [[ $1 != -- ]]; do cp "$1" "$ctx/"; shift; done
  (($#)) && shift
  local args=()
  for file in "$@"; do args+=(--build-arg "$file"); done
  docker build -q -f "$CLUSTER_DIR/images/$dockerfile" "${args[@]}" -t "$tag" "$ctx"
  rm -rf "$ctx"
}

component_tags() {
  printf '%s\n' \
    "registry.k8s.io/kube-apiserver:$K8S_VERSION" "registry.k8s.io/kube-controller-manager:$K8S_VERSION" \
    "registry.k8s.io/kube-scheduler:$K8S_VERSION" "registry.k8s.io/kube-proxy:$K8S_VERSION" \
    "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "registry.k8s.io/pause:$PAUSE_TAG" \
    "registry.k8s.io/etcd:$ETCD_IMAGE_TAG"
}

components() {
  # The pins must be exactly what this kubeadm will ask containerd for.
  diff <(kubeadm config images list --kubernetes-version "$K8S_VERSION" | sort) <(component_tags | sort)
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    build_image "registry.k8s.io/$c:$K8S_VERSION" static.Dockerfile "$BIN_DIR/$c" -- "BIN=$c"
  done
  build_image "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" static.Dockerfile "$BIN_DIR/etcd" -- BIN=etcd
  build_image "registry.k8s.io/kube-proxy:$K8S_VERSION" debian.Dockerfile "$BIN_DIR/kube-proxy" -- \
    BIN=kube-proxy "BASE=$BASE_IMAGE"
  build_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" coredns.Dockerfile "$BIN_DIR/coredns"
  build_image "registry.k8s.io/pause:$PAUSE_TAG" pause.Dockerfile /usr/bin/catatonit
  build_image registry.local/pets-netd:v1 pets-netd.Dockerfile "$BIN_DIR/kubectl" "$CLUSTER_DIR/images/pets-netd" -- \
    "BASE=$BASE_IMAGE"
  # A shell with python3 and dig for tests and debugging; it shares every layer with the base.
  docker tag "$BASE_IMAGE" "$TOOLBOX_IMAGE"
  local tags
  mapfile -t tags < <(component_tags)
  docker save -o "$IMAGES_TAR.tmp" "${tags[@]}" registry.local/pets-netd:v1 "$TOOLBOX_IMAGE"
  mv "$IMAGES_TAR.tmp" "$IMAGES_TAR"
}

# Same sequence kind's own builder uses: a stage container whose containerd imports the images,
# committed with the node entrypoint. --no-unpack because the node's snapshotter unpacks at first use.
node() {
  stage=pets-node-build-$$
  echo "$K8S_VERSION" >"$PETS_CACHE/version"
  build_image "$NODE_IMAGE-stage" ../node/Dockerfile "$CLUSTER_DIR"/node/{entrypoint,containerd.toml,kubelet.service,kubelet.slice,10-kubeadm.conf,kubelet.default,cni-manifest.txt} \
    "$BIN_DIR"/{kubeadm,kubelet,kubectl} "$PETS_CACHE/version" -- "BASE=$BASE_IMAGE"
  docker rm -f "$stage" >/dev/null 2>&1 || true
  docker run -d --name "$stage" --entrypoint sleep --security-opt seccomp=unconfined "$NODE_IMAGE-stage" infinity
  trap 'docker rm -f "$stage" >/dev/null 2>&1 || true' EXIT
  docker cp "$IMAGES_TAR" "$stage:/images.tar"
  docker exec "$stage" bash -euc '
    containerd >/var/log/containerd-build.log 2>&1 &
    for i in $(seq 60); do ctr version >/dev/null 2>&1 && break; sleep 1; done
    ctr -n k8s.io images import --all-platforms --no-unpack --digests /images.tar
    ctr -n k8s.io images ls -q
    rm -f /images.tar /var/log/containerd-build.log
    kill %1; wait || true'
  docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' "$stage" "$NODE_IMAGE"
  docker rm -f "$stage" >/dev/null
  docker rmi "$NODE_IMAGE-stage" >/dev/null
}

"$1"
