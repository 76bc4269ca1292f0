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
ctr -n k8s.io images mount --snapshotter "${snapshotter:-overlayfs}" "$ref" "$mnt" >/dev/null
# In a subshell, so that the mount is not busy with this shell's working directory when it is unmounted.
status=0
(cd "$mnt/opt/pet-context" && find . -type f | LC_ALL=C sort | xargs sha256sum) || status=$?
ctr -n k8s.io images unmount "$mnt" >/dev/null || status=$?
rmdir "$mnt"
exit "$status"
