#!/usr/bin/env bash
# Runs the pet_image role as a play several times, because its changed status is only visible in the play recap.
set -eux -o pipefail
export ANSIBLE_ROLES_PATH=..
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
done
