#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: node_fence
short_description: Fence unreachable Kubernetes nodes so that their StatefulSet pods come back elsewhere
version_added: 0.1.0
description:
  - Fences either the node named in O(name) or every node whose Ready condition has been V(Unknown) for at least
    O(unreachable_for) seconds and whose heartbeat Lease is stale.
  - "For each node, in order: evaluate every gate (no write before all of them passed), take the node's fence Lease,
    cordon, and once the node is confirmed down add the out-of-service taint, force-delete the node's StatefulSet pods
    (grace period 0, pinned by UID), wait until no VolumeAttachment names the node, and optionally wait until each pet is
    Ready again on a healthy node with the same claims."
  - "The node is confirmed down either by O(levels), which the module runs itself (each level's actions in order, then a
    check that the node stays silent for O(settle_time); on failure the next level), or by you with O(fenced_confirmed=true).
    Without either the module stops after cordoning and reports what it would do. When every level fails the node stays
    cordoned and no pod is touched."
  - "The gates, each reported in RV(nodes[].guards): the node is not Ready, has been unreachable for O(unreachable_for) and its
    heartbeat Lease is as old; it has no label C(stateful.pets/exclude-from-fencing); fencing of it is not paused by the
    annotation C(stateful.pets/fencing-paused-until) (an RFC 3339 time); it is not a control-plane node unless
    O(allow_control_plane=true); at most O(max_unreachable_fraction) of all nodes are unreachable; at most O(max_nodes) nodes
    per run; O(cooldown) seconds have passed since the last fence of another node; no other run holds the fence Lease of this
    node or of another node."
  - "The fence Lease: a C(coordination.k8s.io/v1) Lease C(stateful-pets-fence-<node>) in O(lease_namespace) (never in
    C(kube-node-lease), where the kubelets keep their own Leases named after the nodes), held by RV(lease_holder) for
    O(lease_duration) seconds and renewed while the run works. A run that finds it held by another run reports the holder and
    how long it has held it, and does nothing (no failure). The run releases it at the end; if the run dies it expires. A
    Lease held past its duration is stale and is taken over, and C(taken_over_from) in RV(nodes[].lease) says from whom. The Lease
    keeps the time of the node's last confirmed fence, which the cooldown gate reads."
  - "Right before the taint and before each force-delete the module reads the node again, live: if it spoke since it was
    confirmed down (a Lease renewal or Ready=True), was uncordoned, or lost the out-of-service taint, the module stops there."
  - "A pet whose PersistentVolume is pinned to the fenced node by nodeAffinity (node-local data) is still force-deleted, to free
    its identity, and reported V(waits_for_node): its data lives only on that node, so it comes back when the node returns.
    The wait does not fail on it. With O(node_local_pets=recreate_empty) the module instead deletes its claim and creates a
    fresh, empty PV on a live node, and names the abandoned PV in RV(nodes[].abandoned_volumes)."
  - With O(state=absent) the module unfences a node once it has been Ready for O(settle_time) seconds, removing the
    out-of-service taint, uncordoning it and releasing its fence Lease.
  - Each step is a line of RV(progress), shown the moment it happens when the task runs inside the controller (a plain
    local task).
  - Each write is recorded as an C(events.k8s.io/v1) Event with C(reportingController=stateful.pets) and a note that
    names the run (RV(run_id)). The Node gets one for the cordon (action C(Cordon)), each fence level (C(Fence)), the taint
    (C(Taint)) and the unfence (C(Unfence)), and each force-deleted Pod one with the action C(ForceDelete). The Events carry
    the label C(stateful.pets/run=<run_id>). When an Event cannot be recorded, the module warns and goes on.
author:
  - stateful.pets contributors (@stateful-pets)
requirements:
  - kubernetes (Python library)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - stateful.pets._attributes
  - stateful.pets._attributes.actiongroup_pets
