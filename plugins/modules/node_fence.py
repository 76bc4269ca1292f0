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

import datetime
import time

from ansible_collections.stateful.pets.plugins.module_utils import _fence_gates as gates
from ansible_collections.stateful.pets.plugins.module_utils import _fence_levels as fence_levels
from ansible_collections.stateful.pets.plugins.module_utils import _fencing as fencing
from ansible_collections.stateful.pets.plugins.module_utils import _node_local as node_local
from ansible_collections.stateful.pets.plugins.module_utils._events import record_event, reporting_instance
from ansible_collections.stateful.pets.plugins.module_utils._fence_lease import FenceLeases, LeaseBusy, lease_name, lease_view
from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster, K8sError, monotonic
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module
from ansible_collections.stateful.pets.plugins.module_utils._predicates import is_node_ready, node_readiness, seconds_since
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter

POLL_SECONDS = 2
SILENCE_POLL_SECONDS = 0.5
DETACH_POLL_SECONDS = 1
CONFLICT_ATTEMPTS = 5  # read-modify-writes of one node, as client-go's RetryOnConflict allows


def _unfence_body(node):
    """Uncordon, drop the out-of-service taint (keeping every other taint) and the fenced annotation."""
    return {"metadata": {"annotations": {fencing.FENCED_ANNOTATION: None}},
            "spec": {"unschedulable": False, "taints": fencing.taints_without_out_of_service(node)}}


def _now():
    return datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - datetime.UTC needs Python 3.11 on the managed host


def _failed(assessment):
    return [g["guard"] for g in assessment["guards"] if not g["passed"]]


def _label(pod):
    return f"{pod['namespace']}/{pod['name']}"


