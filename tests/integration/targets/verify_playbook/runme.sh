#!/usr/bin/env bash
# The verify playbook against a fresh deploy: it passes (twice, so re-runs still prove isolation), then it must
# fail, naming the claim, once a pet's storage is broken.
set -eux

export ANSIBLE_ROLES_PATH=../
ns="pets-verify-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
# ansible-test passes -v and no environment; pets_kubeconfig comes from tests/integration/integration_config.yml.
test_args=("$@")
if [ -f ../../integration_config.yml ]; then
  test_args+=(-e "@../../integration_config.yml")
fi
run() {
  ansible-playbook -e "pets_namespace=${ns}" -e pets_replicas=2 -e 'ansible_python_interpreter={{ ansible_playbook_python }}' \
    "${test_args[@]}" "$@"
}
trap 'run cleanup.yml' EXIT

run setup.yml
passed="${OUTPUT_DIR:-.}/verify.log"
run stateful.pets.verify -e pets_verify_requests=8 > "${passed}" 2>&1 || { cat "${passed}"; exit 1; }
cat "${passed}"
# setup_pets makes node-local volumes: the report names each pet's mode and the node its volume is pinned to.
grep -Eq "Storage: kubia-0 node_local \\(${ns}-kubia-0 on node [^ )]+\\); kubia-1 node_local \\(${ns}-kubia-1 on node [^ )]+\\)\\." "${passed}"
run stateful.pets.verify -e pets_verify_requests=2

run break_storage.yml
log="${OUTPUT_DIR:-.}/broken-verify.log"
if run stateful.pets.verify -e pets_verify_timeout=60 > "${log}" 2>&1; then
  cat "${log}"
  echo "The verify playbook passed although the claim data-kubia-1 was deleted." >&2
  exit 1
fi
cat "${log}"
grep -q "Broken storage for pet ${ns}/kubia-1: its PersistentVolumeClaim data-kubia-1 is" "${log}"