attributes:
  check_mode:
    support: full
    details:
      - Reports every gate, the fence levels that would run, the nodes that would be cordoned and tainted and the pods that would
        be deleted. Nothing is written, not even the fence Lease, and no fence action runs.
  diff_mode:
    support: full
    details: Shows per node whether it is unschedulable and tainted, and the pods bound to it, before and after.
  idempotent:
    support: full
    details: A node that is already cordoned, tainted and free of StatefulSet pods is left alone, and its fence Lease is not taken.
options:
  name:
    description:
      - The node to fence or unfence.
      - When omitted, O(state=present) works on every unreachable node and O(state=absent) on every node this module fenced.
    type: str
  state:
    description:
      - V(present) fences, V(absent) unfences.
    type: str
    choices: [present, absent]
    default: present
  unreachable_for:
    description:
      - How long, in seconds, the node's Ready condition must have been V(Unknown) and its Lease unrenewed before it may be fenced.
      - At least V(10), the kubelet's Lease renewal interval.
    type: int
    default: 40
  max_unreachable_fraction:
    description:
      - Refuse to fence anything when more than this fraction of all nodes is unreachable.
    type: float
    default: 0.5
  max_nodes:
    description:
      - Fence at most this many nodes per run. Nodes that are already fully fenced do not count.
    type: int
    default: 1
  fenced_confirmed:
    description:
      - Confirmation that the node is really down, for example because a power-off succeeded.
      - Without it (and without O(levels)) the module only cordons and reports what it would do next.
      - Not together with O(levels).
    type: bool
    default: false
  levels:
    description:
      - Fence levels, tried in order after the cordon until one succeeds, as Pacemaker's fencing topology does.
      - A level succeeds when each of its actions exits 0 within its timeout and the node then stays silent for O(settle_time)
        (no renewal of its heartbeat Lease, no Ready=True posted by its kubelet). A sign of life after the actions ended fails
        the level at once, and the next level is tried.
      - When every level fails the module fails; the node stays cordoned and no pod is touched. RV(nodes[].levels) has each
        level's actions with their rc and output, and the verification.
      - The commands run on the host that runs the module (the controller for a local task).
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      name:
        description: A name for the level in messages, for example V(bmc) or V(pdu).
        type: str
      actions:
        description: The level's fence actions, run in order; the level fails at the first one that fails.
        type: list
        elements: dict
        required: true
        suboptions:
          command:
            description: The argument vector (no shell); every C({node}) in it is replaced by the node name.
            type: list
            elements: str
            required: true
          timeout:
            description: Seconds the action may take; it is killed and fails after that. Shorter than O(lease_duration).
            type: int
            default: 60
  settle_time:
    description:
      - With O(levels), the seconds the node must stay silent after a level's actions before the level counts as a success.
        Silence is counted from the node's last sign of life, which may fall inside the actions.
      - With O(state=absent), the seconds the node must have been Ready before it is unfenced; the module waits out the rest.
      - At least V(11), the kubelet's Lease renewal interval (10 s) plus its jitter.
    type: int
    default: 11
    version_added: 0.2.0
  allow_control_plane:
    description: Allow fencing a control-plane node (label C(node-role.kubernetes.io/control-plane)); refused otherwise.
    type: bool
    default: false
    version_added: 0.2.0
  cooldown:
    description:
      - Refuse to fence a node until this many seconds have passed since the last confirmed fence of another node of the
        cluster, as recorded on the fence Leases. Stops a storm of fences. V(0) disables the gate (it is still reported).
    type: int
    default: 0
    version_added: 0.2.0
  lease_namespace:
    description:
      - The namespace of the fence Leases. It must exist; the identity needs C(get), C(list), C(create) and C(update) on
        C(leases) there. V(default) always exists and holds no system Lease.
    type: str
    default: default
    version_added: 0.2.0
  lease_duration:
    description:
      - Seconds a fence Lease stays held without renewal. The run renews it between steps; a run that dies leaves it to
        expire after this long, and the next run then takes it over. Longer than every action's timeout.
    type: int
    default: 120
    version_added: 0.2.0
  lease_holder:
    description:
      - The holder identity written to the fence Lease. By default C(stateful.pets-<host>-<run_id>), unique per run.
      - Give the same value to several tasks that are one fencing operation, so that a later task continues under the Lease
        of an earlier one.
    type: str
    version_added: 0.2.0
  node_local_pets:
    description:
      - What to do with a pet whose PersistentVolume is pinned to the fenced node by nodeAffinity.
      - V(wait) force-deletes it (its identity is freed, no other instance runs) and reports it V(waits_for_node); it comes back
        with its data when the node returns and is unfenced.
      - V(recreate_empty), for replicated applications that resync, deletes its claims and creates a fresh, empty PV for each
        on a live node (Ready, schedulable, not excluded, not control-plane), at a new hostPath; the pet starts there empty.
        The old PVs stay Released with their data on the fenced node's disk, named in RV(nodes[].abandoned_volumes).
    type: str
    choices: [wait, recreate_empty]
    default: wait
    version_added: 0.2.0
  detach_timeout:
    description:
      - After the force-deletes, wait up to this many seconds until no VolumeAttachment names the node (the proof that its
        volumes are detached); the ones left are reported in RV(nodes[].volume_attachments_left).
    type: int
    default: 60
    version_added: 0.2.0
  silence_timeout:
    description:
      - Only with O(name). When the node is refused only because it is not silent yet (Ready is not V(Unknown), or
        its Ready condition or its Lease is younger than O(unreachable_for)), look again every half second for up to
        this many seconds before refusing.
      - Meant for O(fenced_confirmed=true) right after a fence action run outside the module, when a node that is being
        powered off may renew its Lease or report once more. V(0) looks once. O(levels) verify the silence themselves.
      - Any other refusal (a partition, an unknown node) is reported at once.
    type: int
    default: 0
  out_of_service_taint:
    description:
      - Add the taint C(node.kubernetes.io/out-of-service=nodeshutdown:NoExecute) to a confirmed node, so that Kubernetes
        detaches its volumes and evicts what is left.
    type: bool
    default: true
  delete_other_pods:
    description:
      - Also force-delete pods that are not owned by a StatefulSet. Static (mirror) pods are never deleted.
    type: bool
    default: false
  wait:
    description:
      - With O(state=present), wait until each deleted pet is recreated with the same name on a healthy node, Ready and bound to the same claims.
      - With O(state=absent), wait until the node is Ready again before unfencing it.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds O(wait) waits at most.
    type: int
    default: 300
