#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: objects_info
short_description: Read the objects of one kind, or one object by name
version_added: 0.2.0
description:
  - Reads one object by O(name), or every object of the kind (in O(namespace) when the kind is namespaced) that matches
    O(label_selectors) and O(field_selectors), and returns them as RV(resources), the way M(kubernetes.core.k8s_info)
    does for these options.
  - A missing object is not an error; RV(resources) is then empty.
  - The deploy playbook looks up its namespace with it, and the P(stateful.pets.pet_image#role) role reads the
    nodes' image lists with it.
  - A plain local task runs the module inside the controller process, which saves about half a second per task; any
    other task (C(become), another Python, a remote connection, C(async)) runs it as a module process, as the
    collection's C(docs/architecture.md) explains.
  - The module only reads; it never changes the cluster.
author:
  - stateful.pets contributors (@stateful-pets)
requirements:
  - kubernetes >= 24.2.0 (Python library)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - stateful.pets._attributes
  - stateful.pets._attributes.actiongroup_pets
attributes:
  check_mode:
    support: full
    details:
      - The module only reads, so it does the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  kind:
    description: The kind to read, for example V(Namespace) or V(Node).
    type: str
    required: true
  api_version:
    description: The kind's C(apiVersion).
    type: str
    default: v1
  name:
    description: Read only the object with this name. Without it, every object of the kind is read.
    type: str
  namespace:
    description: The namespace of a namespaced kind. Ignored for cluster-scoped kinds such as V(Node).
    type: str
  label_selectors:
    description:
      - Only the objects whose labels match every one of these selectors, for example V(app=kubia) or V(tier!=cache).
    type: list
    elements: str
    default: []
  field_selectors:
    description:
      - Only the objects whose fields match every one of these selectors, for example V(status.phase=Running) or
        V(spec.nodeName=pets-worker). The API server supports few fields per kind.
    type: list
    elements: str
    default: []
seealso:
  - module: kubernetes.core.k8s_info
    description: Reads objects and can wait for conditions.
notes:
  - The identity needs C(get) on the kind to read by name without selectors, and C(list) otherwise.
"""

EXAMPLES = r"""
- name: Find out whether the namespace exists
  stateful.pets.objects_info:
    kind: Namespace
    name: pets
  register: pets_namespace

- name: Read every node
  stateful.pets.objects_info:
    kind: Node
  register: nodes

- name: List the nodes' names
  ansible.builtin.debug:
    msg: "{{ nodes.resources | map(attribute='metadata.name') | list }}"

- name: Read the pods of the kubia pets that run on one node
  stateful.pets.objects_info:
    kind: Pod
    namespace: pets
    label_selectors:
      - app=kubia
    field_selectors:
      - spec.nodeName=pets-worker
  register: pets_on_worker
"""

RETURN = r"""
resources:
  description: The objects read, as the API server returns them; empty when O(name) names no object.
  returned: success
  type: list
  elements: dict
  sample:
    - apiVersion: v1
      kind: Namespace
      metadata:
        name: pets
      status:
        phase: Active
"""

from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster  # noqa: E402 (imports follow the documentation blocks)
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module  # noqa: E402


def argument_spec():
    spec = dict(
        kind=dict(type="str", required=True),
        api_version=dict(type="str", default="v1"),
        name=dict(type="str"),
        namespace=dict(type="str"),
        label_selectors=dict(type="list", elements="str", default=[]),
        field_selectors=dict(type="list", elements="str", default=[]),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def run(params, check_mode, diff, reporter):
    """The whole run: a result dict, or K8sError."""
    del check_mode, diff, reporter  # the module only reads, in one call
    cluster = Cluster.from_params(params)
    found = cluster.list_objects(params["api_version"], params["kind"], params["namespace"], params["name"],
                                 label_selector=",".join(params["label_selectors"]), field_selector=",".join(params["field_selectors"]))
    return {"changed": False, "resources": found}


def main():
    run_as_module(argument_spec(), run)


if __name__ == "__main__":
    main()
