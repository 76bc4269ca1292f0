# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where replica volumes live: node-local ones pinned to one node each, shared ones on every node.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

The replica_volumes role places its volumes with it (the filter volume_placement), and the verify playbook reports each
pet's storage mode (the filter storage_mode). Pure: objects in, names and sentences out.
"""

from __future__ import annotations

import json

from ansible_collections.stateful.pets.plugins.module_utils._node_local import RECREATED_FROM_LABEL, affinity_terms
from ansible_collections.stateful.pets.plugins.module_utils._predicates import is_node_ready, node_matches_terms

NODE_LOCAL = "node_local"
SHARED = "shared"
HOSTNAME_LABEL = "kubernetes.io/hostname"
ORDINAL_LABEL = "stateful.pets/ordinal"
# Taints that keep an ordinary pod (one without tolerations) off a node.
BLOCKING_TAINT_EFFECTS = ("NoSchedule", "NoExecute")


def _name(obj):
    return obj["metadata"]["name"]


def hostname_of(node):
    """The node's kubernetes.io/hostname label, by which a volume is pinned to it; its name when it has none."""
    return ((node.get("metadata") or {}).get("labels") or {}).get(HOSTNAME_LABEL) or _name(node)


def pinned_node(pv, nodes):
    """The one node whose disk holds the PV, by its nodeAffinity; None when it is not pinned to exactly one node.

    A PV pinned by hostname to a node that has left the cluster still names that node: its data is there.
    """
    terms = affinity_terms(pv)
    if not terms:
        return None
    matching = [_name(node) for node in nodes if node_matches_terms(node, terms)]
    if len(matching) == 1:
        return matching[0]
    expressions = terms[0].get("matchExpressions") or [] if len(terms) == 1 else []
    if not matching and len(expressions) == 1 and expressions[0].get("key") == HOSTNAME_LABEL and expressions[0].get("operator") == "In":
        values = expressions[0].get("values") or []
        return values[0] if len(values) == 1 else None
    return None


def storage_mode(pv):
    """node_local when a nodeAffinity ties the PV to some nodes, shared when every node can mount it."""
    return NODE_LOCAL if affinity_terms(pv) else SHARED


def is_schedulable(node):
    """Whether an ordinary pod can be placed on the node: Ready, not cordoned, no NoSchedule or NoExecute taint."""
    taints = (node.get("spec") or {}).get("taints") or []
    return (is_node_ready(node) and not (node.get("spec") or {}).get("unschedulable")
            and not any(taint.get("effect") in BLOCKING_TAINT_EFFECTS for taint in taints))


def _ordinal(pv):
    try:
        return int(((pv.get("metadata") or {}).get("labels") or {}).get(ORDINAL_LABEL))
    except (TypeError, ValueError):
        return None


def _requested(node_affinity):
    """The user's map as {ordinal: node}; the role's own rules report keys that are not ordinals."""
    requested = {}
    for key, node in (node_affinity or {}).items():
        try:
            requested[int(key)] = node
        except (TypeError, ValueError):
            continue
    return requested


def place(live_pvs, nodes, count, node_affinity, name, namespace):
    """({ordinal: node} for ordinals 0..count-1, [problems]) for the node-local volumes of StatefulSet namespace/name.

    `live_pvs` are the PVs the role made for this set before (found by its labels). The node of an ordinal that has a
    PV already is read from that PV, never chosen again, so a rerun or a scale-up moves nothing. The rest follow
    `node_affinity` ({ordinal: node}), or else go, lowest ordinal first, to the schedulable node that holds the fewest
    of the set's ordinals (by name on a tie).
    """
    node_names = sorted(_name(node) for node in nodes)
    requested = _requested(node_affinity)
    placement, problems = _live_placement(_live_volumes(live_pvs, nodes), requested, name, namespace)
    for ordinal, wanted in sorted(requested.items()):
        if wanted not in node_names:
            problems.append(f"replica_volumes_node_affinity pins ordinal {ordinal} to node {json.dumps(wanted)}, which is not a node of this"
                            f" cluster (its nodes: {', '.join(node_names) or 'none'}). Name one of them.")
        else:
            placement.setdefault(ordinal, wanted)
    problems += _spread(placement, nodes, count, name, namespace)
    return {ordinal: node for ordinal, node in sorted(placement.items()) if ordinal < count}, problems


