#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: statefulset_info
short_description: Show where each pet of a StatefulSet lives and which volume holds its data, optionally after its rollout
version_added: 0.1.0
description:
  - Reads a StatefulSet, its pods and its PersistentVolumeClaims, and returns one row per pet in ordinal order,
    with the pet's node, whether it is Ready (and since when), and the PersistentVolume bound to each of its claims.
  - With O(wait=true), first waits until the rollout is complete. The module watches the pods and the StatefulSet
    (no fixed sleeps), so it returns a fraction of a second after the last pod goes Ready. It reports a line each time
    a pod becomes Ready (RV(progress)), shown live when the task runs inside the controller.
  - The rollout is complete when the controller has observed the latest spec (C(status.observedGeneration)), every
    ordinal from V(0) to C(spec.replicas - 1) has a pod that is Ready and not terminating, and C(status.replicas),
    C(status.readyReplicas) and C(status.updatedReplicas) equal C(spec.replicas), with C(status.currentRevision)
    equal to C(status.updateRevision). Sets with the C(OnDelete) update strategy are not held to the update revision;
    a partitioned rolling update needs only the pods above its partition.
  - When the wait runs out, the module fails and names each pod that is not Ready or missing and why, for example a
    container waiting with C(ErrImageNeverPull) or a pod that cannot be scheduled.
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
      - The module only reads, so it does the same in check mode, including the wait.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  name:
    description: Name of the StatefulSet.
    type: str
    required: true
  namespace:
    description: Namespace of the StatefulSet.
    type: str
    required: true
  wait:
    description:
      - Wait until the rollout is complete before reporting.
      - Without it, the module reports the pets as they are, Ready or not.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds the whole wait may take, for all the pods and the StatefulSet's status together. Must be more than 0.
      - Only used with O(wait=true).
    type: int
    default: 300