notes:
  - Give the fence actions (BMC power-off, C(docker stop) of a kind node, ...) as O(levels), or run them yourself and pass
    O(fenced_confirmed=true) only after they succeeded. The role C(stateful.pets.fencing) passes its actions as O(levels).
  - "RBAC: C(get), C(list), C(watch), C(patch) on C(nodes); C(get), C(watch) on C(leases) in C(kube-node-lease); C(get), C(list),
    C(create), C(update) on C(leases) in O(lease_namespace); C(list), C(get), C(delete) on C(pods); C(get) on
    C(persistentvolumeclaims) and C(persistentvolumes); C(list) on C(volumeattachments); C(create) on C(events)
    (C(events.k8s.io)); with O(node_local_pets=recreate_empty) also C(delete) on C(persistentvolumeclaims) and C(create) on
    C(persistentvolumes)."
seealso:
  - name: Non-graceful node shutdown
    description: The Kubernetes feature behind the out-of-service taint.
    link: https://kubernetes.io/docs/concepts/cluster-administration/node-shutdown/#non-graceful-node-shutdown
"""

EXAMPLES = r"""
- name: Cordon the unreachable node and report what would be fenced
  stateful.pets.node_fence:
    unreachable_for: 40

- name: Fence pets-worker2 after its power-off succeeded and wait for the pets
  stateful.pets.node_fence:
    name: pets-worker2
    fenced_confirmed: true
    wait: true
    wait_timeout: 180

