# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One fence pass of node_fence (state=present): the silence guards and the gates, the choice of nodes within
max_nodes, the fence Lease, the cordon, the fence levels, the out-of-service taint, then the pods.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!
"""

from __future__ import annotations

import time

from ansible_collections.stateful.pets.plugins.module_utils import _fence_gates as gates
from ansible_collections.stateful.pets.plugins.module_utils import _fence_levels as fence_levels
from ansible_collections.stateful.pets.plugins.module_utils import _fence_run as fence_run
from ansible_collections.stateful.pets.plugins.module_utils import _fencing as fencing
from ansible_collections.stateful.pets.plugins.module_utils._fence_lease import LeaseBusy, lease_name, lease_view
from ansible_collections.stateful.pets.plugins.module_utils._fence_pods import FencedNodePods
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._predicates import node_readiness
from ansible_collections.stateful.pets.plugins.module_utils._unfencer import NodeUnfencer

SILENCE_POLL_SECONDS = 0.5


class NodeFencer(FencedNodePods, NodeUnfencer):
    """Runs one fence (fence()) or unfence (unfence()) pass; result() is the module's result."""

    def _record(self, node, pods):
        self.before[fencing.node_name(node)] = dict(fencing.node_state(node), pods=sorted(fence_run.label(p) for p in pods))

    # Gates
    def _assess(self):
        nodes = self._nodes()
        named = self._named(nodes) if self.params["name"] else None
        fraction = fencing.fraction_guard(nodes, self.params["max_unreachable_fraction"])
        considered = [named] if named else [n for n in nodes if node_readiness(n)[0] != "True"]
        now = fence_run.now()
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
        deadline = fence_run.monotonic() + timeout if timeout else None
        waiting = False
        while True:
            nodes, named, fraction, assessments = self._assess()
            if deadline is None or not fencing.awaiting_silence(assessments[0]) or fence_run.monotonic() >= deadline:
                return nodes, named, fraction, assessments
            if not waiting:
                waiting = True
                self.reporter.progress(f"Node {self.params['name']}: waiting up to {timeout} s for it to go silent: {assessments[0]['refusal']}")
            time.sleep(SILENCE_POLL_SECONDS)

    def _gate(self, assessments, by_name):
        """Add the gates of _fence_gates to each node's silence guards; a node passes only when every one passed."""
        self.leases.read_all()
        now = fence_run.now()
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
        if named and not assessments[0]["eligible"] and not gates.only_busy(fence_run.failed_guards(assessments[0])):
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
            f"node {a['name']} " + ("passed all " + str(len(a["guards"])) if a["eligible"] else "refused by " + ", ".join(fence_run.failed_guards(a)))
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
            cordon = {"spec": {"unschedulable": True}, "metadata": {"annotations": {fencing.FENCED_ANNOTATION: fence_run.now().isoformat()}}}
            self._write(self.cluster.patch_node, name, cordon)
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
            actions.extend(f"force-delete {fence_run.label(pod)}" for pod in delete)
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

    def _taint(self, name):
        self._patch_node_fresh(name, self.cluster.get_node(name), lambda node: {"metadata": {}, "spec": {"taints": fencing.taints_with_out_of_service(node)}})

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
        started = fence_run.monotonic()
        silent, detail = fence_levels.verify_silence(self.cluster, name, fence_run.now(), self.params["settle_time"], fence_run.now)
        entry.update(succeeded=silent, verification=detail, verification_seconds=round(fence_run.monotonic() - started, 2), detail=None if silent else detail)
        if silent:
            self.accepted_sign[name] = fence_levels.last_sign_of_life(self.cluster.get_node(name), self.cluster.get_node_lease(name))
        return entry