seealso:
  - module: stateful.pets.statefulset_scale
    description: Scales the pets one ordinal at a time.
  - module: kubernetes.core.k8s_info
    description: Reads any object; its O(kubernetes.core.k8s_info#module:wait) waits for one object at a time.
notes:
  - The identity needs the verbs C(get), C(list) and C(watch) on C(statefulsets), and C(list) and C(watch) on C(pods)
    and C(list) on C(persistentvolumeclaims) in the namespace.
  - A pod counts as a pet of the set when it is named C(<name>-<ordinal>) and no other controller owns it.
"""

EXAMPLES = r"""
- name: Show where each pet lives and which volume holds its data
  stateful.pets.statefulset_info:
    name: kubia
    namespace: pets
  register: pets_info

- name: Print one line per pet
  ansible.builtin.debug:
    msg: "{{ item.name }} on {{ item.node }}, volume {{ item.claims | map(attribute='volume') | join(', ') }}"
  loop: "{{ pets_info.pets }}"
  loop_control:
    label: "{{ item.name }}"

- name: Wait up to two minutes until every pet is Ready and the rollout is complete
  stateful.pets.statefulset_info:
    name: kubia
    namespace: pets
    wait: true
    wait_timeout: 120
  register: pets_ready

- name: Show how long the rollout still took
  ansible.builtin.debug:
    msg: "{{ pets_ready.statefulset.ready_replicas }} pets Ready after {{ pets_ready.waited }} s"
"""

RETURN = r"""
statefulset:
  description: The StatefulSet as last read.
  returned: success
  type: dict
  sample:
    name: kubia
    namespace: pets
    replicas: 2
    ready_replicas: 2
    updated_replicas: 2
    pod_management_policy: OrderedReady
    service_name: kubia
    claim_templates: [data]
  contains:
    name:
      description: Name of the StatefulSet.
      type: str
      sample: kubia
    namespace:
      description: Namespace of the StatefulSet.
      type: str
      sample: pets
    replicas:
      description: C(spec.replicas).
      type: int
      sample: 2
    ready_replicas:
      description: C(status.readyReplicas), V(0) when unset.
      type: int
      sample: 2
    updated_replicas:
      description: C(status.updatedReplicas), V(0) when unset.
      type: int
      sample: 2
    pod_management_policy:
      description: C(spec.podManagementPolicy), V(OrderedReady) or V(Parallel).
      type: str
      sample: OrderedReady
    service_name:
      description: C(spec.serviceName), the headless Service that gives the pets their DNS names.
      type: str
      sample: kubia
    claim_templates:
      description: Names of the volume claim templates.
      type: list
      elements: str
      sample: [data]
pets:
  description:
    - One entry per ordinal from V(0) to C(spec.replicas - 1), plus any pod of a higher ordinal that still exists
      (for example one that is terminating after a scale-down), in ordinal order.
    - A missing pod has V(null) in RV(pets[].uid), RV(pets[].node) and RV(pets[].phase).
  returned: success
  type: list
  elements: dict
  sample:
    - ordinal: 0
      name: kubia-0
      uid: 6f1c2a4e-3d0b-4c55-9a51-2f0d7f7b9a10
      node: pets-worker
      phase: Running
      ready: true
      ready_since: "2026-11-27T12:00:04+00:00"
      claims:
        - name: data-kubia-0
          volume: pets-kubia-0
          phase: Bound
  contains:
    ordinal:
      description: The pet's ordinal.
      type: int
      sample: 0
    name:
      description: The pod's name, C(<statefulset>-<ordinal>).
      type: str
      sample: kubia-0
    uid:
      description: The pod's UID, or V(null) when the pod does not exist.
      type: str
      sample: 6f1c2a4e-3d0b-4c55-9a51-2f0d7f7b9a10
    node:
      description: The node the pod runs on, or V(null) when it is missing or not scheduled.
      type: str
      sample: pets-worker
    phase:
      description: The pod's phase, or V(null) when the pod does not exist.
      type: str
      sample: Running
    ready:
      description: Whether the pod is Ready and not terminating.
      type: bool
      sample: true
    ready_since:
      description: When the pod became Ready (its C(Ready) condition's C(lastTransitionTime), ISO 8601), or V(null) when it is not Ready.
      type: str
      sample: "2026-11-27T12:00:04+00:00"
    claims:
      description: One entry per volume claim template, for the claim C(<template>-<statefulset>-<ordinal>).
      type: list
      elements: dict
      sample:
        - name: data-kubia-0
          volume: pets-kubia-0
          phase: Bound
      contains:
        name:
          description: The claim's name.
          type: str
          sample: data-kubia-0
        volume:
          description: The PersistentVolume bound to the claim, or V(null) when the claim is missing or not bound.
          type: str
          sample: pets-kubia-0
        phase:
          description: The claim's phase, or V(null) when the claim does not exist.
          type: str
          sample: Bound
waited:
  description: Seconds spent waiting for the rollout; V(0) without O(wait).
  returned: success
  type: float
  sample: 3.42
progress:
  description:
    - With O(wait=true), one line each time a pod that the module saw not Ready became Ready, and one when the rollout
      was complete, in order.
    - When the task runs inside the controller, each line is also shown the moment it happens.
  returned: success, with O(wait=true)
  type: list
  elements: str
  sample:
    - "StatefulSet pets/kubia: kubia-1 Ready on pets-worker2, 2 of 3 pods Ready after 3.1 s."
    - "StatefulSet pets/kubia: kubia-2 Ready on pets-worker, 3 of 3 pods Ready after 5.2 s."
    - "StatefulSet pets/kubia: rollout complete, 3 of 3 pods Ready after 5.3 s."
"""

import math  # noqa: E402 (imports follow the documentation blocks)
import time  # noqa: E402

from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster, K8sError, ref  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._pets_info import (  # noqa: E402
    missing_message,
    not_ready_pets,
    pet_rows,
    replicas,
    rollout_complete,
    statefulset_summary,
    status_lag,
    timeout_message,
)
from ansible_collections.stateful.pets.plugins.module_utils._predicates import is_running_ready  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._scale import claim_templates, selector_string  # noqa: E402

WATCHED = ("ADDED", "MODIFIED", "DELETED")


def validate(params):
    if params["wait"] and params["wait_timeout"] <= 0:
        raise K8sError(
            f"Cannot wait for StatefulSet {ref(params['namespace'], params['name'])}: wait_timeout must be more than 0 seconds,"
            f" got {params['wait_timeout']}. Nothing was read."
        )


class PetsReader:
    """Reads (and optionally waits for) one StatefulSet's pets; raises K8sError whose `details` hold the last report.

    While it waits it reports a progress line each time a pod it saw not Ready becomes Ready, and one when the rollout
    is complete.
    """

    def __init__(self, cluster, namespace, name, clock=None, reporter=None):
        self.cluster = cluster
        self.namespace = namespace
        self.name = name
        self.clock = clock or time.monotonic
        self.reporter = reporter or Reporter()
        self.waiting_for = set()  # pods seen not Ready during the wait
        self.started = None

    def run(self, wait, timeout):
        sts = self._read_statefulset()
        if not wait:
            return self._report(sts, self.cluster.list_pods(self.namespace, label_selector=selector_string(sts)), 0.0)
        started = self.started = self.clock()
        deadline = started + timeout
        while True:
            pods = self._pods_until_ready(sts, deadline)
            if not not_ready_pets(sts, pods):
                sts = self._statefulset_until_rolled_out(sts, deadline)
                # A spec changed meanwhile (say, more replicas) sends us back to the pods.
                if rollout_complete(sts, pods):
                    waited = self.clock() - started
                    self.reporter.progress(f"StatefulSet {ref(self.namespace, self.name)}: rollout complete, {replicas(sts)} of"
                                           f" {replicas(sts)} pods Ready after {waited:.1f} s.")
                    return self._report(sts, pods, waited)
            if self.clock() >= deadline:
                report = self._report(sts, pods, self.clock() - started)
                raise K8sError(timeout_message(sts, pods, timeout), details=report)

    def _read_statefulset(self):
        try:
            return self.cluster.get_statefulset(self.namespace, self.name)
        except K8sError as exc:
            if exc.status == 404:
                raise K8sError(missing_message(self.namespace, self.name), status=404) from exc
            raise

    def _remaining(self, deadline):
        return max(1, math.ceil(deadline - self.clock()))

    def _note_ready(self, sts, pod, pods):
        """A progress line when a pod seen not Ready becomes Ready: one line per pod, not per watch event."""
        name = pod["metadata"]["name"]
        if not is_running_ready(pod):
            self.waiting_for.add(name)
        elif name in self.waiting_for:
            self.waiting_for.discard(name)
            want = replicas(sts)
            ready = want - len(not_ready_pets(sts, pods))
            node = (pod.get("spec") or {}).get("nodeName")
            self.reporter.progress(f"StatefulSet {ref(self.namespace, self.name)}: {name} Ready on {node}, {ready} of {want} pods Ready"
                                   f" after {self.clock() - self.started:.1f} s.")

    def _pods_until_ready(self, sts, deadline):
        """The set's pods as soon as every ordinal is Ready, or as last seen at the deadline."""
        if not not_ready_pets(sts, []):
            return []  # spec.replicas is 0: no pod to wait for; the status tells when the old ones are gone
        selector = selector_string(sts)
        while True:
            # A watch without a resource version starts with an ADDED event for each existing pod.
            pods = {}
            for kind, pod in self.cluster.watch_pods(self.namespace, selector, self._remaining(deadline)):
                if kind not in WATCHED:
                    continue
                if kind == "DELETED":
                    pods.pop(pod["metadata"]["name"], None)
                else:
                    pods[pod["metadata"]["name"]] = pod
                    self._note_ready(sts, pod, pods.values())
                if not not_ready_pets(sts, pods.values()):
                    return list(pods.values())
            if self.clock() >= deadline:
                return list(pods.values())

    def _statefulset_until_rolled_out(self, sts, deadline):
        """The StatefulSet as soon as its status shows a finished rollout, or as last seen at the deadline."""
        while True:
            for kind, obj in self.cluster.watch_named("StatefulSet", self.namespace, self.name, self._remaining(deadline)):
                if kind == "DELETED":
                    raise K8sError(f"StatefulSet {ref(self.namespace, self.name)} was deleted while this module waited for it. Nothing was changed.")
                if kind in WATCHED:
                    sts = obj
                    if not status_lag(sts):
                        return sts
            if self.clock() >= deadline:
                return sts

    def _report(self, sts, pods, waited):
        pvcs = self.cluster.list_pvcs(self.namespace) if claim_templates(sts) else []
        return {
            "changed": False,
            "statefulset": statefulset_summary(sts),
            "pets": pet_rows(sts, pods, pvcs),
            "waited": round(waited, 3),
        }


def argument_spec():
    spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def run(params, check_mode, diff, reporter):
    """The whole run: a result dict, or K8sError."""
    del check_mode, diff  # the module only reads
    validate(params)  # before any connection is made
    cluster = Cluster.from_params(params)
    return PetsReader(cluster, params["namespace"], params["name"], reporter=reporter).run(params["wait"], params["wait_timeout"])


def main():
    run_as_module(argument_spec(), run)


if __name__ == "__main__":
    main()
