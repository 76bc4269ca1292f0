#!/usr/bin/env bash
# Runs the pet_image role as a play several times, because its changed status is only visible in the play recap.
set -eux -o pipefail
export ANSIBLE_ROLES_PATH=..
# ansible-test passes no environment; pets_kubeconfig (for the role's Node status check) is in integration_config.yml.
if [ -f ../../integration_config.yml ]; then
  set -- "$@" -e "@../../integration_config.yml"
fi
tag="0.0.$((RANDOM * 32768 + RANDOM))"
out=$(mktemp -d)
trap 'ansible-playbook cleanup.yml -e pet_test_tag="$tag" "$@"; rm -rf "$out"' EXIT

# $1 = log, $2 = expected changed count pattern.
recap_changed() { grep -E "^localhost +: ok=[0-9]+ +changed=$2 " "$1"; }

for strategy in kind_load node; do
  run=(-e pet_test_tag="$tag" -e pet_test_strategy="$strategy")
  ansible-playbook prepare.yml "${run[@]}" "$@"
  ansible-playbook verify.yml "${run[@]}" -e pet_test_expect=absent "$@"

  # Check mode on an empty cluster reports work and does none.
  ansible-playbook converge.yml "${run[@]}" --check "$@" | tee "$out/check1"
  recap_changed "$out/check1" '[1-9][0-9]*'
  ansible-playbook verify.yml "${run[@]}" -e pet_test_expect=absent "$@"

  ansible-playbook converge.yml "${run[@]}" "$@" | tee "$out/run1"
  recap_changed "$out/run1" '[1-9][0-9]*'
  ansible-playbook verify.yml "${run[@]}" -e pet_test_expect=present "$@"

  ansible-playbook converge.yml "${run[@]}" "$@" | tee "$out/run2"
  recap_changed "$out/run2" 0
  ansible-playbook converge.yml "${run[@]}" --check "$@" | tee "$out/check2"
  recap_changed "$out/check2" 0

  # Once every kubelet lists the image under its content tag, a run only asks the API.
  ansible-playbook wait_node_status.yml "${run[@]}" "$@"
  ansible-playbook converge.yml "${run[@]}" "$@" | tee "$out/run3"
  recap_changed "$out/run3" 0
  # The fast path: the Node read answered, and the build-or-load step was skipped as a whole.
  grep -A1 -E "TASK \[stateful.pets.pet_image : Ask the Kubernetes API which nodes report" "$out/run3" | grep -q "^ok: \[localhost\]"
  grep -A1 -E "TASK \[stateful.pets.pet_image : Build or load the pet image where a node lacks it" "$out/run3" | grep -q "^skipping: \[localhost\]"
  if grep -E "TASK \[.*(Probe|containerd|Load|Build the pet image with)" "$out/run3"; then exit 1; fi
done

# Another base name changes the content hash: the API shortcut must not hide that, so the nodes get the new image.
# Pods on the image are restarted by the handler only with pet_image_rollout, highest ordinal first.
run=(-e pet_test_tag="$tag" -e pet_test_strategy=kind_load)
ansible-playbook rollout_setup.yml "${run[@]}" "$@"
since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
ansible-playbook converge.yml "${run[@]}" -e pet_test_base_alias="pets-test/base-alias:$tag" "$@" | tee "$out/run4"
recap_changed "$out/run4" '[1-9][0-9]*'
grep -E "TASK \[stateful.pets.pet_image : Load the pet image into kind node" "$out/run4"
ansible-playbook verify.yml "${run[@]}" -e pet_test_expect=present "$@"
ansible-playbook rollout_verify.yml "${run[@]}" -e pet_test_rollout_since="$since" -e pet_test_expect_restart=false "$@"

ansible-playbook converge.yml "${run[@]}" -e pet_test_base_alias="pets-test/base-alias2:$tag" \
  -e pet_image_rollout=true -e pet_image_rollout_name=roll -e pet_image_rollout_namespace="pets-roll-${tag//./-}" "$@" | tee "$out/run5"
grep -E "RUNNING HANDLER \[stateful.pets.pet_image : Pet_image \| restart the pets on the new image\]" "$out/run5"
ansible-playbook rollout_verify.yml "${run[@]}" -e pet_test_rollout_since="$since" -e pet_test_expect_restart=true "$@"
