# stateful.pets: one entry point for users and CI. `make help` lists the targets.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# Outside the checkout: inside a git work tree ansible-test lists files with git, and this copy is ignored there.
BUILD ?= /var/tmp/stateful.pets-build-$(shell printf %s "$(CURDIR)" | sha256sum | cut -c1-8)
COLLECTION := $(BUILD)/ansible_collections/stateful/pets
export KUBECONFIG := $(CURDIR)/.kube/pets.kubeconfig
export K8S_AUTH_KUBECONFIG := $(KUBECONFIG)
export ANSIBLE_COLLECTIONS_PATH := $(BUILD)/playbook-collections
export PATH := $(BIN):$(PATH)
# Written by `make cluster`; read when each recipe starts, so it is set once the cluster is up.
export PETS_PET_IMAGE_BASE = $(shell cat $(CURDIR)/.kube/pet-image-base 2>/dev/null)
ANSIBLE_TEST_PIP := $(HOME)/.ansible/test/cache/get_pip_24_2.py
SITE_COLLECTIONS = $(shell $(BIN)/python -c 'import ansible_collections.kubernetes.core as m, pathlib; print(pathlib.Path(m.__path__[0]).parents[1])')

.PHONY: help venv host-deps collection lint sanity unit integration smoke molecule cluster cluster-down demo test clean

help:
	@echo "make demo          install, bring up the local 3-node cluster, deploy the pets, run the walkthrough checks"
	@echo "make test          lint, sanity, unit, cluster smoke test, integration and molecule (what CI runs)"
	@echo "make cluster       bring up the local kind cluster '$${PETS_CLUSTER_NAME:-pets}' (kubeconfig: .kube/pets.kubeconfig)"
	@echo "make cluster-down  remove the cluster, keep the build caches"

$(BIN)/ansible-playbook: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

venv: $(BIN)/ansible-playbook

# ansible-test needs the collection under ansible_collections/<namespace>/<name>; playbooks only need a link.
collection: venv
	mkdir -p $(COLLECTION) $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/stateful
	rm -rf $(COLLECTION) && mkdir -p $(COLLECTION)
	tar -c --exclude=./.venv --exclude=./.build --exclude=./.kube --exclude=./.git --exclude=./tests/output \
	  --exclude=__pycache__ --exclude=.pytest_cache --exclude=.ruff_cache . | tar -x -C $(COLLECTION)
	ln -sfn $(CURDIR) $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/stateful/pets
	# ansible-test resolves dependencies (doc fragments, module_utils) beside the collection under test.
	mkdir -p $(BUILD)/ansible_collections/kubernetes $(BUILD)/ansible_collections/community
	ln -sfn $(SITE_COLLECTIONS)/kubernetes/core $(BUILD)/ansible_collections/kubernetes/core
	ln -sfn $(SITE_COLLECTIONS)/community/docker $(BUILD)/ansible_collections/community/docker

lint: collection
	ruff check plugins tests
	yamllint -s .
	# A private HOME: a copy of this collection that molecule installed under ~/.ansible would shadow the tree.
	mkdir -p $(BUILD)/lint-home
	HOME=$(BUILD)/lint-home ansible-lint --offline
	antsibull-changelog lint

# Offline stand-in for ansible-test's pip bootstrap (see docs/testing.md).
$(ANSIBLE_TEST_PIP): tests/utils/get_pip_standin.py
	mkdir -p $(dir $@)
	cp $< $@

# shellcheck lets the sanity run check our shell scripts instead of skipping them.
host-deps:
	command -v shellcheck >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck; }

sanity: collection host-deps $(ANSIBLE_TEST_PIP)
	cd $(COLLECTION) && $(BIN)/ansible-test sanity --python 3.11 --venv --requirements --color no $(SANITY_ARGS) 2>&1 | tee $(BUILD)/sanity.log
	# A run that found no files to test must not pass.
	! grep -q "All targets skipped" $(BUILD)/sanity.log

unit: collection $(ANSIBLE_TEST_PIP)
	cd $(COLLECTION) && $(BIN)/ansible-test units --python 3.11 --venv --requirements --color no $(UNIT_ARGS)

cluster:
	bash tests/cluster/up.sh

cluster-down:
	bash tests/cluster/down.sh

smoke: venv cluster
	$(BIN)/pytest -p no:cacheprovider tests/cluster/test_smoke.py -v -rP

# ansible-test passes no environment to the targets; they read the kubeconfig from this file.
integration: collection cluster
	echo "pets_kubeconfig: $(KUBECONFIG)" > $(COLLECTION)/tests/integration/integration_config.yml
	cd $(COLLECTION) && $(BIN)/ansible-test integration --python 3.11 --local --allow-destructive --color no $(INTEGRATION_ARGS)

molecule: collection cluster
	$(BIN)/molecule test --all

demo: collection cluster
	$(BIN)/ansible-playbook -i playbooks/inventory/kind.yml playbooks/deploy.yml
	$(BIN)/ansible-playbook -i playbooks/inventory/kind.yml playbooks/verify.yml

test: lint sanity unit smoke integration molecule

clean:
	rm -rf $(BUILD) tests/output
