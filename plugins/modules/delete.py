#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: delete
short_description: Delete one Kubernetes object, and optionally wait until it is gone
version_added: 0.2.0
description:
  - Deletes the object of O(kind) named O(name) (in O(namespace) when the kind is namespaced), the way
    M(kubernetes.core.k8s) does with C(state=absent) for these options. An object that does not exist is not an error;
    the module then reports no change.
  - With O(wait=true), it waits until the object is gone (its finalizers done, its pod terminated), looking again every
    half second.
  - Deleting a Pod, a StatefulSet or a Node is recorded as an C(events.k8s.io/v1) Event on it, with
    C(reportingController=stateful.pets), the action C(Delete) and a note that names the run (RV(run_id)).
  - A plain local task runs the module inside the controller process; any other task runs it as a module process, as
    the collection's C(docs/architecture.md) explains.
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
      - The delete is a server-side dry run, so the server checks it (permissions, admission) and deletes nothing.
  diff_mode:
    support: full
    details:
      - Before is the object's kind, namespace, name and uid; after is empty.
  idempotent:
    support: full
options:
  kind:
    description: The kind of the object, for example V(Pod) or V(Namespace).
    type: str
    required: true
  api_version:
    description: The kind's C(apiVersion).
    type: str
    default: v1
  name:
    description: The object's name.
    type: str
    required: true
  namespace:
    description: The object's namespace, for a namespaced kind. Ignored for cluster-scoped kinds such as V(Node).
    type: str
  grace_period:
    description:
      - Seconds a pod gets to stop, instead of its own C(terminationGracePeriodSeconds). V(0) deletes at once.
    type: int
  propagation_policy:
    description:
      - How the object's dependents go, as the API's C(propagationPolicy). The server's default when unset.
    type: str
    choices: [Foreground, Background, Orphan]
  wait:
    description: Wait until the object is gone.
    type: bool
    default: false
  wait_timeout:
    description: Seconds O(wait) waits at most. Must be more than 0.
    type: int
    default: 120
seealso:
  - module: kubernetes.core.k8s
    description: Deletes objects by definition, by label, and much more.
  - module: stateful.pets.apply
    description: Creates and updates objects with server-side apply.
notes:
  - The identity needs C(get) and C(delete) on the kind, and C(create) on C(events) in the API group C(events.k8s.io)
    to record the Event.
"""

EXAMPLES = r"""
- name: Delete pet kubia-0, so that its StatefulSet brings it back
  stateful.pets.delete:
    kind: Pod
    namespace: pets
    name: kubia-0

- name: Delete the pets' namespace and wait until everything in it is gone
  stateful.pets.delete:
    kind: Namespace
    name: pets
    wait: true
    wait_timeout: 300
"""

RETURN = r"""
deleted:
  description:
    - The object that was deleted (in check mode, that would be deleted), as kind, apiVersion, namespace, name and uid,
      or V(null) when there was none.
  returned: success
  type: dict
  sample:
    kind: Pod
    api_version: v1
    namespace: pets
    name: kubia-0
    uid: 6f1c2a4e-3d0b-4c55-9a51-2f0d7f7b9a10
waited:
  description: Seconds spent waiting until the object was gone; V(0) without O(wait).
  returned: success
  type: float
  sample: 2.4
progress:
  description: With O(wait=true), a line when the object is gone.
  returned: success, when the module waited
  type: list
  elements: str
  sample:
    - "Pod pets/kubia-0 is gone after 2.4 s."
run_id:
  description:
    - A short name of this run. The note of the Event the run recorded names it, and the Event carries the label
      C(stateful.pets/run=<run_id>).
  returned: success
  type: str
  sample: 3f9a2c1b
"""

import time  # noqa: E402 (imports follow the documentation blocks)

from ansible_collections.stateful.pets.plugins.module_utils._events import record_event  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster, K8sError, ref  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module  # noqa: E402

# The kinds whose every change the collection records as an Event.
EVENT_KINDS = ("Pod", "StatefulSet", "Node")
POLL_SECONDS = 0.5


def argument_spec():
    spec = dict(
        kind=dict(type="str", required=True),
        api_version=dict(type="str", default="v1"),
        name=dict(type="str", required=True),
        namespace=dict(type="str"),
        grace_period=dict(type="int"),
        propagation_policy=dict(type="str", choices=["Foreground", "Background", "Orphan"]),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=120),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def summary(obj):
    meta = obj.get("metadata") or {}
    return {"kind": obj.get("kind"), "api_version": obj.get("apiVersion"), "namespace": meta.get("namespace"), "name": meta.get("name"),
            "uid": meta.get("uid")}


class Deleter:
    """Deletes one object and optionally waits until it is gone; K8sError names the object."""

    def __init__(self, cluster, params, check_mode, reporter, clock=time.monotonic, sleep=time.sleep):
        self.cluster = cluster
        self.params = params
        self.check_mode = check_mode
        self.reporter = reporter
        self.clock = clock
        self.sleep = sleep
        self.probe = {"apiVersion": params["api_version"], "kind": params["kind"], "metadata": {"name": params["name"], "namespace": params["namespace"]}}
        self.label = f"{params['kind']} {ref(params['namespace'], params['name'])}"

    def run(self):
        live = self.cluster.read_object(self.probe)
        result = {"changed": live is not None, "deleted": summary(live) if live is not None else None, "waited": 0.0, "run_id": self.reporter.run_id,
                  "diff": {"before": summary(live) if live is not None else {}, "after": {}}}
        if live is None:
            return result
        try:
            self.cluster.delete_object(live, dry_run=self.check_mode, grace_period=self.params["grace_period"],
                                       propagation_policy=self.params["propagation_policy"])
        except K8sError as exc:
            if exc.status != 404:  # gone meanwhile: what we wanted
                raise
        if self.check_mode:
            return result
        if live.get("kind") in EVENT_KINDS:
            record_event(self.cluster, self.reporter, live, "Deleted", "Delete", f"Deleted {self.label} (UID {live['metadata'].get('uid')}).")
        if self.params["wait"]:
            result["waited"] = self._wait_gone(live)
        return result

    def _wait_gone(self, live):
        started = self.clock()
        deadline = started + self.params["wait_timeout"]
        uid = live["metadata"].get("uid")
        while True:
            found = self.cluster.read_object(self.probe)
            # A new object of the same name (a pet brought back by its StatefulSet) is not the one deleted.
            if found is None or found["metadata"].get("uid") != uid:
                waited = round(self.clock() - started, 2)
                self.reporter.progress(f"{self.label} is gone after {waited} s.")
                return waited
            if self.clock() >= deadline:
                finalizers = ", ".join(found["metadata"].get("finalizers") or []) or "none"
                raise K8sError(f"{self.label} was deleted but is still there after {self.params['wait_timeout']} s (finalizers: {finalizers}). "
                               "Find out what holds it, or raise wait_timeout.")
            self.sleep(POLL_SECONDS)


def run(params, check_mode, diff, reporter):
    """The whole run: a result dict, or K8sError."""
    if params["wait"] and params["wait_timeout"] <= 0:
        raise K8sError(f"Cannot delete {params['kind']} {ref(params['namespace'], params['name'])}: wait_timeout must be more than 0 seconds, "
                       f"got {params['wait_timeout']}. Nothing was deleted.")
    result = Deleter(Cluster.from_params(params), params, check_mode, reporter).run()
    if not diff:
        result.pop("diff")
    return result


def main():
    run_as_module(argument_spec(), run)


if __name__ == "__main__":
    main()