- name: Fence the unreachable node with a power-off, and a PDU outlet as the second level
  stateful.pets.node_fence:
    name: pets-worker2
    unreachable_for: 40
    levels:
      - name: bmc
        actions:
          - command: [ipmitool, -I, lanplus, -H, "bmc-{node}", chassis, power, "off"]
            timeout: 30
      - name: pdu
        actions:
          - command: [/usr/local/bin/pdu-outlet, "off", "{node}"]
            timeout: 30
    wait: true

- name: Unfence the node once it is back
  stateful.pets.node_fence:
    name: pets-worker2
    state: absent
    wait: true
"""

RETURN = r"""
nodes:
  description: One entry per node that was considered (healthy nodes are left out unless named).
  returned: always
  type: list
  elements: dict
  sample:
    - name: pets-worker2
      ready: Unknown
      unreachable_seconds: 52.0
      lease_age_seconds: 71.3
      selected: true
      guards:
        - guard: not_ready
          passed: true
          detail: "Node pets-worker2 has Ready=Unknown: the control plane lost contact with it."
      actions: [cordon, taint out-of-service, force-delete pets/kubia-1]
      pods_deleted:
        - namespace: pets
          name: kubia-1
          uid: 0b1c2d3e-0000-4000-8000-000000000000
          owner: StatefulSet/kubia
          claims: [data-kubia-1]
          node: pets-worker2
          result: deleted
      pods_skipped: []
      recovery:
        - namespace: pets
          name: kubia-1
          node: pets-worker
          seconds: 8.4
          ready: true
          claims: [data-kubia-1]
  contains:
    name:
      description: The node name.
      type: str
    ready:
      description: The status of the node's Ready condition (V(True), V(False), V(Unknown) or V(Missing)).
      type: str
    unreachable_seconds:
      description: Seconds since the Ready condition turned Unknown, or null when the node is reachable.
      type: float
    lease_age_seconds:
      description: Seconds since the node's Lease was last renewed, or null when it has none.
      type: float
    eligible:
      description: Whether the node passed its own guards (not Ready, unreachable long enough, stale Lease). Only with O(state=present).
      type: bool
    refusal:
      description: The sentences of the failed node guards, or null when it passed them. Only with O(state=present).
      type: str
    selected:
      description: Whether the node passed the guards and was worked on in this run.
      type: bool
    guards:
      description: Each guard with its outcome and a sentence explaining it.
      type: list
      elements: dict
    actions:
      description: What was done (or, in check mode or without confirmation, what would be done).
      type: list
      elements: str
    pending:
      description: What would be done once the node is confirmed down.
      type: list
      elements: str
    pods_deleted:
      description:
        - Pods force-deleted, each pinned by its UID, with its owner, claims, node and C(result) (V(deleted), or V(already gone)
          when the instance had disappeared meanwhile); in check mode the pods that would be deleted, without C(result).
        - A pet with node-local data also has C(node_local_volumes), C(pet_state) (V(waits_for_node) or V(recreated_empty)) and
          a C(note).
      type: list
      elements: dict
    pods_skipped:
      description: Pods left on the node, with the reason.
      type: list
      elements: dict
    recovery:
      description:
        - With O(wait), per deleted pet its C(state) (V(recovered), V(waits_for_node) or V(not_recreated)), the node it came
          back on and the seconds it took.
        - A pet whose StatefulSet was deleted or scaled below its ordinal meanwhile is not waited for (V(not_recreated)), nor
          is a pet whose data lives only on the fenced node (V(waits_for_node)); their entries have C(node=null),
          C(ready=false) and a C(note).
      type: list
      elements: dict
    lease:
      description:
        - The node's fence Lease (C(namespace), C(name)) as this run found or took it, C(holder), C(held), C(stale),
          C(held_seconds) and C(renewed_seconds) of the holder, and C(taken_over_from) when this run took over a stale Lease.
      type: dict
    levels:
      description:
        - With O(levels), each level tried, in order, with C(level), C(name), C(actions) (C(command), C(rc), C(stdout),
          C(stderr), C(seconds), C(timed_out)), C(verification) and the seconds it took (C(verification_seconds)),
          C(succeeded) and C(detail) (why it failed).
      type: list
      elements: dict
    volume_attachments_left:
      description: The VolumeAttachments that still named the node after O(detach_timeout); empty when all were gone.
      type: list
      elements: str
    abandoned_volumes:
      description:
        - With O(node_local_pets=recreate_empty), each abandoned volume (C(pet), C(claim), C(pv), C(path), C(node)) and the
          fresh PV made for it (C(new_pv) on C(new_node)).
      type: list
      elements: dict
