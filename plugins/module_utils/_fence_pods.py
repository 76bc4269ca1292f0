# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pods of a fenced node: each force-delete after a live read of the node, the node-local volumes of its
pets (waited for or abandoned), the wait for its volumes to detach and for its pets to come back.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!
"""

from __future__ import annotations

import time

from ansible_collections.stateful.pets.plugins.module_utils import _fence_levels as fence_levels
from ansible_collections.stateful.pets.plugins.module_utils import _fence_run as fence_run
from ansible_collections.stateful.pets.plugins.module_utils import _fencing as fencing
from ansible_collections.stateful.pets.plugins.module_utils import _node_local as node_local
from ansible_collections.stateful.pets.plugins.module_utils._fence_gates import EXCLUDE_LABEL, is_control_plane
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._predicates import is_node_ready

DETACH_POLL_SECONDS = 1


class FencedNodePods(fence_run.FenceRun):
    """What a fence does to the pods of a node confirmed down, and the waits that follow."""

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
            assessment["actions"].append(f"force-delete {fence_run.label(pod)}")
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
        label = fence_run.label(pod)
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
        self.deleted_at[pod["uid"]] = fence_run.monotonic()
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
            raise K8sError(f"Cannot recreate pod {fence_run.label(pod)} empty: no other node is Ready, schedulable and not excluded from fencing."
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
        return (is_node_ready(node) and not (node.get("spec") or {}).get("unschedulable") and EXCLUDE_LABEL not in labels
                and not is_control_plane(node))

    def _wait_detached(self, name, assessment):
        """Wait until no VolumeAttachment names the node (the proof that its volumes are detached), or report those left."""
        if self.check_mode:
            return
        deadline = fence_run.monotonic() + self.params["detach_timeout"]
        while True:
            left = sorted(va["metadata"]["name"] for va in self.cluster.list_volume_attachments() if (va.get("spec") or {}).get("nodeName") == name)
            if not left or fence_run.monotonic() >= deadline:
                break
            self.leases.keep_alive()
            time.sleep(DETACH_POLL_SECONDS)
        assessment["volume_attachments_left"] = left
        if left:
            self.reporter.progress(f"Node {name}: {len(left)} VolumeAttachment(s) still name it after {self.params['detach_timeout']} s:"
                                   f" {', '.join(left)}; their volumes may still be attached there.")
        else:
            self.reporter.progress(f"Node {name}: no VolumeAttachment names it; its volumes are detached.")

    # Waiting for the pets
    def _wait_pets(self, assessment, fenced_nodes):
        deadline = fence_run.monotonic() + self.params["wait_timeout"]
        for old in assessment["pods_deleted"]:
            if not old.get("owner", "").startswith("StatefulSet/"):
                continue
            if old.get("pet_state") == "waits_for_node":
                assessment["recovery"].append({"namespace": old["namespace"], "name": old["name"], "node": None, "ready": False,
                                               "state": "waits_for_node", "note": old["note"]})
                continue
            self._wait_pet(assessment, old, fenced_nodes, deadline)

    def _wait_pet(self, assessment, old, fenced_nodes, deadline):
        label = fence_run.label(old)
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
                seconds = round(fence_run.monotonic() - self.deleted_at[old["uid"]], 1)
                assessment["recovery"].append({"namespace": old["namespace"], "name": old["name"], "node": pod["spec"]["nodeName"], "seconds": seconds,
                                               "ready": True, "claims": old["claims"], "state": "recovered"})
                claims = ", ".join(old["claims"]) or "none"
                self.reporter.progress(f"Pod {label}: Ready again on {pod['spec']['nodeName']} after {seconds} s, with claims {claims}.")
                return
            if fence_run.monotonic() >= deadline:
                raise K8sError(f"Pod {label} did not come back within {self.params['wait_timeout']} s: {detail} Check its events and the StatefulSet.")
            self.leases.keep_alive()
            time.sleep(fence_run.POLL_SECONDS)

    def _statefulset_of(self, old):
        try:
            return self.cluster.get_statefulset(old["namespace"], old["owner"].split("/", 1)[1])
        except K8sError as exc:
            if exc.status == 404:
                return None
            raise