class NodeFencer:
    """Runs one fence or unfence pass; every write is skipped in check mode.

    Each action is a progress line of `reporter`, and each write an Event on the Node or the Pod it changed.
    """

    def __init__(self, cluster, params, check_mode=False, diff=False, reporter=None):
        self.cluster = cluster
        self.params = params
        self.check_mode = check_mode
        self.diff = diff
        self.reporter = reporter or Reporter()
        self.changed = False
        self.results = []
        self.before = {}
        self.after = {}
        self.deleted_at = {}
        self.nodes = []
        self.accepted_sign = {}  # node -> its last sign of life when it was confirmed down
        self.holder = params.get("lease_holder") or f"{reporting_instance()}-{self.reporter.run_id}"
        self.leases = FenceLeases(cluster, params["lease_namespace"], self.holder, params["lease_duration"], _now)

    # Reading
    def _nodes(self):
        return self.cluster.list_nodes()

    def _named(self, nodes):
        name = self.params["name"]
        for node in nodes:
            if fencing.node_name(node) == name:
                return node
        known = ", ".join(sorted(fencing.node_name(n) for n in nodes))
        raise K8sError(f"Node {name} does not exist in the cluster (its nodes are: {known}). Check the name.")

    def _pods_on(self, node):
        return self.cluster.list_pods(field_selector=f"spec.nodeName={node}")

    def _record(self, node, pods):
        self.before[fencing.node_name(node)] = dict(fencing.node_state(node), pods=sorted(_label(p) for p in pods))

    # Gates
    def _assess(self):
        nodes = self._nodes()
        named = self._named(nodes) if self.params["name"] else None
        fraction = fencing.fraction_guard(nodes, self.params["max_unreachable_fraction"])
        considered = [named] if named else [n for n in nodes if node_readiness(n)[0] != "True"]
        now = _now()
        assessments = []
        for node in considered:
            node_lease = self.cluster.get_node_lease(fencing.node_name(node))
            assessment = fencing.assess_node(node, node_lease, now, self.params["unreachable_for"])
            assessment["guards"].append(fraction)
            assessment.update(selected=False, actions=[], pending=[], pods_deleted=[], pods_skipped=[], recovery=[])
            self.accepted_sign[assessment["name"]] = fence_levels.last_sign_of_life(node, node_lease)
            assessments.append(assessment)
        return nodes, named, fraction, assessments

    def _assess_until_silent(self):
        timeout = self.params["silence_timeout"] if self.params["name"] else 0
        deadline = monotonic() + timeout if timeout else None
        waiting = False
        while True:
            nodes, named, fraction, assessments = self._assess()
            if deadline is None or not fencing.awaiting_silence(assessments[0]) or monotonic() >= deadline:
                return nodes, named, fraction, assessments
            if not waiting:
                waiting = True
                self.reporter.progress(f"Node {self.params['name']}: waiting up to {timeout} s for it to go silent: {assessments[0]['refusal']}")
            time.sleep(SILENCE_POLL_SECONDS)

    def _gate(self, assessments, by_name):
        """Add the gates of _fence_gates to each node's silence guards; a node passes only when every one passed."""
        self.leases.read_all()
        now = _now()
        views = {node: lease_view(lease, now) for node, lease in self.leases.by_node.items() if node}
        for assessment in assessments:
            name = assessment["name"]
            view = views.get(name) or lease_view(None, now)
            assessment["guards"].extend(gates.gates(by_name[name], view, views, self.holder, self.params, now))
            assessment["lease"] = dict(self._lease_ref(name), holder=view["holder"], held=view["held"], stale=view["stale"],
                                       held_seconds=view["held_seconds"], renewed_seconds=view["renewed_seconds"])
            failed = [g["detail"] for g in assessment["guards"] if not g["passed"]]
            assessment["eligible"] = not failed
            assessment["refusal"] = " ".join(failed) if failed else None

    def _lease_ref(self, name):
        return {"namespace": self.params["lease_namespace"], "name": lease_name(name)}

    # Fencing
    def fence(self):
        nodes, named, fraction, assessments = self._assess_until_silent()
        self.nodes = nodes
        self.results.extend(assessments)
        if not fraction["passed"]:
            raise K8sError(fraction["detail"])
        by_name = {fencing.node_name(n): n for n in nodes}
        self._gate(assessments, by_name)
        if named and not assessments[0]["eligible"] and not gates.only_busy(_failed(assessments[0])):
            raise K8sError(f"Refusing to fence node {fencing.node_name(named)}: {assessments[0]['refusal']}")
        if assessments:
            self.reporter.progress(self._gates_line(assessments))
        try:
            fenced_nodes = self._fence_candidates(assessments, by_name)
            if self.params["wait"] and not self.check_mode:
                for assessment in assessments:
                    self._wait_pets(assessment, fenced_nodes)
        finally:
            self._release_leases()
        if not fenced_nodes:
            self.reporter.progress("No node needs fencing." if not assessments else
                                   f"No node was fenced: {'; '.join(a['refusal'] or 'left for a later run (max_nodes)' for a in assessments)}")

    def _gates_line(self, assessments):
        return "Gates: " + "; ".join(
            f"node {a['name']} " + ("passed all " + str(len(a["guards"])) if a["eligible"] else "refused by " + ", ".join(_failed(a)))
            for a in assessments) + "."

    def _fence_candidates(self, assessments, by_name):
        budget = self.params["max_nodes"]
        fenced_nodes = set()
        for assessment in fencing.order_candidates(assessments):
            node = by_name[assessment["name"]]
            delete, skipped = fencing.select_pods(self._pods_on(assessment["name"]), assessment["name"], self.params["delete_other_pods"])
            assessment["pods_skipped"] = skipped
            if self._fence_needed(node, delete):
                if budget <= 0:
                    assessment["guards"].append(fencing.budget_guard(assessment["name"], self.params["max_nodes"]))
                    continue
                budget -= 1
                assessment["guards"].append(fencing.budget_guard(assessment["name"], self.params["max_nodes"], self.params["max_nodes"] - budget))
                if not self._take_lease(assessment):
                    continue
            assessment["selected"] = True
            fenced_nodes.add(assessment["name"])
            self._record(node, delete)
            self._fence_one(node, delete, assessment)
        return fenced_nodes

    def _take_lease(self, assessment):
        """Take the node's fence Lease before the first write; False when another run got it first (nothing is done)."""
        name = assessment["name"]
        if self.check_mode:
            self.reporter.progress(f"Node {name}: take its fence Lease {self.params['lease_namespace']}/{lease_name(name)} (check mode: not done).")
            return True
        try:
            before = self.leases.acquire(name)
        except LeaseBusy as busy:
            gate = gates.lease_gate(name, busy.view, self.holder)
            assessment["guards"].append(gate)
            assessment.update(eligible=False, refusal=gate["detail"])
            assessment["lease"].update(holder=busy.view["holder"], held=True, held_seconds=busy.view["held_seconds"],
                                       renewed_seconds=busy.view["renewed_seconds"])
            self.reporter.progress(f"Node {name}: {gate['detail']}")
            return False
        taken_from = before["holder"] if before["holder"] not in (None, self.holder) else None
        assessment["lease"].update(holder=self.holder, held=True, taken_over_from=taken_from)
        how = f"took over the stale fence Lease from {taken_from}" if taken_from else "took its fence Lease"
        self.reporter.progress(f"Node {name}: {how} {self.params['lease_namespace']}/{lease_name(name)} as {self.holder}"
                               f" for {self.params['lease_duration']} s.")
        return True

    def _release_leases(self):
        for name in list(self.leases.held):
            try:
                self.leases.release(name)
                self.reporter.progress(f"Node {name}: released its fence Lease.")
            except K8sError as exc:
                self.reporter.warn(f"Could not release the fence Lease of node {name}; it expires after {self.params['lease_duration']} s: {exc.msg}")

    def _fence_needed(self, node, delete):
        state = fencing.node_state(node)
        if not state["unschedulable"]:
            return True
        if not (self.params["fenced_confirmed"] or self.params["levels"]):
            return False
        return bool(delete) or (self.params["out_of_service_taint"] and not state["out_of_service_taint"])

    def _fence_one(self, node, delete, assessment):
        name = fencing.node_name(node)
        state = fencing.node_state(node)
        after = dict(state, pods=self.before[name]["pods"])
        self.after[name] = after
        # Each action is recorded once its write succeeded, so a refused write reports only what really happened.
        if not state["unschedulable"]:
            self._write(
                self.cluster.patch_node, name, {"spec": {"unschedulable": True}, "metadata": {"annotations": {fencing.FENCED_ANNOTATION: _now().isoformat()}}}
            )
            assessment["actions"].append("cordon")
            after["unschedulable"] = True
            why = " ".join(guard["detail"] for guard in assessment["guards"] if guard["passed"])
            self._done(f"Node {name}: cordoned.", node, "NodeUnreachable", "Cordon", f"Cordoned node {name} to fence it. {why}"[:900])
        work_left = bool(delete) or (self.params["out_of_service_taint"] and not state["out_of_service_taint"])
        if not work_left:
            return  # fenced already: no fence action runs again
        confirmed = self.params["fenced_confirmed"]
        if self.params["levels"]:
            confirmed = self._run_levels(node, assessment)
        actions = assessment["actions"] if confirmed else assessment["pending"]
        if self.params["out_of_service_taint"] and not state["out_of_service_taint"]:
            if confirmed:
                self._still_down(name, f"adding the taint {fencing.OUT_OF_SERVICE_KEY}", need_taint=False)
                self._write(self._taint, name)
                after["out_of_service_taint"] = True
                self._done(f"Node {name}: tainted {fencing.OUT_OF_SERVICE_KEY}.", node, "NodeFenced", "Taint",
                           f"Added the taint {fencing.OUT_OF_SERVICE_KEY}=nodeshutdown:NoExecute to node {name}, confirmed down"
                           f" ({self._confirmation()}), so that Kubernetes detaches its volumes and its pods can run elsewhere.")
            actions.append("taint out-of-service")
        if confirmed:
            self._record_last_fence(name)
            self._delete_pods(name, delete, assessment)
            after["pods"] = []
            self._wait_detached(name, assessment)
        else:
            actions.extend(f"force-delete {_label(pod)}" for pod in delete)
            assessment["pods_deleted"] = []
            assessment["pods_skipped"] = delete + assessment["pods_skipped"]
            for pod in delete:
                pod["reason"] = "the node is not confirmed down (set fenced_confirmed after a fence action, or give levels)"
            if actions:
                self.reporter.progress(f"Node {name}: not confirmed down, so it stays cordoned only; with fenced_confirmed or levels the module"
                                       f" would also {', '.join(actions)}.")

    def _confirmation(self):
        return "fenced_confirmed" if self.params["fenced_confirmed"] else "a fence level succeeded and the node stayed silent"

    def _record_last_fence(self, name):
        if name in self.leases.held and not self.check_mode:
            self.leases.renew(name, last_fence=True)

    # Fence levels
    def _run_levels(self, node, assessment):
        """Run the levels in order until one succeeds; True when the node is confirmed down. Check mode only plans."""
        name = fencing.node_name(node)
        levels = self.params["levels"]
        assessment["levels"] = []
        if self.check_mode:
            assessment["actions"].extend(fence_levels.plan(levels, name))
            for line in fence_levels.plan(levels, name):
                self.reporter.progress(f"Node {name}: {line} (check mode: not done).")
            return True
        for number, level in enumerate(levels, 1):
            entry = self._run_level(name, number, level)
            assessment["levels"].append(entry)
            label = fence_levels.level_label(number, level)
            if entry["succeeded"]:
                assessment["actions"].append(f"fence {label}")
                self._done(f"Node {name}: fence {label} succeeded: {entry['verification']}", node, "NodeFenced", "Fence",
                           f"Fence {label} of node {name} succeeded: {entry['verification']}")
                return True
            self._done(f"Node {name}: fence {label} failed: {entry['detail']}", node, "FenceLevelFailed", "Fence",
                       f"Fence {label} of node {name} failed: {entry['detail']}")
        tried = "; ".join(f"{fence_levels.level_label(e['level'], levels[e['level'] - 1])}: {e['detail']}" for e in assessment["levels"])
        raise K8sError(f"Every fence level failed for node {name} ({tried}). Node {name} stays cordoned and its pods were not touched;"
                       " fix the fence actions, or make sure the node is down and run again with fenced_confirmed.")

    def _run_level(self, name, number, level):
        label = fence_levels.level_label(number, level)
        self.reporter.progress(f"Node {name}: running fence {label}.")
        entry = {"level": number, "name": level.get("name"), "actions": [], "succeeded": False, "verification": None, "detail": None}
        for action in level["actions"]:
            done = fence_levels.run_action(action["command"], name, action["timeout"])
            entry["actions"].append(done)
            self.leases.keep_alive()
            failure = fence_levels.action_failure(done)
            if failure:
                entry["detail"] = failure
                return entry
        started = monotonic()
        silent, detail = fence_levels.verify_silence(self.cluster, name, _now(), self.params["settle_time"], _now)
        entry.update(succeeded=silent, verification=detail, verification_seconds=round(monotonic() - started, 2), detail=None if silent else detail)
        if silent:
            self.accepted_sign[name] = fence_levels.last_sign_of_life(self.cluster.get_node(name), self.cluster.get_node_lease(name))
        return entry

    # Force actions, each after a live read of the node
    def _still_down(self, name, before_what, need_taint):
        """Read the node live; stop (K8sError) when it spoke since it was confirmed down, was uncordoned, or lost the taint."""
        if self.check_mode:
            return
        node, node_lease = self.cluster.get_node(name), self.cluster.get_node_lease(name)
        problem = fencing.live_problem(node, fence_levels.last_sign_of_life(node, node_lease), self.accepted_sign.get(name),
                                       need_taint and self.params["out_of_service_taint"])
        if problem:
            raise K8sError(f"Stopped before {before_what}: {problem} Nothing more is done; check the node and run again.")

    def _delete_pods(self, name, delete, assessment):
        for pod in delete:
            pinned = self._pinned_volumes(pod, name)
            entry = self._force_delete(pod, pinned, assessment)
            assessment["pods_deleted"].append(entry)
            assessment["actions"].append(f"force-delete {_label(pod)}")
            self.changed = True

    def _pinned_volumes(self, pod, name):
        """The volumes of a pet that live only on node `name` (PVs pinned to it by nodeAffinity)."""
        if not fencing.is_pet_entry(pod):
            return []
        pinned = []
        for claim in pod["claims"]:
            pvc = self.cluster.find_pvc(pod["namespace"], claim)
            volume = ((pvc or {}).get("spec") or {}).get("volumeName")
            pv = self.cluster.find_pv(volume) if volume else None
            if pv is not None and node_local.pinned_to(pv, name, self.nodes):
                pinned.append(dict(node_local.pinned_volume(pod, claim, pv, name), _pv=pv))
        return pinned

    def _force_delete(self, pod, pinned, assessment):
        entry = dict(pod)
        label = _label(pod)
        recreate = bool(pinned) and self.params["node_local_pets"] == "recreate_empty"
        if pinned:
            entry["node_local_volumes"] = [{k: v for k, v in row.items() if k != "_pv"} for row in pinned]
            entry["pet_state"] = "recreated_empty" if recreate else "waits_for_node"
            entry["note"] = node_local.waits_for_node_note(pod, pinned, pod["node"]) if not recreate else None
        if self.check_mode:
            self.reporter.progress(f"Node {pod['node']}: force-delete pod {label} (check mode: not done).")
            if recreate:
                self.reporter.progress(f"Node {pod['node']}: abandon the data of {label} and recreate it empty elsewhere (check mode: not done).")
            return entry
        self._still_down(pod["node"], f"force-deleting pod {label}", need_taint=True)
        if recreate:
            for row in pinned:
                self._delete_claim(pod, row["claim"])
        try:
            self.cluster.force_delete_pod(pod["namespace"], pod["name"], pod["uid"])
            entry["result"] = "deleted"
        except K8sError as exc:
            # 404: already gone; 409: the UID precondition failed, so this instance is gone and a new one exists.
            if exc.status not in (404, 409):
                raise
            entry["result"] = "already gone"
        self.deleted_at[pod["uid"]] = monotonic()
        if entry["result"] == "deleted":
            regarding = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": pod["namespace"], "name": pod["name"], "uid": pod["uid"]}}
            self._done(f"Node {pod['node']}: force-deleted pod {label}.", regarding, "NodeFenced", "ForceDelete",
                       f"Force-deleted pod {label} (UID {pod['uid']}, grace period 0) on fenced node {pod['node']}, so that its owner"
                       f" {pod['owner']} can recreate it" + (" when the node returns (its data lives only there)." if pinned and not recreate
                                                             else " on a healthy node."))
        else:
            self.reporter.progress(f"Node {pod['node']}: pod {label} was already gone.")
        if recreate:
            entry["note"] = self._recreate_empty(pod, pinned, assessment)
        elif pinned:
            self.reporter.progress(entry["note"])
        return entry

    def _delete_claim(self, pod, claim):
        try:
            self.cluster.delete_pvc(pod["namespace"], claim)
        except K8sError as exc:
            if exc.status != 404:
                raise
        self.reporter.progress(f"Node {pod['node']}: deleted claim {pod['namespace']}/{claim}, whose data lives only on that node"
                               " (node_local_pets=recreate_empty).")

    def _recreate_empty(self, pod, pinned, assessment):
        """Make a fresh, empty PV on a live node for each abandoned claim; the sentence that names the abandoned data."""
        pets = self.cluster.list_pods(namespace=pod["namespace"])
        siblings = [p for p in pets if fencing.pod_entry(p)["owner"] == pod["owner"]]
        target = node_local.target_node(self.nodes, siblings, {pod["node"]}, self._can_host)
        if target is None:
            raise K8sError(f"Cannot recreate pod {_label(pod)} empty: no other node is Ready, schedulable and not excluded from fencing."
                           " Its claim was deleted; add a node and create a PV for it.")
        for row in pinned:
            fresh = node_local.fresh_pv(row["_pv"], target, self.reporter.run_id)
            self.cluster.create_pv(fresh)
            abandoned = {k: v for k, v in row.items() if k != "_pv"}
            assessment.setdefault("abandoned_volumes", []).append(dict(abandoned, new_pv=fresh["metadata"]["name"], new_node=target))
        note = node_local.abandoned_note(pod, pinned, target)
        self.reporter.progress(note)
        return note

    def _can_host(self, node):
        labels = node["metadata"].get("labels") or {}
        return (is_node_ready(node) and not (node.get("spec") or {}).get("unschedulable") and gates.EXCLUDE_LABEL not in labels
                and not gates.is_control_plane(node))

    def _wait_detached(self, name, assessment):
        """Wait until no VolumeAttachment names the node (the proof that its volumes are detached), or report those left."""
        if self.check_mode:
            return
        deadline = monotonic() + self.params["detach_timeout"]
        while True:
            left = sorted(va["metadata"]["name"] for va in self.cluster.list_volume_attachments() if (va.get("spec") or {}).get("nodeName") == name)
            if not left or monotonic() >= deadline:
                break
            self.leases.keep_alive()
            time.sleep(DETACH_POLL_SECONDS)
        assessment["volume_attachments_left"] = left
        if left:
            self.reporter.progress(f"Node {name}: {len(left)} VolumeAttachment(s) still name it after {self.params['detach_timeout']} s:"
                                   f" {', '.join(left)}; their volumes may still be attached there.")
        else:
            self.reporter.progress(f"Node {name}: no VolumeAttachment names it; its volumes are detached.")

    def _write(self, func, *args):
        if not self.check_mode:
            func(*args)
        self.changed = True

    def _done(self, line, regarding, reason, action, note, event_type="Warning"):
        """After a write, a progress line and an Event on the object written; in check mode, only the line."""
        if self.check_mode:
            self.reporter.progress(f"{line[:-1]} (check mode: not done).")
            return
        self.reporter.progress(line)
        record_event(self.cluster, self.reporter, regarding, reason, action, note, event_type)

    def _taint(self, name):
        self._patch_node_fresh(name, self.cluster.get_node(name), lambda node: {"metadata": {}, "spec": {"taints": fencing.taints_with_out_of_service(node)}})

    def _patch_node_fresh(self, name, node, body_for):
        """Patch the node with body_for(node) under its resourceVersion, so that no taint added meanwhile is lost.

        On a conflict (409) read the node again and rebuild the body: the kubelet and the node controllers update a
        node that has just come back several times in its first seconds, so a stale resourceVersion is expected then.
        """
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            body = body_for(node)
            body["metadata"]["resourceVersion"] = node["metadata"]["resourceVersion"]
            try:
                return self.cluster.patch_node(name, body)
            except K8sError as exc:
                if exc.status != 409 or attempt == CONFLICT_ATTEMPTS:
                    raise
            node = self.cluster.get_node(name)

    # Waiting for the pets
    def _wait_pets(self, assessment, fenced_nodes):
        deadline = monotonic() + self.params["wait_timeout"]
        for old in assessment["pods_deleted"]:
            if not old.get("owner", "").startswith("StatefulSet/"):
                continue
            if old.get("pet_state") == "waits_for_node":
                assessment["recovery"].append({"namespace": old["namespace"], "name": old["name"], "node": None, "ready": False,
                                               "state": "waits_for_node", "note": old["note"]})
                continue
            self._wait_pet(assessment, old, fenced_nodes, deadline)

    def _wait_pet(self, assessment, old, fenced_nodes, deadline):
        label = _label(old)
        while True:
            pod = self.cluster.find_pod(old["namespace"], old["name"])
            done, detail = fencing.pet_recovered(old, pod, fenced_nodes)
            if pod is None:
                expected, note = fencing.pet_expected(old, self._statefulset_of(old))
                if not expected:
                    assessment["recovery"].append({"namespace": old["namespace"], "name": old["name"], "node": None, "ready": False,
                                                   "state": "not_recreated", "note": note})
                    self.reporter.progress(note)
                    return
            if done:
                seconds = round(monotonic() - self.deleted_at[old["uid"]], 1)
                assessment["recovery"].append({"namespace": old["namespace"], "name": old["name"], "node": pod["spec"]["nodeName"], "seconds": seconds,
                                               "ready": True, "claims": old["claims"], "state": "recovered"})
                claims = ", ".join(old["claims"]) or "none"
                self.reporter.progress(f"Pod {label}: Ready again on {pod['spec']['nodeName']} after {seconds} s, with claims {claims}.")
                return
            if monotonic() >= deadline:
                raise K8sError(f"Pod {label} did not come back within {self.params['wait_timeout']} s: {detail} Check its events and the StatefulSet.")
            self.leases.keep_alive()
            time.sleep(POLL_SECONDS)

    def _statefulset_of(self, old):
        try:
            return self.cluster.get_statefulset(old["namespace"], old["owner"].split("/", 1)[1])
        except K8sError as exc:
            if exc.status == 404:
                return None
            raise

    # Unfencing
    def unfence(self):
        nodes = self._nodes()
        targets = [self._named(nodes)] if self.params["name"] else [n for n in nodes if fencing.is_fenced_by_us(n)]
        self.leases.read_all()
        for node in targets:
            self._unfence_one(node)
        if not any(entry["selected"] for entry in self.results):
            self.reporter.progress("No node was unfenced." if self.results else "No node is fenced.")

    def _unfence_one(self, node):
        name = fencing.node_name(node)
        entry = {"name": name, "selected": True, "guards": [], "actions": [], "pending": [], "pods_deleted": [], "pods_skipped": [], "recovery": []}
        self.results.append(entry)
        view = self.leases.view(name)
        entry["guards"].append(gates.lease_gate(name, view, self.holder))
        if not entry["guards"][-1]["passed"]:
            entry["selected"] = False
            self.reporter.progress(f"Node {name}: not unfenced: {entry['guards'][-1]['detail']}")
            return
        node = self._await_ready(node)
        status = node_readiness(node)[0]
        entry["ready"] = status
        entry["guards"].append(fencing.unfence_guard(name, status))
        if status != "True":
            if self.params["name"] and not self.check_mode:
                raise K8sError(entry["guards"][-1]["detail"])
            entry["selected"] = False
            return
        node, settled = self._await_settled(node)
        entry["guards"].append(settled)
        if not settled["passed"]:
            if self.params["name"] and not self.check_mode:
                raise K8sError(settled["detail"])
            entry["selected"] = False
            return
        state = fencing.node_state(node)
        self.before[name] = state
        self.after[name] = {"unschedulable": False, "out_of_service_taint": False}
        annotated = fencing.FENCED_ANNOTATION in (node["metadata"].get("annotations") or {})
        if state["out_of_service_taint"]:
            entry["actions"].append("remove out-of-service taint")
        if state["unschedulable"]:
            entry["actions"].append("uncordon")
        if entry["actions"] or annotated:
            self._write(self._patch_node_fresh, name, node, _unfence_body)
            done = " and ".join(entry["actions"]) or "remove the fence annotation"
            self._done(f"Node {name}: unfenced ({done}).", node, "NodeRecovered", "Unfence",
                       f"Unfenced node {name}, which has been Ready for at least {self.params['settle_time']} s: {done}.", event_type="Normal")
        if view["holder"]:
            try:
                self._write(self.leases.release_stale, name)
            except LeaseBusy as busy:  # another run took it between our read and our write: leave it to that run
                self.reporter.warn(f"Node {name}: its fence Lease was taken meanwhile by {busy.view['holder']}; it is left to that run.")
                return
            entry["actions"].append("release fence lease")
            done = " (check mode: not done)." if self.check_mode else "."
            self.reporter.progress(f"Node {name}: released its fence Lease, held by {view['holder']}{done}")

    def _await_ready(self, node):
        if not self.params["wait"] or self.check_mode:
            return node
        name = fencing.node_name(node)
        deadline = monotonic() + self.params["wait_timeout"]
        while node_readiness(node)[0] != "True" and monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            node = self.cluster.get_node(name)
        return node

    def _await_settled(self, node):
        """(node, gate): wait out the rest of settle_time while the node stays Ready (no new Ready transition meanwhile)."""
        name = fencing.node_name(node)
        settle = self.params["settle_time"]
        since = node_readiness(node)[1]
        ready_for = seconds_since(since, _now()) or 0.0
        if ready_for < settle and not self.check_mode:
            self.reporter.progress(f"Node {name}: Ready for {ready_for:.0f} s; waiting until it has been Ready for {settle} s.")
            time.sleep(settle - ready_for)
            node = self.cluster.get_node(name)
            status, again = node_readiness(node)
            if status != "True" or again != since:
                return node, fencing.settled_guard(name, False, settle, None)
            ready_for = seconds_since(again, _now()) or settle
        return node, fencing.settled_guard(name, True, settle, ready_for)

    def result(self):
        result = {"changed": self.changed, "nodes": self.results, "confirmed": self.params["fenced_confirmed"], "run_id": self.reporter.run_id,
                  "lease_holder": self.holder}
        if self.diff:
            result["diff"] = {"before": self.before, "after": self.after}
        return result


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
