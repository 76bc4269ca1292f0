# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic of ordered StatefulSet scaling: the step planner, pod health predicates and messages.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Objects are plain dicts in the API's own JSON form (camelCase keys, RFC 3339 time strings), so that
everything here runs without a cluster and without AnsibleModule.
"""

from __future__ import annotations

import re

from ansible_collections.stateful.pets.plugins.module_utils._predicates import (
    condition,
    is_running_ready,
    is_terminating,
    node_readiness,
    ready_for,
    seconds_since,
)
from ansible_collections.stateful.pets.plugins.module_utils._set_steps import events_text, unhealthy_pods_text

NO_EVENTS = " No events were recorded."
ADD = "add"
REMOVE = "remove"


# Input checks -------------------------------------------------------------------------------------

def input_errors(replicas, timeout, step_timeout, min_ready_seconds):
    """Every problem with the numeric parameters, as sentences; empty when they are fine."""
    errors = []
    if replicas < 0:
        errors.append(f"replicas must be 0 or more, got {replicas}.")
    if timeout <= 0:
        errors.append(f"timeout must be more than 0 seconds, got {timeout}.")
    if step_timeout <= 0:
        errors.append(f"step_timeout must be more than 0 seconds, got {step_timeout}.")
    elif step_timeout > timeout > 0:
        errors.append(f"step_timeout ({step_timeout} s) must not be greater than timeout ({timeout} s): one step could never use it all.")
    if min_ready_seconds is not None and min_ready_seconds < 0:
        errors.append(f"min_ready_seconds must be 0 or more, got {min_ready_seconds}.")
    return errors


# The planner --------------------------------------------------------------------------------------

def plan_steps(current, desired):
    """One step per ordinal: up adds the next free ordinal, down removes the highest first."""
    if desired > current:
        return [{"ordinal": n, "action": ADD, "replicas": n + 1} for n in range(current, desired)]
    return [{"ordinal": n, "action": REMOVE, "replicas": n} for n in range(current - 1, desired - 1, -1)]


def pod_name(set_name, ordinal):
    return f"{set_name}-{ordinal}"


def claim_templates(statefulset):
    return [t.get("metadata", {}).get("name") for t in statefulset.get("spec", {}).get("volumeClaimTemplates") or []]


def claim_names(statefulset, ordinal):
    """The PVC names the controller gives to one ordinal: <template>-<set>-<ordinal>."""
    name = statefulset["metadata"]["name"]
    return [f"{template}-{name}-{ordinal}" for template in claim_templates(statefulset)]


def claims_above(statefulset, pvcs, count):
    """Claims of this set's templates whose ordinal is `count` or more, sorted by ordinal."""
    name = statefulset["metadata"]["name"]
    found = []
    for template in claim_templates(statefulset):
        pattern = re.compile(rf"^{re.escape(template)}-{re.escape(name)}-(\d+)$")
        for pvc in pvcs:
            match = pattern.match(pvc.get("metadata", {}).get("name", ""))
            if match and int(match.group(1)) >= count:
                found.append((int(match.group(1)), claim_summary(pvc)))
    return [summary for _ordinal, summary in sorted(found, key=lambda item: (item[0], item[1]["name"]))]


def claim_summary(pvc):
    return {
        "name": pvc["metadata"]["name"],
        "pv": pvc.get("spec", {}).get("volumeName") or None,
        "phase": pvc.get("status", {}).get("phase"),
    }


