# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The gates node_fence evaluates before any write, beside the node's own silence guards of _fencing.py.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Each gate is a dict {guard, passed, detail} with a full sentence. Pure: nodes and Lease views in, gates out.
"""

from __future__ import annotations

from ansible_collections.stateful.pets.plugins.module_utils._fence_lease import holder_text, last_fence_time
from ansible_collections.stateful.pets.plugins.module_utils._predicates import parse_time

EXCLUDE_LABEL = "stateful.pets/exclude-from-fencing"
PAUSE_ANNOTATION = "stateful.pets/fencing-paused-until"
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
# Another run is busy: the run reports it and changes nothing, without failing.
BUSY_GATES = frozenset(("fence_lease", "no_other_fence"))


def _gate(name, passed, detail):
    return {"guard": name, "passed": bool(passed), "detail": detail}


def is_control_plane(node):
    labels = (node.get("metadata") or {}).get("labels") or {}
    return any(label in labels for label in CONTROL_PLANE_LABELS)


def exclude_gate(node):
    name = node["metadata"]["name"]
    labels = node["metadata"].get("labels") or {}
    if EXCLUDE_LABEL in labels:
        return _gate("excluded", False, f"Node {name} carries the label {EXCLUDE_LABEL}, so it is never fenced; remove the label to allow it.")
    return _gate("excluded", True, f"Node {name} does not carry the label {EXCLUDE_LABEL}.")


def pause_gate(node, now):
    name = node["metadata"]["name"]
    until_text = (node["metadata"].get("annotations") or {}).get(PAUSE_ANNOTATION)
    if not until_text:
        return _gate("paused", True, f"Fencing of node {name} is not paused (no annotation {PAUSE_ANNOTATION}).")
    try:
        until = parse_time(until_text)
        if until.tzinfo is None:
            raise ValueError("no time zone")
    except ValueError:
        return _gate("paused", False, f"Node {name} has the annotation {PAUSE_ANNOTATION}={until_text!r}, which is not an RFC 3339 time with a"
                                      " time zone (for example 2026-12-01T18:00:00Z); fencing stays paused until it is fixed or removed.")
    if until > now:
        return _gate("paused", False, f"Fencing of node {name} is paused until {until_text} (annotation {PAUSE_ANNOTATION}).")
    return _gate("paused", True, f"The pause of fencing for node {name} ended at {until_text}.")


def control_plane_gate(node, allow_control_plane):
    name = node["metadata"]["name"]
    if not is_control_plane(node):
        return _gate("control_plane", True, f"Node {name} is not a control-plane node.")
    if allow_control_plane:
        return _gate("control_plane", True, f"Node {name} is a control-plane node, and allow_control_plane allows fencing it.")
    return _gate("control_plane", False, f"Node {name} is a control-plane node; fencing it is refused unless allow_control_plane is set.")


def lease_gate(node_name, view, holder):
    """The node's own fence Lease: free, ours, or stale passes; held by another run fails (a busy gate)."""
    if view["held"] and view["holder"] != holder:
        return _gate("fence_lease", False, f"Another run is fencing node {node_name}: its fence Lease is held by {holder_text(view)}; nothing is done.")
    if view["stale"] and view["holder"] != holder:
        return _gate("fence_lease", True, f"The fence Lease of node {node_name} is stale (held by {holder_text(view)}, past its {view['duration']} s),"
                                          " so this run takes it over.")
    return _gate("fence_lease", True, f"The fence Lease of node {node_name} is free for this run.")


def other_fence_gate(node_name, views, holder):
    """No fence while another run fences another node of the cluster (a busy gate)."""
    busy = sorted(other for other, view in views.items() if other != node_name and view["held"] and view["holder"] != holder)
    if busy:
        view = views[busy[0]]
        return _gate("no_other_fence", False, f"Another run is fencing node {busy[0]} (its fence Lease is held by {holder_text(view)}), so node"
                                              f" {node_name} is not fenced now; run again once it is done.")
    return _gate("no_other_fence", True, "No other run is fencing a node of this cluster.")


def cooldown_gate(node_name, views, cooldown, now):
    """At least `cooldown` seconds since the last confirmed fence of another node, as recorded on the fence Leases."""
    fences = [(last_fence_time(view), other) for other, view in views.items() if other != node_name and last_fence_time(view)]
    if not fences:
        return _gate("cooldown", True, "No other node of this cluster has been fenced before (no last fence on the fence Leases).")
    when, other = max(fences)
    since = (now - when).total_seconds()
    if since < cooldown:
        return _gate("cooldown", False, f"Node {other} was fenced {since:.0f} s ago, less than the cooldown of {cooldown} s; node {node_name} is"
                                        f" not fenced before {cooldown - since:.0f} s have passed.")
    return _gate("cooldown", True, f"The last fence in this cluster (node {other}) was {since:.0f} s ago (cooldown {cooldown} s).")


def gates(node, view, views, holder, params, now):
    """Every gate of one node besides its silence guards and the cluster-wide fraction, in the order they are reported."""
    name = node["metadata"]["name"]
    return [
        exclude_gate(node),
        pause_gate(node, now),
        control_plane_gate(node, params["allow_control_plane"]),
        cooldown_gate(name, views, params["cooldown"], now),
        lease_gate(name, view, holder),
        other_fence_gate(name, views, holder),
    ]


def only_busy(failed_names):
    """True when the node is refused only because another run is busy."""
    return bool(failed_names) and set(failed_names) <= BUSY_GATES
