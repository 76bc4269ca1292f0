#!/usr/bin/env bash
# Builds a Debian rootfs with debootstrap and imports it into Docker as an image.
# Usage: build-rootfs.sh node    -> $BASE_IMAGE, shared by the node image and iptables-using components
#        build-rootfs.sh nodejs  -> $PET_BASE_IMAGE, the offline base of the pet image
. "$(dirname "$0")/lib.sh"

NODE_PACKAGES=(
  systemd systemd-sysv dbus containerd runc iptables nftables conntrack iproute2 ethtool kmod procps
  util-linux mount ca-certificates jq containernetworking-plugins libseccomp2 pigz bash python3
  socat buildah bind9-dnsutils
)
NODEJS_PACKAGES=(nodejs ca-certificates)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

build() {
  local image=$1 rootfs=$PETS_CACHE/rootfs-$2-$ROOTFS_KEY; shift 2
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include="$(IFS=,; echo "$*")" "$DEBIAN_SUITE" "$rootfs" "$MIRROR"
  # Package caches and lists only make the image bigger.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import - "$image"
  rm -rf "$rootfs"
}

case $1 in
  node) build "$BASE_IMAGE" node "${NODE_PACKAGES[@]}" ;;
  nodejs) build "$PET_BASE_IMAGE" nodejs "${NODEJS_PACKAGES[@]}" && docker tag "$PET_BASE_IMAGE" "$IMAGE_REPO/pets-nodejs:bookworm" ;;
  *) echo "usage: $0 node|nodejs" >&2; exit 2 ;;
esac