confirmed:
  description: Whether the run had O(fenced_confirmed=true).
  returned: always
  type: bool
  sample: true
progress:
  description:
    - One line per step (the gates, the fence Lease, cordon, each fence level, taint, force-delete, the detach, a pet back,
      unfence), in order, or one line saying why nothing was done. In check mode the lines say what would be done.
  returned: success
  type: list
  elements: str
  sample:
    - "Node pets-worker2: cordoned."
    - "Node pets-worker2: tainted node.kubernetes.io/out-of-service."
    - "Node pets-worker2: force-deleted pod pets/kubia-1."
lease_holder:
  description: The holder identity this run writes to the fence Leases.
  returned: when the module connected to the cluster
  type: str
  sample: stateful.pets-ctl-3f9a2c1b
run_id:
  description:
    - A short name of this run. The note of every Event the run recorded names it, and the Events carry the label
      C(stateful.pets/run=<run_id>), so C(kubectl get events -A -l stateful.pets/run=<run_id>) lists them.
  returned: when the module connected to the cluster
  type: str
  sample: 3f9a2c1b
"""

from ansible_collections.stateful.pets.plugins.module_utils import _fence_levels as fence_levels
from ansible_collections.stateful.pets.plugins.module_utils import _fencing as fencing
from ansible_collections.stateful.pets.plugins.module_utils._fencer import NodeFencer
from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster, K8sError
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module


def argument_spec():
    spec = dict(AUTH_ARG_SPEC)
    spec.update(
        name=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        unreachable_for=dict(type="int", default=40),
        max_unreachable_fraction=dict(type="float", default=0.5),
        max_nodes=dict(type="int", default=1),
        fenced_confirmed=dict(type="bool", default=False),
        levels=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str"),
            actions=dict(type="list", elements="dict", required=True, options=dict(
                command=dict(type="list", elements="str", required=True),
                timeout=dict(type="int", default=60),
            )),
        )),
        settle_time=dict(type="int", default=fence_levels.MIN_SETTLE_TIME),
        out_of_service_taint=dict(type="bool", default=True),
        delete_other_pods=dict(type="bool", default=False),
        node_local_pets=dict(type="str", default="wait", choices=["wait", "recreate_empty"]),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        detach_timeout=dict(type="int", default=60),
        silence_timeout=dict(type="int", default=0),
        allow_control_plane=dict(type="bool", default=False),
        cooldown=dict(type="int", default=0),
        lease_namespace=dict(type="str", default="default"),
        lease_duration=dict(type="int", default=120),
        lease_holder=dict(type="str"),
    )
    return spec


def run(params, check_mode, diff, reporter):
    """One fence or unfence pass: the result dict, or K8sError whose details hold what was done until then."""
    problems = fencing.invalid_params(params) + fence_levels.invalid_levels(params["levels"])
    if problems:
        raise K8sError(" ".join(problems))
    fencer = NodeFencer(Cluster.from_params(params), params, check_mode, diff, reporter)
    try:
        if params["state"] == "present":
            fencer.fence()
        else:
            fencer.unfence()
    except K8sError as exc:
        raise K8sError(exc.msg, status=exc.status, details=fencer.result()) from exc
    return fencer.result()


def main():
    run_as_module(argument_spec(), run)


if __name__ == "__main__":
    main()
