# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pets whose data lives only on one node: PersistentVolumes pinned to a node by nodeAffinity.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

When such a node is fenced, its pet cannot run anywhere else with its data: node_fence still frees its identity
(force-delete) and reports it `waits_for_node`. Only on request (`node_local_pets: recreate_empty`) does it abandon the
data: the claim is deleted and a fresh, empty PV is made on a live node for the claim the StatefulSet recreates.
Pure: objects in, sentences and bodies out.
"""

from __future__ import annotations

from ansible_collections.stateful.pets.plugins.module_utils._predicates import node_matches_terms

RECREATED_FROM_LABEL = "stateful.pets/recreated-from"


def affinity_terms(pv):
    return (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or []


def pinned_to(pv, node_name, nodes):
    """True when the PV's nodeAffinity admits `node_name` and no other node of the cluster."""
    terms = affinity_terms(pv)
    if not terms:
        return False
    matching = {n["metadata"]["name"] for n in nodes if node_matches_terms(n, terms)}
    return matching == {node_name}


def pinned_volume(pet, claim, pv, node_name):
    """The report row of one pinned volume of a pet."""
    spec = pv.get("spec") or {}
    path = (spec.get("hostPath") or spec.get("local") or {}).get("path")
    return {"claim": claim, "pv": pv["metadata"]["name"], "node": node_name, "path": path, "pet": f"{pet['namespace']}/{pet['name']}"}


def waits_for_node_note(pet, volumes, node_name):
    label = f"{pet['namespace']}/{pet['name']}"
    pvs = ", ".join(v["pv"] for v in volumes)
    return (f"Pod {label} waits for node {node_name}: its data lives only on that node (PersistentVolume {pvs} is pinned to it by"
            f" nodeAffinity), so it comes back when the node returns and is unfenced. Its identity is free, and no other instance runs.")


def abandoned_note(pet, volumes, target):
    label = f"{pet['namespace']}/{pet['name']}"
    lost = ", ".join(f"{v['pv']} ({v['path']} on node {v['node']})" for v in volumes)
    return (f"Pod {label} starts empty on node {target} (node_local_pets=recreate_empty): the data of PersistentVolume {lost} is abandoned;"
            " it stays on that node's disk, and the PV stays Released for you to recover or delete.")


def fresh_pv(old_pv, target_node, suffix):
    """A new, empty PV like `old_pv` (class, size, modes, claimRef by name), pinned to `target_node`, at a new path."""
    old_meta, old_spec = old_pv["metadata"], old_pv.get("spec") or {}
    labels = dict(old_meta.get("labels") or {}, **{RECREATED_FROM_LABEL: old_meta["name"][:63]})
    spec = {key: value for key, value in old_spec.items() if key not in ("claimRef", "nodeAffinity", "hostPath", "local")}
    claim = old_spec.get("claimRef") or {}
    spec["claimRef"] = {"namespace": claim.get("namespace"), "name": claim.get("name")}
    for source in ("hostPath", "local"):
        if old_spec.get(source):
            spec[source] = dict(old_spec[source], path=f"{old_spec[source]['path'].rstrip('/')}-{suffix}")
    if "hostPath" in spec:
        spec["hostPath"]["type"] = "DirectoryOrCreate"
    spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [target_node]}]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"{old_meta['name'][:240]}-{suffix}", "labels": labels},
            "spec": spec}


def target_node(nodes, pods, exclude, is_candidate):
    """The live node for a recreated pet: of the nodes `is_candidate` accepts, the one running the fewest of `pods`."""
    counts = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        counts[node] = counts.get(node, 0) + 1
    candidates = sorted((counts.get(n["metadata"]["name"], 0), n["metadata"]["name"]) for n in nodes
                        if n["metadata"]["name"] not in exclude and is_candidate(n))
    return candidates[0][1] if candidates else None
