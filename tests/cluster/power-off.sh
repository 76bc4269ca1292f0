#!/usr/bin/env bash
# Cuts the power of a kind node, as a BMC power-off would: every process of the node gets SIGKILL while the node is
# frozen, so that none runs again. `docker kill` alone thaws a paused node first, and its kubelet can then report
# Ready once more before it dies. Usage: power-off.sh <node container>
set -euo pipefail
node=${1:?usage: power-off.sh <node container>}
if [[ $(docker inspect --format '{{.State.Running}}' "$node") != true ]]; then
  echo "power-off: node $node is not running" >&2
  exit 1
fi
# Freeze it first (if not already), so that its init cannot exit before Docker records a manual stop: the kind
# restart policy (on-failure) would otherwise start it again.
docker pause "$node" >/dev/null 2>&1 || true
pidns=$(readlink "/proc/$(docker inspect --format '{{.State.Pid}}' "$node")/ns/pid")
for proc in /proc/[0-9]*; do
  if [[ $(readlink "$proc/ns/pid" 2>/dev/null) == "$pidns" ]]; then
    kill -KILL "${proc#/proc/}" 2>/dev/null || true
  fi
done
# Thaws (the pending SIGKILLs fire before any process runs) and records the stop.
docker kill "$node" >/dev/null 2>&1 || true
for _ in $(seq 1 50); do
  [[ $(docker inspect --format '{{.State.Running}}' "$node") == false ]] && exit 0
  sleep 0.2
done
echo "power-off: node $node still runs" >&2
exit 1