def deletes_claims_on_scale_down(statefulset):
    policy = statefulset.get("spec", {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenScaled") == "Delete"


def selector_string(statefulset):
    """The set's matchLabels as a label selector string."""
    labels = statefulset.get("spec", {}).get("selector", {}).get("matchLabels") or {}
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


# Health predicates --------------------------------------------------------------------------------

def health_problems(pod):
    """Why a pod is not healthy, as short phrases; empty when it is Running, Ready and not terminating."""
    if pod is None:
        return ["it does not exist"]
    problems = []
    if is_terminating(pod):
        problems.append(f"it is terminating (deletion requested at {pod['metadata']['deletionTimestamp']})")
    phase = pod.get("status", {}).get("phase")
    if phase != "Running":
        problems.append(f"its phase is {phase}")
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("status") != "True":
            detail = ": ".join(part for part in (cond.get("reason"), cond.get("message")) if part)
            problems.append(f"{cond.get('type')}={cond.get('status')}" + (f" ({detail})" if detail else ""))
    for status in pod.get("status", {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting")
        if waiting:
            detail = ": ".join(part for part in (waiting.get("reason"), waiting.get("message")) if part)
            problems.append(f"container {status.get('name')} is waiting ({detail})")
        elif not status.get("ready"):
            problems.append(f"container {status.get('name')} is not ready (restarts: {status.get('restartCount', 0)})")
    if not problems and not is_running_ready(pod):
        problems.append("it is not Ready")
    return problems


def unhealthy_pods(set_name, pods, count):
    """[(pod name, problems)] for ordinals 0..count-1 that are missing or not healthy, in ordinal order."""
    by_name = {pod["metadata"]["name"]: pod for pod in pods}
    found = []
    for ordinal in range(count):
        name = pod_name(set_name, ordinal)
        pod = by_name.get(name)
        if pod is None or not is_running_ready(pod):
            found.append((name, health_problems(pod)))
    return found


def waiting_on(pod, min_ready_seconds, now):
    """What an added pod still waits on, as one phrase."""
    if pod is None:
        return "the StatefulSet controller to create it"
    if not pod.get("spec", {}).get("nodeName"):
        scheduled = condition(pod, "PodScheduled") or {}
        detail = scheduled.get("message") or scheduled.get("reason") or "no node chosen yet"
        return f"scheduling ({detail})"
    if not is_running_ready(pod):
        return "becoming Running and Ready: " + "; ".join(health_problems(pod))
    if ready_for(pod, now) < min_ready_seconds:
        return f"staying Ready for {min_ready_seconds} s (minReadySeconds)"
    return "the StatefulSet status to count it as ready"


# Messages -----------------------------------------------------------------------------------------

def _events_text(events):
    return events_text(events, NO_EVENTS)


def refuse_message(namespace, name, current, desired, unhealthy, stopped_at=None):
    """`unhealthy` is [(pod name, problems, events)]; `stopped_at` is the replica count reached when earlier steps were taken."""
    outcome = "Nothing was changed." if stopped_at is None else f"The StatefulSet stays at {stopped_at} replicas; no further steps were taken."
    parts = [
        f"Refusing to scale StatefulSet {namespace}/{name} down from {current} to {desired}: scaling down is only safe while every pod is healthy,"
        f" and {len(unhealthy)} {'is' if len(unhealthy) == 1 else 'are'} not. {outcome}"
    ]
    parts.append(unhealthy_pods_text(namespace, unhealthy, NO_EVENTS))
    parts.append(" Fix these pods and run the task again, or set allow_unhealthy_scale_down=true to scale down anyway.")
    return "".join(parts)


def node_note(pod, node_name, node, now):
    """A sentence when the node the pod is on is not Ready (`node` None: it left the cluster); '' when it is Ready."""
    if node is None:
        return f" {pod} is on node {node_name}, which is no longer in the cluster."
    status, since = node_readiness(node)
    if status == "True":
        return ""
    held = seconds_since(since, now)
    return f" {pod} is on node {node_name}, which has been Ready={status}" + (f" for {held:.0f} s." if held is not None else ".")


def up_timeout_message(namespace, name, pod, seconds, waits_on, events, healthy_count, node=""):
    """`node` is node_note() of the pod's node."""
    return (
        f"Scaling StatefulSet {namespace}/{name} up stopped: pod {namespace}/{pod} was not Running and Ready within {seconds} s.{node}"
        f" It waits on {waits_on}.{_events_text(events)} The StatefulSet was set back to {healthy_count} replicas, its last healthy count;"
        f" no further steps were taken."
        f" Fix what the pod waits on and run the task again, or raise step_timeout."
    )


def down_timeout_message(namespace, name, pod, seconds, events, count, node=""):
    return (
        f"Scaling StatefulSet {namespace}/{name} down stopped: pod {namespace}/{pod} was still present {seconds} s after replicas was set to {count}.{node}"
        f" It waits on its termination (finalizers, an unreachable node or a long grace period).{_events_text(events)}"
        f" No further steps were taken. Find out why the pod does not terminate and run the task again."
    )


def unbindable_message(namespace, name, current, desired, problems):
    """`problems` are the sentences of _claims.binding_problems(), one per claim."""
    claims = "a claim" if len(problems) == 1 else f"{len(problems)} claims"
    return (
        f"Refusing to scale StatefulSet {namespace}/{name} up from {current} to {desired}: {claims} of the pods to add cannot bind, so a pod"
        f" would wait for its volume until the step timed out. Nothing was changed. " + " ".join(problems)
        + " Create the missing PersistentVolumes (the playbook stateful.pets.scale makes them before it scales, for a set whose volumes the"
        " role stateful.pets.replica_volumes made), or give the claim template a StorageClass that provisions volumes, and run the task again."
    )


def unbindable_warning(namespace, name, problems):
    """Check mode's word for what a run would refuse: a task before it may create the volumes, which check mode only pretends to."""
    return (
        f"Scaling StatefulSet {namespace}/{name} up would be refused now: " + " ".join(problems)
        + " (In check mode, volumes that an earlier task would create do not exist yet; a real run refuses unless they exist by then.)"
    )


def not_a_statefulset_message(namespace, name, kind):
    if kind:
        return (
            f"{kind} {namespace}/{name} is not a StatefulSet: this module only scales StatefulSets."
            f" Use kubernetes.core.k8s_scale for a {kind}, or name a StatefulSet."
        )
    return f"StatefulSet {namespace}/{name} does not exist. Check the name and the namespace, or create it first."


def missing_namespace_message(namespace, name):
    return f"Namespace {namespace} does not exist, so StatefulSet {namespace}/{name} cannot be scaled. Check the namespace name."


def retention_warning(namespace, name):
    return (
        f"StatefulSet {namespace}/{name} has persistentVolumeClaimRetentionPolicy.whenScaled=Delete: scaling down deletes the claims"
        f" of the removed pods, and their data is lost unless the PersistentVolumes are retained. Set whenScaled to Retain to keep them."
    )


def unhealthy_warning(namespace, name, unhealthy):
    names = ", ".join(pod for pod, _problems in unhealthy)
    return f"Scaling StatefulSet {namespace}/{name} down although these pods are not healthy (allow_unhealthy_scale_down=true): {names}."
