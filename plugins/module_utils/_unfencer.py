# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unfencing: a node that is back and has stayed Ready for settle_time is uncordoned, loses the out-of-service
taint and the fence annotation, and its fence Lease is released.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!
"""

from __future__ import annotations

import time

from ansible_collections.stateful.pets.plugins.module_utils import _fence_run as fence_run
from ansible_collections.stateful.pets.plugins.module_utils import _fencing as fencing
from ansible_collections.stateful.pets.plugins.module_utils._fence_gates import lease_gate
from ansible_collections.stateful.pets.plugins.module_utils._fence_lease import LeaseBusy
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._predicates import node_readiness, seconds_since


def _unfence_body(node):
    """Uncordon, drop the out-of-service taint (keeping every other taint) and the fenced annotation."""
    return {"metadata": {"annotations": {fencing.FENCED_ANNOTATION: None}},
            "spec": {"unschedulable": False, "taints": fencing.taints_without_out_of_service(node)}}


class NodeUnfencer(fence_run.FenceRun):
    """One unfence pass (state=absent)."""

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
        entry["guards"].append(lease_gate(name, view, self.holder))
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
        deadline = fence_run.monotonic() + self.params["wait_timeout"]
        while node_readiness(node)[0] != "True" and fence_run.monotonic() < deadline:
            time.sleep(fence_run.POLL_SECONDS)
            node = self.cluster.get_node(name)
        return node

    def _await_settled(self, node):
        """(node, gate): wait out the rest of settle_time while the node stays Ready (no new Ready transition meanwhile)."""
        name = fencing.node_name(node)
        settle = self.params["settle_time"]
        since = node_readiness(node)[1]
        ready_for = seconds_since(since, fence_run.now()) or 0.0
        if ready_for < settle and not self.check_mode:
            self.reporter.progress(f"Node {name}: Ready for {ready_for:.0f} s; waiting until it has been Ready for {settle} s.")
            time.sleep(settle - ready_for)
            node = self.cluster.get_node(name)
            status, again = node_readiness(node)
            if status != "True" or again != since:
                return node, fencing.settled_guard(name, False, settle, None)
            ready_for = seconds_since(again, fence_run.now()) or settle
        return node, fencing.settled_guard(name, True, settle, ready_for)
