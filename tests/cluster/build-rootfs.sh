#!/usr/bin/env bash
# Builds the Debian base image that the node image and the iptables-using component images share.
. "$(dirname "$0")/lib.sh"

NODE_PACKAGES=(
  systemd systemd-sysv dbus containerd runc iptables nftables conntrack iproute2 ethtool kmod procps
  util-linux mount ca-certificates jq containernetworking-plugins libseccomp2 pigz bash python3
  socat buildah
)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

rootfs=$PETS_CACHE/rootfs-$VERSIONS_KEY
rm -rf "$rootfs"
debootstrap --variant=minbase --include="$(IFS=,; echo "${NODE_PACKAGES[*]}")" "$DEBIAN_SUITE" "$rootfs" "$MIRROR"
# apt caches and lists are not needed inside nodes.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import - "$BASE_IMAGE"
rm -rf "$rootfs"