def _live_volumes(live_pvs, nodes):
    """{ordinal: [(PV name, its node or None, whether it has a nodeAffinity)]} of the role's own PVs of the set."""
    live = {}
    for pv in sorted(live_pvs or [], key=_name):
        ordinal = _ordinal(pv)
        # A PV that node_fence made for a pet recreated empty is not one of the role's: the role's own PV keeps its place.
        if ordinal is not None and RECREATED_FROM_LABEL not in (pv["metadata"].get("labels") or {}):
            live.setdefault(ordinal, []).append((_name(pv), pinned_node(pv, nodes), bool(affinity_terms(pv))))
    return live


def _live_placement(live, requested, name, namespace):
    """({ordinal: node} read from the live PVs, [problems]): a volume never moves, and one that cannot be placed says why."""
    placement, problems = {}, []
    for ordinal, volumes in sorted(live.items()):
        found = sorted({node for _pv, node, _pinned in volumes if node})
        if len(found) > 1:
            held = ", ".join(f"{pv} (node {node})" for pv, node, _pinned in volumes if node)
            problems.append(f"The PersistentVolumes {held} of ordinal {ordinal} of {namespace}/{name} are pinned to different nodes, so pod"
                            f" {name}-{ordinal} can never mount them all. Delete the one whose data you do not need and run again.")
        elif found:
            placement[ordinal] = found[0]
            wanted = requested.get(ordinal)
            if wanted is not None and wanted != found[0]:
                held = next(pv for pv, node, _pinned in volumes if node)
                problems.append(f"replica_volumes_node_affinity pins ordinal {ordinal} to node {json.dumps(wanted)}, but its PersistentVolume"
                                f" {held} already lives on node {found[0]}, with its data. A volume never moves: pin ordinal {ordinal}"
                                f" to {found[0]} or leave it out of the map (or delete the PersistentVolume, and its data, first).")
        elif any(pinned for _pv, _node, pinned in volumes):
            problems.append(f"PersistentVolume {volumes[0][0]} of ordinal {ordinal} of {namespace}/{name} has a nodeAffinity that names no"
                            " single node of this cluster, which the role never writes, and a PersistentVolume's nodeAffinity cannot change."
                            " Delete it (and its data) or give it back its node, and run again.")
        elif ordinal not in requested:
            problems.append(f"PersistentVolume {volumes[0][0]} of ordinal {ordinal} of {namespace}/{name} is pinned to no node (it was made with"
                            f" replica_volumes_storage=shared, or before storage modes existed), so its data is on the node where pod"
                            f" {name}-{ordinal} ran. Name that node for ordinal {ordinal} in replica_volumes_node_affinity to pin it there"
                            f" (`kubectl get pod {name}-{ordinal} -n {namespace} -o wide` shows where the pod runs), or keep"
                            f" replica_volumes_storage=shared for this set.")
    return placement, problems


def _spread(placement, nodes, count, name, namespace):
    """Give each ordinal below `count` without a node the schedulable node with the fewest of the set's ordinals (in
    `placement`, in place); [problems] when no node can take some."""
    candidates = sorted(_name(node) for node in nodes if is_schedulable(node))
    load = {node: 0 for node in candidates}
    for node in placement.values():
        if node in load:
            load[node] += 1
    homeless = []
    for ordinal in range(count):
        if ordinal in placement:
            continue
        if not candidates:
            homeless.append(str(ordinal))
            continue
        chosen = min(candidates, key=lambda node: (load[node], node))
        placement[ordinal] = chosen
        load[chosen] += 1
    if not homeless:
        return []
    return [f"No node can take the node-local volumes of ordinal {', '.join(homeless)} of {namespace}/{name}: every node is"
            " cordoned, not Ready or tainted against ordinary pods. Uncordon a worker, or pin these ordinals with"
            " replica_volumes_node_affinity."]
