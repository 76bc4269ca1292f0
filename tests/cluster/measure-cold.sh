#!/usr/bin/env bash
# Measures a cold build of the offline node image, as on a fresh machine: empty Go caches, an empty
# $PETS_CACHE and images under their own repository name. The cached build and the cluster stay as they are.
# Usage: measure-cold.sh [WORKDIR]   (each step's seconds go to WORKDIR/logs/timings.txt)
set -euo pipefail
work=${1:-$(mktemp -d /var/tmp/pets-cold.XXXXXX)}
export PETS_CACHE=$work PETS_IMAGE_REPO=cold GOCACHE=$work/go-build GOMODCACHE=$work/go-mod
start=$SECONDS
bash "$(dirname "$0")/up.sh" --build-only
echo "cold build of the node image: $((SECONDS - start)) s; per step: $work/logs/timings.txt"
