#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: apply
short_description: Apply a set of Kubernetes objects with server-side apply, in one task
version_added: 0.2.0
description:
  - Applies each object of O(definition), in order, with server-side apply under the field manager O(field_manager).
    The roles of this collection apply their volumes, Services and StatefulSet with it.
  - V(changed) comes from a real comparison. For each object, the module projects the live object before the apply
    and the object the server returns after it onto the fields that O(definition) sets, and compares the two. Fields
    that the server or other managers own, such as C(status) or defaulted ports, are not compared.
  - In check mode every apply is a server-side dry run, so the server validates and defaults the objects without
    storing them. An object whose namespace does not exist yet (because an earlier object of the same run would create
    it) is reported as created, with the definition as its after state.
  - The diff holds, per object, the managed fields before and after, keyed C(Kind namespace/name).
  - A plain local task runs the module inside the controller process, which saves about half a second per task; any
    other task (C(become), another Python, a remote connection, C(async)) runs it as a module process, as the
    collection's C(docs/architecture.md) explains.
author:
  - stateful.pets contributors (@stateful-pets)
requirements:
  - kubernetes >= 24.2.0 (Python library)
  - PyYAML (Python library)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - stateful.pets._attributes
  - stateful.pets._attributes.actiongroup_pets
attributes:
  check_mode:
    support: full
    details:
      - Every apply is a server-side dry run; nothing is stored.
  diff_mode:
    support: full
    details:
      - Before and after hold only the fields that O(definition) sets.
  idempotent:
    support: full
options:
  definition:
    description:
      - The objects to apply, in order. A mapping, a list of mappings, or YAML text with one or more documents
        (for example the output of P(ansible.builtin.template#lookup)).
      - Each object needs C(apiVersion), C(kind) and C(metadata.name), and C(metadata.namespace) when its kind is
        namespaced. Empty documents are skipped. The same object may not appear twice.
    type: raw
    required: true
  field_manager:
    description: The field manager that owns the fields this module sets.
    type: str
    default: stateful.pets
  force_conflicts:
    description:
      - Take over fields that another field manager owns, as C(kubectl apply --server-side --force-conflicts) does.
      - With V(false), such a conflict fails the task and names the object and the other manager.
    type: bool
    default: true
seealso:
  - module: kubernetes.core.k8s
    description: Applies, patches or deletes objects one definition at a time, with many more options.
notes:
  - Objects are applied one after the other. When one fails, the ones before it stay applied; the message names the
    object that failed, and a second run after the fix converges.
  - The module never deletes. Fields that are dropped from O(definition) lose this manager but keep their value while
    another manager owns them.
"""

EXAMPLES = r"""
- name: Apply the headless and the public Service from a role template
  stateful.pets.apply:
    definition: "{{ lookup('ansible.builtin.template', 'services.yaml.j2') }}"

- name: Create a namespace and a ConfigMap in it
  stateful.pets.apply:
    definition:
      - apiVersion: v1
        kind: Namespace
        metadata:
          name: pets
      - apiVersion: v1
        kind: ConfigMap
        metadata:
          name: greeting
          namespace: pets
        data:
          hello: world
  register: applied

- name: Show what happened to each object
  ansible.builtin.debug:
    msg: "{{ applied.objects | map(attribute='action') | list }}"
"""

RETURN = r"""
objects:
  description: One entry per object of O(definition), in order.
  returned: success
  type: list
  elements: dict
  sample:
    - kind: Service
      api_version: v1
      namespace: pets
      name: kubia
      action: unchanged
  contains:
    kind:
      description: The object's kind.
      type: str
      sample: Service
    api_version:
      description: The object's apiVersion.
      type: str
      sample: v1
    namespace:
      description: The object's namespace, or V(null) for a cluster-scoped object.
      type: str
      sample: pets
    name:
      description: The object's name.
      type: str
      sample: kubia
    action:
      description:
        - V(created), V(updated) or V(unchanged). In check mode, what a real run would do.
      type: str
      sample: unchanged
resources:
  description:
    - The objects as the server returned them after the apply (in check mode, after the dry run), in order.
    - An object that check mode could not dry-run because its namespace does not exist yet is its definition.
  returned: success
  type: list
  elements: dict
  sample:
    - apiVersion: v1
      kind: Service
      metadata:
        name: kubia
        namespace: pets
      spec:
        clusterIP: None
"""

from ansible_collections.stateful.pets.plugins.module_utils._apply import checked_objects, run_apply  # noqa: E402 (imports follow the documentation blocks)
from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module  # noqa: E402


def argument_spec():
    spec = dict(
        definition=dict(type="raw", required=True),
        field_manager=dict(type="str", default="stateful.pets"),
        force_conflicts=dict(type="bool", default=True),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def run(params, check_mode, diff, reporter):
    """The whole run: a result dict, or K8sError."""
    del reporter  # one call, no steps to report
    objects = checked_objects(params["definition"])  # bad input fails before any connection is made
    result = run_apply(Cluster.from_params(params), objects, params, check_mode)
    if not diff:
        result.pop("diff")
    return result


def main():
    run_as_module(argument_spec(), run)


if __name__ == "__main__":
    main()
