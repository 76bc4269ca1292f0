# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure fencing logic: which nodes may be fenced, which pods go, and when a pet is back.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Everything here works on plain dicts in the API's camelCase form (as Cluster
returns them) and never calls the API, so unit tests exercise it directly.
"""

from __future__ import annotations

from ansible_collections.stateful.pets.plugins.module_utils._fence_levels import MIN_SETTLE_TIME
from ansible_collections.stateful.pets.plugins.module_utils._predicates import controller_of, is_running_ready, node_readiness, seconds_since

OUT_OF_SERVICE_KEY = "node.kubernetes.io/out-of-service"
OUT_OF_SERVICE_TAINT = {"key": OUT_OF_SERVICE_KEY, "value": "nodeshutdown", "effect": "NoExecute"}
FENCED_ANNOTATION = "stateful.pets/fenced-at"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# The kubelet renews its Lease every 10 s; a shorter silence proves nothing.
MIN_UNREACHABLE_FOR = 10


def node_name(node):
    return node["metadata"]["name"]


def is_unreachable(node):
    """The node controller lost contact: Ready is Unknown (or was never reported)."""
    return node_readiness(node)[0] in ("Unknown", "Missing")


# The guards that only say "the node is not silent yet"; a node being powered off can still report once.
SILENCE_GUARDS = frozenset(("not_ready", "unreachable_for", "lease_stale"))


def awaiting_silence(assessment):
    """True when the node is refused only by its own silence guards, so it may yet pass them by going quiet."""
    failed = {g["guard"] for g in assessment["guards"] if not g["passed"]}
    return bool(failed) and failed <= SILENCE_GUARDS


def _guard(name, passed, detail):
    return {"guard": name, "passed": bool(passed), "detail": detail}


def assess_node(node, lease, now, unreachable_for):
    """Evaluate the per-node guards; return a dict with `guards`, `eligible` and a `refusal` sentence."""
    name = node_name(node)
    status, since = node_readiness(node)
    unknown_for = seconds_since(since, now)
    renewed = (lease or {}).get("spec", {}).get("renewTime") if lease else None
    lease_age = seconds_since(renewed, now)

    guards = []
    if status == "True":
        guards.append(_guard("not_ready", False, f"Node {name} is Ready: its kubelet talks to the API server, so it is not fenced."))
    elif status == "False":
        guards.append(
            _guard(
                "not_ready",
                False,
                f"Node {name} reports Ready=False: its kubelet still reaches the API server, so fencing it is wrong; repair or drain the node instead.",
            )
        )
    else:
        guards.append(_guard("not_ready", True, f"Node {name} has Ready={status}: the control plane lost contact with it."))
        if unknown_for is None or status == "Missing":
            guards.append(_guard("unreachable_for", True, f"Node {name} never reported its Ready condition."))
        elif unknown_for >= unreachable_for:
            guards.append(_guard("unreachable_for", True, f"Node {name} has been unreachable for {unknown_for:.0f} s (threshold {unreachable_for} s)."))
        else:
            guards.append(
                _guard(
                    "unreachable_for",
                    False,
                    f"Node {name} has been unreachable for only {unknown_for:.0f} s, less than {unreachable_for} s; wait and run again.",
                )
            )
    if lease_age is None:
        guards.append(_guard("lease_stale", True, f"Node {name} has no heartbeat Lease in kube-node-lease."))
    elif lease_age >= unreachable_for:
        guards.append(_guard("lease_stale", True, f"The Lease of node {name} was last renewed {lease_age:.0f} s ago."))
    else:
        guards.append(
            _guard(
                "lease_stale",
                False,
                f"The Lease of node {name} was renewed {lease_age:.0f} s ago (less than {unreachable_for} s): the node may be alive, so it is not fenced.",
            )
        )
    failed = [g["detail"] for g in guards if not g["passed"]]
    return {
        "name": name,
        "ready": status,
        "unreachable_seconds": None if status in ("True", "False") else unknown_for,
        "lease_age_seconds": lease_age,
        "guards": guards,
        "eligible": not failed,
        "refusal": " ".join(failed) if failed else None,
    }


def fraction_guard(nodes, max_fraction):
    """Refuse when more than `max_fraction` of all nodes are unreachable: that smells of a partition."""
    unreachable = sorted(node_name(n) for n in nodes if is_unreachable(n))
    total = len(nodes)
    fraction = len(unreachable) / total if total else 0.0
    if fraction > max_fraction:
        detail = (
            f"{len(unreachable)} of {total} nodes are unreachable ({', '.join(unreachable)}), more than the allowed fraction {max_fraction}: "
            "this looks like a control-plane or network partition, not a dead node, so nothing is fenced. Check the network first."
        )
        return _guard("max_unreachable_fraction", False, detail)
    return _guard("max_unreachable_fraction", True, f"{len(unreachable)} of {total} nodes are unreachable (allowed fraction {max_fraction}).")


def order_candidates(assessments):
    """Eligible nodes, longest-silent first, so the most certainly dead node is fenced first."""
    eligible = [a for a in assessments if a["eligible"]]
    return sorted(eligible, key=lambda a: (-(a["unreachable_seconds"] or 0.0), a["name"]))


def pod_entry(pod):
    owner = controller_of(pod)
    meta = pod["metadata"]
    return {
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "owner": f"{owner['kind']}/{owner['name']}" if owner else None,
        "claims": sorted(v["persistentVolumeClaim"]["claimName"] for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("persistentVolumeClaim")),
    }


def is_pet_entry(entry):
    """A pod_entry() row of a pod that a StatefulSet controls."""
    return (entry.get("owner") or "").startswith("StatefulSet/")


def live_problem(node, last_sign, accepted_sign, need_taint):
    """Why a force action must not go on, from a live read of the node, or None.

    `last_sign` is the node's latest sign of life now and `accepted_sign` the one seen when it was confirmed down.
    """
    name = node_name(node)
    if last_sign is not None and (accepted_sign is None or last_sign > accepted_sign):
        return f"node {name} spoke again at {last_sign.isoformat()} (a Lease renewal or Ready=True) after it was confirmed down, so it may be running."
    if not (node.get("spec") or {}).get("unschedulable"):
        return f"node {name} was uncordoned meanwhile, so someone is bringing it back."
    if need_taint and not has_out_of_service_taint(node):
        return f"the taint {OUT_OF_SERVICE_KEY} was removed from node {name} meanwhile, so someone is bringing it back."
    return None


def is_pet(pod):
    owner = controller_of(pod)
    return bool(owner) and owner.get("kind") == "StatefulSet"


def select_pods(pods, node, delete_other_pods):
    """Split the pods bound to `node` into (to_delete, skipped); each entry is pinned by UID."""
    delete, skipped = [], []
    for pod in sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
        if (pod.get("spec") or {}).get("nodeName") != node:
            continue
        entry = dict(pod_entry(pod), node=node)
        if MIRROR_ANNOTATION in (pod["metadata"].get("annotations") or {}):
            entry["reason"] = "a static (mirror) pod belongs to the node itself"
            skipped.append(entry)
        elif is_pet(pod) or delete_other_pods:
            delete.append(entry)
        else:
            entry["reason"] = "not owned by a StatefulSet (set delete_other_pods to delete it)"
            skipped.append(entry)
    return delete, skipped


def has_out_of_service_taint(node):
    return any(t.get("key") == OUT_OF_SERVICE_KEY for t in (node.get("spec") or {}).get("taints") or [])


def node_state(node):
    """The fields we manage, for diff and idempotence."""
    return {
        "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
        "out_of_service_taint": has_out_of_service_taint(node),
    }


def taints_with_out_of_service(node):
    taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("key") != OUT_OF_SERVICE_KEY]
    return taints + [dict(OUT_OF_SERVICE_TAINT)]


def taints_without_out_of_service(node):
    return [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("key") != OUT_OF_SERVICE_KEY]


def is_fenced_by_us(node):
    return FENCED_ANNOTATION in ((node.get("metadata") or {}).get("annotations") or {}) or has_out_of_service_taint(node)


def pet_recovered(old, pod, fenced_nodes):
    """(done, detail): is `pod` the replacement of `old` (same name, new UID, healthy node, Ready, same claims)?"""
    label = f"{old['namespace']}/{old['name']}"
    if pod is None:
        return False, f"Pod {label} has not been recreated yet."
    if pod["metadata"]["uid"] == old["uid"]:
        return False, f"Pod {label} is still the old instance {old['uid']}."
    if pod["metadata"].get("deletionTimestamp"):
        return False, f"Pod {label} is terminating."
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        return False, f"Pod {label} is not scheduled yet."
    if node in fenced_nodes:
        return False, f"Pod {label} was placed on fenced node {node}."
    if not is_running_ready(pod):
        return False, f"Pod {label} runs on {node} but is not Ready yet."
    claims = pod_entry(pod)["claims"]
    if claims != old["claims"]:
        return False, f"Pod {label} came back with claims {claims}, not {old['claims']}."
    return True, f"Pod {label} is Ready on {node} with claims {claims}."


def budget_guard(name, max_nodes, taken=None):
    """The max_nodes gate: passed with the node's place in this run's budget (`taken` of `max_nodes`), failed without."""
    if taken is not None:
        return _guard("max_nodes", True, f"Node {name} is node {taken} of at most {max_nodes} fenced in this run (max_nodes).")
    return _guard("max_nodes", False, f"Node {name} is left for a later run: at most {max_nodes} node(s) are fenced per run (max_nodes).")


def unfence_guard(name, status):
    if status == "True":
        return _guard("ready", True, f"Node {name} is Ready again.")
    return _guard(
        "ready", False, f"Node {name} is not Ready yet (Ready={status}); bring it back first (power it on, or docker start it) and run again, or set wait."
    )


def settled_guard(name, passed, settle, ready_for):
    if passed:
        return _guard("ready_settled", True, f"Node {name} has been Ready for {ready_for:.0f} s (settle_time {settle} s).")
    return _guard("ready_settled", False, f"Node {name} did not stay Ready for settle_time ({settle} s), so it is not unfenced; run again once it is stable.")


def invalid_params(params):
    """Sentences describing option values the module cannot work with."""
    problems = []
    if params["unreachable_for"] < MIN_UNREACHABLE_FOR:
        problems.append(
            f"unreachable_for must be at least {MIN_UNREACHABLE_FOR} seconds (the kubelet renews its Lease every 10 s), not {params['unreachable_for']}."
        )
    if not 0 < params["max_unreachable_fraction"] <= 1:
        problems.append(f"max_unreachable_fraction must be greater than 0 and at most 1, not {params['max_unreachable_fraction']}.")
    if params["max_nodes"] < 1:
        problems.append(f"max_nodes must be at least 1, not {params['max_nodes']}.")
    if params["wait_timeout"] < 1:
        problems.append(f"wait_timeout must be at least 1 second, not {params['wait_timeout']}.")
    if params["silence_timeout"] < 0:
        problems.append(f"silence_timeout must not be negative, not {params['silence_timeout']}.")
    if params["settle_time"] < MIN_SETTLE_TIME:
        problems.append(f"settle_time must be at least {MIN_SETTLE_TIME} seconds (the kubelet renews its Lease every 10 s, with some jitter),"
                        f" not {params['settle_time']}.")
    for option in ("cooldown", "detach_timeout"):
        if params[option] < 0:
            problems.append(f"{option} must not be negative, not {params[option]}.")
    if params["levels"] and params["fenced_confirmed"]:
        problems.append("Give either levels (the module runs the fence actions and confirms the node down itself) or fenced_confirmed"
                        " (you confirm it), not both.")
    longest = max((a.get("timeout") or 0 for level in params["levels"] or [] for a in level.get("actions") or []), default=0)
    if params["lease_duration"] < 15 or params["lease_duration"] <= longest:
        problems.append(f"lease_duration must be at least 15 seconds and longer than the longest fence action timeout ({longest} s),"
                        f" not {params['lease_duration']}: the Lease is renewed between the steps of a run, not during one.")
    return problems


def pet_expected(old, statefulset):
    """(expected, detail): will the StatefulSet recreate `old`? Not when it was deleted or scaled below its ordinal."""
    label = f"{old['namespace']}/{old['name']}"
    if statefulset is None:
        return False, f"Pod {label} is not recreated: its StatefulSet {old['owner']} no longer exists."
    ordinal = old["name"].rsplit("-", 1)[-1]
    replicas = (statefulset.get("spec") or {}).get("replicas", 1)
    if ordinal.isdigit() and int(ordinal) >= replicas:
        return False, f"Pod {label} is not recreated: its StatefulSet {old['owner']} was scaled to {replicas} replica(s)."
    return True, f"Pod {label} is expected back."
