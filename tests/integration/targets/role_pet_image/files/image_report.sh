#!/bin/sh
# Run on a kind node (docker exec -i <node> sh -s <image> < image_report.sh): prints the label pets.test/greeting of
# image $1 in containerd's k8s.io namespace, then the SHA-256 of every file under /opt/pet-context in the image, sorted
# by path.
set -eu
ref=$1
digest=$(ctr -n k8s.io images ls "name==$ref" | awk 'NR == 2 {print $3}')
config=$(ctr -n k8s.io content get "$digest" | python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["digest"])')
ctr -n k8s.io content get "$config" | python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["Labels"]["pets.test/greeting"])'
snapshotter=$(containerd config dump | sed -n 's/^ *snapshotter = "\([A-Za-z0-9_.-]*\)"/\1/p' | head -n 1)
mnt=$(mktemp -d)
trap 'ctr -n k8s.io images unmount "$mnt" >/dev/null 2>&1; rmdir "$mnt"' EXIT
ctr -n k8s.io images mount --snapshotter "${snapshotter:-overlayfs}" "$ref" "$mnt" >/dev/null
cd "$mnt/opt/pet-context"
find . -type f | LC_ALL=C sort | xargs sha256sum
