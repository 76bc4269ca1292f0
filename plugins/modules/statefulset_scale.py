#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: statefulset_scale
short_description: Scale a StatefulSet one ordinal at a time, gated on pod health, keeping every pet's data
version_added: 0.1.0
description:
  - Scales a StatefulSet to O(replicas) one pod at a time, whatever its C(podManagementPolicy) is.
  - Scaling up adds the next free ordinal n by setting C(spec.replicas) to n+1, then watches (no fixed sleeps) until pod n
    is Running and Ready for O(min_ready_seconds) and the StatefulSet's C(status.readyReplicas) counts it; only then
    does it take the next step.
  - Scaling down removes the highest ordinal first. Before each step every remaining pod must be Running, Ready and not
    terminating; otherwise the module refuses before sending any patch and names each unhealthy pod, why it is
    unhealthy and its last events. After each patch it waits until the removed pod is gone.
  - Before the first patch of a scale-up, checks that every claim of every pod to add can bind, as the PV controller
    would bind it - the claim is Bound already, or an Available PersistentVolume fits it (its C(claimRef), class, size,
    access modes, volume mode and the claim's selector), or the claim's StorageClass (the default one when the template
    names none) provisions volumes. Otherwise it refuses at once and changes nothing, naming each claim, what it needs
    and why the PersistentVolumes meant for it do not fit, instead of waiting out O(step_timeout) for a pod that cannot
    start. Check mode runs the same check but only warns, since a task before it in the same check-mode run (for
    example the volumes step of the playbook C(stateful.pets.scale)) only pretended to create the volumes.
  - PersistentVolumeClaims of removed ordinals stay behind and are reported in RV(retained_pvcs); claims picked up again
    by added ordinals are reported in RV(reused_pvcs). A StatefulSet whose
    C(persistentVolumeClaimRetentionPolicy.whenScaled) is C(Delete) is scaled, with a warning that its claims go away.
  - When a step runs out of time the module stops and fails, naming the pod, what it waits on and its events, and the
    node it is on when that node is not Ready (V(kubia-2 is on node pets-worker2, which has been Ready=Unknown for 41 s))
    or no longer exists. An added pod that never became Ready is removed again by setting C(spec.replicas) back to the
    last healthy count.
  - Each step is a line of RV(progress), shown the moment it happens when the task runs inside the controller (a plain
    local task), as C(kubectl rollout status) does.
  - Each change of C(spec.replicas) is recorded as an C(events.k8s.io/v1) Event on the StatefulSet, with
    C(reportingController=stateful.pets), the action C(Scale), the reason C(AddPet), C(RemovePet) or C(StepTimedOut),
    and a note that names the run (RV(run_id)). The Events carry the label C(stateful.pets/run=<run_id>). When an Event
    cannot be recorded, the module warns and goes on.
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
      - Reads the StatefulSet, its pods and claims, runs the health check of a scale-down, and returns the planned
        steps without any write.
  diff_mode:
    support: full
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
  replicas:
    description: The number of replicas wanted. Must be 0 or more.
    type: int
    required: true
  step_timeout:
    description:
      - Seconds one step may take, from its patch until the added pod is Ready or the removed pod is gone.
      - Must not be greater than O(timeout).
    type: int
    default: 120
  timeout:
    description: Seconds the whole scaling may take. Must be more than 0.
    type: int
    default: 600
  min_ready_seconds:
    description:
      - Seconds an added pod must stay Ready before the next step.
      - Defaults to the StatefulSet's C(spec.minReadySeconds), or V(0) when it has none.
    type: int
  allow_unhealthy_scale_down:
    description:
      - Scale down even when some pods are not healthy. The unhealthy pods are named in a warning.
      - The walkthrough forbids this; use it only to remove a pod that can never become healthy.
    type: bool
    default: false
seealso:
  - module: kubernetes.core.k8s_scale
    description: Scales any resource with a scale subresource straight to the target count.
notes:
  - The module patches the StatefulSet's C(scale) subresource, so it needs the verbs C(get) and C(patch) on
    C(statefulsets) and C(statefulsets/scale), and C(list) and C(watch) on C(pods) and C(statefulsets). Recording
    its Events needs C(create) on C(events) in the API group C(events.k8s.io).
  - The check of a scale-up's claims needs C(list) on C(persistentvolumeclaims), and, when a claim is not Bound yet,
    C(list) on C(persistentvolumes) and on C(storageclasses) (API group C(storage.k8s.io)). Naming the node of a pod
    that timed out needs C(get) on C(nodes).
"""

EXAMPLES = r"""
- name: Scale the kubia pets to four, one at a time
  stateful.pets.statefulset_scale:
    name: kubia
    namespace: pets
    replicas: 4

- name: Scale down to one, refusing while any pet is unhealthy
  stateful.pets.statefulset_scale:
    name: kubia
    namespace: pets
    replicas: 1
    step_timeout: 60
  register: pets_scaled

- name: Show the claims kept for a later scale-up
  ansible.builtin.debug:
    var: pets_scaled.retained_pvcs

- name: Each new pet must stay Ready for 10 seconds before the next one starts
  stateful.pets.statefulset_scale:
    name: kubia
    namespace: pets
    replicas: 3
    min_ready_seconds: 10
"""

RETURN = r"""
replicas_before:
  description: C(spec.replicas) before the module ran.
  returned: success
  type: int
  sample: 2
replicas_after:
  description: C(spec.replicas) when the module finished; in check mode, the count it would reach.
  returned: success
  type: int
  sample: 4
min_ready_seconds:
  description: The minimum time in seconds each added pod had to stay Ready.
  returned: success
  type: int
  sample: 0
steps:
  description:
    - One entry per ordinal, in the order taken. In check mode, the planned steps, with RV(steps[].seconds),
      RV(steps[].patched_at) and RV(steps[].done_at) set to V(null).
  returned: success
  type: list
  elements: dict
  sample:
    - ordinal: 2
      action: add
      seconds: 4.21
      node: pets-worker2
      pvc: [data-kubia-2]
      patched_at: 1795750000.12
      done_at: 1795750004.33
  contains:
    ordinal:
      description: The pod ordinal added or removed.
      type: int
      sample: 2
    action:
      description: V(add) or V(remove).
      type: str
      sample: add
    seconds:
      description: Seconds from the patch until the module saw the pod Ready (add) or gone (remove).
      type: float
      sample: 4.21
    node:
      description: The node the pod ran on, when known.
      type: str
      sample: pets-worker2
    pvc:
      description: The claims of this ordinal, one per volume claim template.
      type: list
      elements: str
      sample: [data-kubia-2]
    patched_at:
      description: When the patch was sent, in seconds since the epoch.
      type: float
      sample: 1795750000.12
    done_at:
      description:
        - When the module saw the pod Ready (add) or gone (remove), in seconds since the epoch.
        - For an add, the next step's RV(steps[].patched_at) minus this is the module's own overhead, including its check of
          the StatefulSet status.
      type: float
      sample: 1795750004.33
retained_pvcs:
  description:
    - The claims of ordinals at or above RV(replicas_after) that are kept for a later scale-up, with their volumes.
    - When C(whenScaled) is C(Delete), the claims of the ordinals removed by this run are not listed.
  returned: success
  type: list
  elements: dict
  sample:
    - name: data-kubia-3
      pv: pets-kubia-3
      phase: Bound
  contains:
    name:
      description: The claim's name.
      type: str
      sample: data-kubia-3
    pv:
      description: The PersistentVolume bound to the claim, or V(null) when it is not bound.
      type: str
      sample: pets-kubia-3
    phase:
      description: The claim's phase.
      type: str
      sample: Bound
reused_pvcs:
  description: Claims that already existed for ordinals this run added (or would add, in check mode), so the pods got their old data back.
  returned: success
  type: list
  elements: dict
  sample:
    - name: data-kubia-1
      pv: pets-kubia-1
      phase: Bound
  contains:
    name:
      description: The claim's name.
      type: str
      sample: data-kubia-1
    pv:
      description: The PersistentVolume bound to the claim.
      type: str
      sample: pets-kubia-1
    phase:
      description: The claim's phase.
      type: str
      sample: Bound
progress:
  description:
    - One line per step, in order, plus a first and a last line; in check mode, one line with the plan.
    - A failed run returns the lines of the steps it took.
  returned: success
  type: list
  elements: str
  sample:
    - "StatefulSet pets/kubia: scaling from 2 to 4 replicas, one pod at a time."
    - "StatefulSet pets/kubia: kubia-2 Ready on pets-worker2 after 4.2 s (3 of 4 replicas)."
    - "StatefulSet pets/kubia: kubia-3 Ready on pets-worker after 3.9 s (4 of 4 replicas)."
    - "StatefulSet pets/kubia: scaled from 2 to 4 replicas in 8.3 s."
run_id:
  description:
    - A short name of this run. The note of every Event the run recorded names it, and the Events carry the label
      C(stateful.pets/run=<run_id>), so C(kubectl get events -A -l stateful.pets/run=<run_id>) lists them.
  returned: success
  type: str
  sample: 3f9a2c1b
diff:
  description: The replica count before and after.
  returned: success
  type: dict
  sample:
    before:
      replicas: 2
    after:
      replicas: 4
"""

from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._scale_run import Scaler, validate  # noqa: E402


def argument_spec():
    spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        replicas=dict(type="int", required=True),
        step_timeout=dict(type="int", default=120),
        timeout=dict(type="int", default=600),
        min_ready_seconds=dict(type="int"),
        allow_unhealthy_scale_down=dict(type="bool", default=False),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def run(params, check_mode, diff, reporter):
    """The whole run: a result dict, or K8sError whose details hold the partial result."""
    del diff  # the result always holds the replica counts before and after
    validate(params)  # before any connection is made
    return Scaler(Cluster.from_params(params), params, check_mode, reporter).run()


def main():
    run_as_module(argument_spec(), run)


if __name__ == "__main__":
    main()
