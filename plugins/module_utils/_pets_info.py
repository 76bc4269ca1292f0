# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic of statefulset_info: which pods are the set's pets, when a rollout is complete, the report rows and messages.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Objects are plain dicts in the API's own JSON form (camelCase keys, RFC 3339 time strings), as Cluster
returns them, so everything here runs without a cluster and without AnsibleModule.
"""

from __future__ import annotations

import re

from ansible_collections.stateful.pets.plugins.module_utils._predicates import condition, controller_of, is_running_ready, is_terminating
from ansible_collections.stateful.pets.plugins.module_utils._scale import claim_templates


def replicas(statefulset):
    """spec.replicas, which the API server defaults to 1 when it is unset."""
    value = statefulset.get("spec", {}).get("replicas")
    return 1 if value is None else value


def _controlled_by_other(pod, statefulset):
    owner = controller_of(pod)
    return owner is not None and (owner.get("kind") != "StatefulSet" or owner.get("name") != statefulset["metadata"]["name"])


def pets_by_ordinal(statefulset, pods):
    """{ordinal: pod} for the pods named <set>-<ordinal> that no other controller owns; other sets' pods are ignored."""
    pattern = re.compile(rf"^{re.escape(statefulset['metadata']['name'])}-(0|[1-9][0-9]*)$")
    found = {}
    for pod in pods:
        match = pattern.match(pod.get("metadata", {}).get("name", ""))
        if match and not _controlled_by_other(pod, statefulset):
            found[int(match.group(1))] = pod
    return found


def not_ready_pets(statefulset, pods):
    """[(pod name, pod or None)] for the ordinals below spec.replicas whose pod is missing, terminating or not Ready."""
    by_ordinal = pets_by_ordinal(statefulset, pods)
    name = statefulset["metadata"]["name"]
    return [(f"{name}-{n}", by_ordinal.get(n)) for n in range(replicas(statefulset)) if not _is_ready(by_ordinal.get(n))]


def _is_ready(pod):
    return pod is not None and is_running_ready(pod)


def status_lag(statefulset):
    """Why the StatefulSet's status does not show a finished rollout, as phrases; empty when it does.

    Missing status fields count as 0. Like kubernetes.core's predicate, OnDelete sets are not held to the update
    revision (their pods change only when deleted); a partitioned rolling update needs only the pods above the partition.
    """
    meta, spec, status = statefulset.get("metadata", {}), statefulset.get("spec", {}), statefulset.get("status") or {}
    want = replicas(statefulset)
    lag = []
    generation, observed = meta.get("generation") or 0, status.get("observedGeneration") or 0
    if observed < generation:
        lag.append(f"the controller has not yet seen generation {generation} of its spec (status.observedGeneration is {observed})")
    for field in ("replicas", "readyReplicas"):
        if (status.get(field) or 0) != want:
            lag.append(f"status.{field} is {status.get(field) or 0}, not {want}")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return lag
    partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
    updated = status.get("updatedReplicas") or 0
    if (updated < want - partition) if partition else (updated != want):
        lag.append(f"status.updatedReplicas is {updated} of {want}" + (f" (partition {partition})" if partition else ""))
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if not partition and current and update and current != update:
        lag.append(f"the rolling update from revision {current} to {update} has not finished")
    return lag


def rollout_complete(statefulset, pods):
    """True when every ordinal below spec.replicas has a Ready pod that is not terminating and the status agrees."""
    return not not_ready_pets(statefulset, pods) and not status_lag(statefulset)


def statefulset_summary(statefulset):
    spec, status = statefulset.get("spec", {}), statefulset.get("status") or {}
    return {
        "name": statefulset["metadata"]["name"],
        "namespace": statefulset["metadata"].get("namespace"),
        "replicas": replicas(statefulset),
        "ready_replicas": status.get("readyReplicas") or 0,
        "updated_replicas": status.get("updatedReplicas") or 0,
        "pod_management_policy": spec.get("podManagementPolicy") or "OrderedReady",
        "service_name": spec.get("serviceName"),
        "claim_templates": claim_templates(statefulset),
    }


