#!/usr/bin/env bash
# Prepares this host for kind: packages, inotify limits, and a running Docker engine.
. "$(dirname "$0")/lib.sh"

install_packages() {
  local need=() pkg
  for pkg in docker.io debootstrap jq catatonit; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
  done
  if ((${#need[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
}

raise_inotify_limits() {
  sysctl -q -w fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288
}

# Bit 24 of the bounding set is CAP_SYS_RESOURCE; without it `docker run --privileged` fails.
host_lacks_sys_resource() {
  local bnd
  bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
  (((0x$bnd >> 24 & 1) == 0))
}

start_docker() {
  if docker info >/dev/null 2>&1; then echo "Docker engine already running"; return 0; fi
  local args=()
  if host_lacks_sys_resource; then
    install -m 0755 "$CLUSTER_DIR/runc-nosysres" /usr/local/sbin/runc-nosysres
    args+=(--add-runtime runc-nosysres=/usr/local/sbin/runc-nosysres --default-runtime runc-nosysres)
    echo "host lacks CAP_SYS_RESOURCE: using the runc-nosysres shim"
  fi
  rm -f /var/run/docker.pid
  nohup dockerd "${args[@]}" >"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "dockerd did not answer within 60 s" >&2
  return 1
}

install_packages
raise_inotify_limits
start_docker
