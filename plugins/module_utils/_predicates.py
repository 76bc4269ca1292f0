# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Predicates on Kubernetes objects, written once for every module.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Objects are plain dicts in the API's own JSON form (camelCase keys, RFC 3339 time strings), as Cluster returns them.
"""

from __future__ import annotations

import datetime


def parse_time(stamp):
    """A timezone-aware datetime from an API timestamp (RFC 3339 text, or a datetime already), or None when unset."""
    if not stamp:
        return None
    if isinstance(stamp, datetime.datetime):
        return stamp
    return datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))


def seconds_since(stamp, now):
    """Seconds from `stamp` to `now` (an aware datetime), never negative; None when the stamp is unset."""
    since = parse_time(stamp)
    return None if since is None else max(0.0, (now - since).total_seconds())


def condition(obj, condition_type):
    """The condition of `condition_type` in obj.status.conditions, or None when there is none."""
    for found in (obj.get("status") or {}).get("conditions") or []:
        if found.get("type") == condition_type:
            return found
    return None


def is_terminating(obj):
    """Deletion was requested: the object has a deletionTimestamp."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_running_ready(pod):
    """The pod is Running, its Ready condition is True and it is not terminating."""
    ready = condition(pod, "Ready")
    return (pod.get("status") or {}).get("phase") == "Running" and not is_terminating(pod) and bool(ready) and ready.get("status") == "True"


def ready_for(pod, now):
    """Seconds the pod has been Ready at `now` (an aware datetime), or None when it is not Running and Ready."""
    if not is_running_ready(pod):
        return None
    held = seconds_since(condition(pod, "Ready").get("lastTransitionTime"), now)
    return 0.0 if held is None else held


def node_readiness(node):
    """(status, lastTransitionTime) of the node's Ready condition; the status is 'Missing' when the node has none."""
    ready = condition(node, "Ready")
    if ready is None:
        return "Missing", None
    return ready.get("status") or "Unknown", ready.get("lastTransitionTime")


def is_node_ready(node):
    return node_readiness(node)[0] == "True"


def controller_of(obj):
    """The ownerReference that controls `obj` (controller: true), or None."""
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("controller"):
            return owner
    return None


def _matches_requirement(values_of, requirement):
    """One NodeSelectorRequirement (In, NotIn, Exists, DoesNotExist, Gt, Lt) against a dict of the node's values."""
    operator, key, wanted = requirement.get("operator"), requirement.get("key"), requirement.get("values") or []
    value = values_of.get(key)
    if operator == "In":
        return value is not None and value in wanted
    if operator == "NotIn":
        return value is None or value not in wanted
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and wanted:
        try:
            have, limit = int(value), int(wanted[0])
        except ValueError:
            return False
        return have > limit if operator == "Gt" else have < limit
    return False


def node_matches_terms(node, terms):
    """Whether `node` satisfies nodeSelectorTerms (ORed terms of ANDed requirements), as a PV's nodeAffinity uses them."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    fields = {"metadata.name": (node.get("metadata") or {}).get("name")}
    for term in terms or []:
        expressions, field_expressions = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not expressions and not field_expressions:
            continue  # an empty term matches no node
        if all(_matches_requirement(labels, r) for r in expressions) and all(_matches_requirement(fields, r) for r in field_expressions):
            return True
    return False


def labels_match_selector(labels, selector):
    """Whether `labels` satisfy a LabelSelector (matchLabels and matchExpressions); an empty selector matches everything."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_matches_requirement(labels, requirement) for requirement in selector.get("matchExpressions") or [])