def pet_rows(statefulset, pods, pvcs):
    """One row per ordinal below spec.replicas, plus any pod of a higher ordinal that still exists, in ordinal order."""
    name = statefulset["metadata"]["name"]
    by_ordinal = pets_by_ordinal(statefulset, pods)
    claims = {pvc["metadata"]["name"]: pvc for pvc in pvcs}
    rows = []
    for ordinal in sorted(set(range(replicas(statefulset))) | set(by_ordinal)):
        pod = by_ordinal.get(ordinal) or {}
        ready = _is_ready(by_ordinal.get(ordinal))
        rows.append({
            "ordinal": ordinal,
            "name": f"{name}-{ordinal}",
            "uid": pod.get("metadata", {}).get("uid"),
            "node": pod.get("spec", {}).get("nodeName"),
            "phase": pod.get("status", {}).get("phase"),
            "ready": ready,
            "ready_since": (condition(pod, "Ready") or {}).get("lastTransitionTime") if ready else None,
            "claims": [_claim_row(f"{template}-{name}-{ordinal}", claims) for template in claim_templates(statefulset)],
        })
    return rows


def _claim_row(claim_name, claims):
    pvc = claims.get(claim_name) or {}
    return {"name": claim_name, "volume": pvc.get("spec", {}).get("volumeName") or None, "phase": pvc.get("status", {}).get("phase")}


# Messages -----------------------------------------------------------------------------------------

def _detail(reason, message):
    return ": ".join(part for part in (reason, message) if part)


def why_not_ready(pod):
    """The most telling reason a pod that exists is not Ready, as one phrase."""
    if is_terminating(pod):
        return f"it is terminating (deletion requested at {pod['metadata']['deletionTimestamp']})"
    scheduled = condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") != "True":
        return f"it is not scheduled ({_detail(scheduled.get('reason'), scheduled.get('message')) or 'no node chosen yet'})"
    status = pod.get("status", {})
    waiting = []
    containers = [("init container", c) for c in status.get("initContainerStatuses") or []] + [("container", c) for c in status.get("containerStatuses") or []]
    for what, container in containers:
        state = container.get("state") or {}
        if state.get("waiting") is not None:
            detail = _detail(state["waiting"].get("reason"), state["waiting"].get("message")) or "no reason given"
            waiting.append(f"{what} {container.get('name')} is waiting ({detail})")
        elif "running" in state and what == "init container":
            waiting.append(f"init container {container.get('name')} is still running")
        elif "running" in state and not container.get("ready"):
            waiting.append(f"container {container.get('name')} runs but is not ready (its readiness probe fails; restarts: {container.get('restartCount', 0)})")
    if waiting:
        return "; ".join(waiting)
    ready = condition(pod, "Ready")
    if ready and ready.get("status") != "True":
        return f"Ready={ready.get('status')} ({_detail(ready.get('reason'), ready.get('message')) or 'no reason given'})"
    return f"its phase is {status.get('phase') or 'unknown'}"


def why_missing(statefulset, name, pods):
    """Why pod `name` does not exist yet, as one phrase."""
    policy = statefulset.get("spec", {}).get("podManagementPolicy") or "OrderedReady"
    blocked = [pod for pod, _found in not_ready_pets(statefulset, pods) if int(pod.rsplit("-", 1)[1]) < int(name.rsplit("-", 1)[1])]
    if policy == "OrderedReady" and blocked:
        return f"it does not exist yet: with podManagementPolicy OrderedReady the controller creates it only after {blocked[0]} is Ready"
    return "it does not exist: the StatefulSet controller has not created it (look at the StatefulSet's events)"


def timeout_message(statefulset, pods, seconds):
    namespace, name = statefulset["metadata"].get("namespace"), statefulset["metadata"]["name"]
    want = replicas(statefulset)
    waiting = not_ready_pets(statefulset, pods)
    parts = [f"StatefulSet {namespace}/{name} did not finish rolling out within {seconds} s: {want - len(waiting)} of {want} pods are Ready."]
    for pod_name, pod in waiting:
        why = why_missing(statefulset, pod_name, pods) if pod is None else why_not_ready(pod)
        parts.append(f"Pod {namespace}/{pod_name}: {why}.")
    lag = status_lag(statefulset)
    if lag and not waiting:
        parts.append("Every pod is Ready, but the StatefulSet's status does not show a finished rollout: " + "; ".join(lag) + ".")
    parts.append(
        "This module only reads, so nothing was changed."
        " Fix what the pods wait on (for example put a missing image on the nodes or correct the image, or make room for"
        " an unschedulable pod) and run again, or raise wait_timeout if the rollout is only slow."
    )
    return " ".join(parts)


def missing_message(namespace, name):
    return (
        f"StatefulSet {namespace}/{name} does not exist. Check the name and the namespace,"
        f" or create the StatefulSet first (for example with the stateful.pets.statefulset role)."
    )
