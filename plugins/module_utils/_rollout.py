# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic of an ordered StatefulSet rollout: the desired template, revisions, the planner, the gates and messages.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Objects are plain dicts in the API's own JSON form, so that everything here runs without a cluster.
"""

from __future__ import annotations

import copy

from ansible_collections.stateful.pets.plugins.module_utils._predicates import is_terminating, ready_for
from ansible_collections.stateful.pets.plugins.module_utils._scale import waiting_on
from ansible_collections.stateful.pets.plugins.module_utils._set_steps import events_text, unhealthy_pods_text

ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"
ROLLBACK = "rollback"
PAUSE = "pause"
REVISION_LABEL = "controller-revision-hash"


# Input checks -------------------------------------------------------------------------------------

def image_has_tag(reference):
    """True when the image reference names a tag or a digest (a registry port is not a tag)."""
    if "@" in reference:
        return True
    last = reference.rsplit("/", 1)[-1]
    return ":" in last and not last.endswith(":")


def param_errors(params):
    """Problems that need no cluster to find, as sentences; empty when there are none."""
    errors = []
    if params["timeout"] <= 0:
        errors.append(f"timeout must be more than 0 seconds, got {params['timeout']}.")
    if params["step_timeout"] <= 0:
        errors.append(f"step_timeout must be more than 0 seconds, got {params['step_timeout']}.")
    elif params["step_timeout"] > params["timeout"] > 0:
        errors.append(f"step_timeout ({params['step_timeout']} s) must not be greater than timeout ({params['timeout']} s).")
    if params["partition"] < 0:
        errors.append(f"partition must be 0 or more, got {params['partition']}.")
    images = requested_images(params)
    if params.get("images") is not None and not images:
        errors.append("images is empty; name at least one container, or leave images out to resume a rollout.")
    for container, image in images.items():
        if not image_has_tag(image):
            errors.append(f"image {image!r} for container {container or '(the only one)'} has no tag; name a tag or a digest (never an implied latest).")
    return errors


def requested_images(params):
    """{container name: image}; the key is None for `image`, which means the template's only container."""
    if params.get("image"):
        return {None: params["image"]}
    return dict(params.get("images") or {})


def statefulset_errors(params, statefulset):
    """Problems of the request against this StatefulSet, as sentences; empty when there are none."""
    errors = []
    spec = statefulset.get("spec") or {}
    replicas = replicas_of(statefulset)
    if params["partition"] > replicas:
        errors.append(f"partition {params['partition']} is above the replica count {replicas}; use 0 to {replicas}.")
    names = container_names(spec.get("template") or {})
    images = requested_images(params)
    if None in images and len(spec.get("template", {}).get("spec", {}).get("containers") or []) != 1:
        errors.append(f"image needs a template with exactly one container, and this one has {', '.join(names) or 'none'}; use images to name them.")
    unknown = sorted(name for name in images if name is not None and name not in names)
    if unknown:
        errors.append(f"the template has no container named {', '.join(unknown)}; its containers are {', '.join(names) or 'none'}.")
    return errors


def container_names(template):
    spec = template.get("spec") or {}
    return [c.get("name") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]


# The desired template -----------------------------------------------------------------------------

def merge_into(base, patch):
    """`patch` merged into a copy of `base`: maps merge key by key, a null removes a key, lists whose items all carry a
    `name` merge item by item by name, and any other value (or list) replaces."""
    merged = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            merged[key] = merge_into(merged.get(key), value)
        elif _named_items(value) and _named_items(merged.get(key)):
            merged[key] = _merge_named(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _named_items(value):
    return isinstance(value, list) and all(isinstance(item, dict) and item.get("name") for item in value)


def _merge_named(base, patch):
    by_name = {item["name"]: item for item in patch}
    merged = [merge_into(item, by_name.pop(item["name"])) if item["name"] in by_name else copy.deepcopy(item) for item in base]
    return merged + [merge_into({}, item) for item in patch if item["name"] in by_name]


def desired_template(template, params):
    """The pod template after `template_patch`, then the images, are applied to it."""
    desired = merge_into(template, params.get("template_patch") or {})
    images = requested_images(params)
    spec = desired.get("spec") or {}
    for container in spec.get("initContainers") or []:
        container["image"] = images.get(container.get("name"), container.get("image"))
    for container in spec.get("containers") or []:
        # The key None stands for `image`, which is only accepted for a template with one container.
        container["image"] = images.get(container.get("name"), images.get(None, container.get("image")))
    return desired


def template_diff(before, after):
    return {"before": {"template": before}, "after": {"template": after}}


# Revisions ----------------------------------------------------------------------------------------

def replicas_of(statefulset):
    replicas = (statefulset.get("spec") or {}).get("replicas")
    return 1 if replicas is None else replicas


def strategy_of(statefulset):
    return ((statefulset.get("spec") or {}).get("updateStrategy") or {}).get("type") or ROLLING_UPDATE


def partition_of(statefulset):
    """The RollingUpdate partition (0 when unset); None for an OnDelete set, which has none."""
    if strategy_of(statefulset) != ROLLING_UPDATE:
        return None
    return (((statefulset.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition") or 0


def pod_revision(pod):
    """The ControllerRevision name a pod was made from, or None for a missing pod."""
    return ((pod or {}).get("metadata", {}).get("labels") or {}).get(REVISION_LABEL)


def short_revision(set_name, revision):
    """`kubia-5c7d8f9b4` -> `5c7d8f9b4`: the hash the controller appends to the set's name."""
    if revision and revision.startswith(set_name + "-"):
        return revision[len(set_name) + 1:]
    return revision or "(new)"


def owned_by(obj, statefulset):
    uid = statefulset.get("metadata", {}).get("uid")
    return any(ref.get("controller") and ref.get("uid") == uid for ref in obj.get("metadata", {}).get("ownerReferences") or [])


def revision_template(revision):
    """The pod template a StatefulSet's ControllerRevision holds (its data is a replace patch of spec.template)."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def revision_with_template(revisions, template):
    """The name of the newest revision whose template equals `template`, or None when the controller would make a new one."""
    matching = [r for r in revisions if revision_template(r) == template]
    matching.sort(key=lambda r: r.get("revision") or 0)
    return matching[-1]["metadata"]["name"] if matching else None


def pods_by_ordinal(set_name, pods):
    """{ordinal: pod} for the pods named <set>-<ordinal>."""
    found = {}
    for pod in pods:
        prefix, _sep, ordinal = pod["metadata"]["name"].rpartition("-")
        if prefix == set_name and ordinal.isdigit():
            found[int(ordinal)] = pod
    return found


# The planner --------------------------------------------------------------------------------------

def plan_ordinals(replicas, partition, pods, target):
    """The ordinals to bring to revision `target`, highest first: every ordinal at or above `partition` whose pod runs
    another revision (all of them when `target` is None, a revision the controller has yet to make)."""
    return [n for n in range(replicas - 1, partition - 1, -1) if target is None or pod_revision(pods.get(n)) != target]


def first_partition(plan, partition):
    """The partition to set with the new template: the controller then replaces only the first planned pod."""
    return plan[0] if plan else partition


def ready_floor(replicas, unhealthy, plan, ordinal):
    """How many pods the StatefulSet status must count Ready once `ordinal` is done: all of them, except the pods that
    were unhealthy at the start (allowed by the caller) and that the rollout has not replaced."""
    replaced = {n for n in plan if n >= ordinal}
    return replicas - len([n for n in unhealthy if n not in replaced])


def status_agrees(statefulset, generation, revision, ready, updated):
    """The StatefulSet status has seen our last write, targets `revision`, and counts the pods we expect."""
    status = statefulset.get("status") or {}
    return (
        (status.get("observedGeneration") or 0) >= generation
        and status.get("updateRevision") == revision
        and (status.get("readyReplicas") or 0) >= ready
        and (status.get("availableReplicas", status.get("readyReplicas")) or 0) >= ready
        and (status.get("updatedReplicas") or 0) >= updated
    )


def status_shortfall(statefulset, generation, revision, ready, updated):
    """What the StatefulSet status still lacks, as one phrase."""
    status = statefulset.get("status") or {}
    if (status.get("observedGeneration") or 0) < generation:
        return f"the StatefulSet controller to observe generation {generation}"
    if status.get("updateRevision") != revision:
        return f"the StatefulSet status to name revision {revision} (it names {status.get('updateRevision')})"
    return (f"the StatefulSet status to count {ready} pods ready and available and {updated} updated (it counts {status.get('readyReplicas') or 0},"
            f" {status.get('availableReplicas') or 0} and {status.get('updatedReplicas') or 0})")


def pod_done(pod, revision, min_ready_seconds, now):
    """The pod runs `revision` and has been Running and Ready for min_ready_seconds."""
    if pod is None or pod_revision(pod) != revision or is_terminating(pod):
        return False
    held = ready_for(pod, now)
    return held is not None and held >= min_ready_seconds


def pod_waiting_on(pod, revision, min_ready_seconds, now):
    """What a pod we wait for still waits on, as one phrase."""
    if pod is not None and is_terminating(pod):
        return "the old pod to terminate"
    if pod is not None and pod_revision(pod) != revision:
        return f"the StatefulSet controller to replace it (it runs revision {pod_revision(pod)})"
    return waiting_on(pod, min_ready_seconds, now)


# Messages -----------------------------------------------------------------------------------------

def refuse_message(namespace, name, unhealthy):
    """`unhealthy` is [(pod name, problems, events)]."""
    parts = [
        f"Refusing to roll out StatefulSet {namespace}/{name}: a rollout is only safe while every pet is healthy, and {len(unhealthy)}"
        f" {'is' if len(unhealthy) == 1 else 'are'} not. Nothing was changed."
    ]
    parts.append(unhealthy_pods_text(namespace, unhealthy))
    parts.append(" Fix these pods and run the task again, or set allow_unhealthy=true to replace them in the rollout anyway.")
    return "".join(parts)


def unhealthy_warning(namespace, name, unhealthy):
    names = ", ".join(pod for pod, _problems in unhealthy)
    return f"StatefulSet {namespace}/{name} has pets that are not healthy: {names}."


def bad_input_message(namespace, name, errors):
    return f"Cannot roll out StatefulSet {namespace}/{name}: " + " ".join(errors) + " Nothing was changed."


def missing_message(namespace, name, kind, namespace_exists):
    if not namespace_exists:
        return f"Namespace {namespace} does not exist, so StatefulSet {namespace}/{name} cannot be rolled out. Check the namespace name. Nothing was changed."
    if kind:
        return (f"{kind} {namespace}/{name} is not a StatefulSet: this module only rolls out StatefulSets."
                f" Use kubernetes.core.k8s_rollback or kubectl rollout for a {kind}. Nothing was changed.")
    return f"StatefulSet {namespace}/{name} does not exist. Check the name and the namespace. Nothing was changed."


def step_failure(namespace, name, pod, revision, seconds, waits, events):
    """Why a step failed, as one sentence (also returned as `failure_reason`); `pod` is None when the template never took."""
    if pod is None:
        return f"StatefulSet {namespace}/{name} did not take the new template within {seconds} s: it waits on {waits}.{events_text(events)}"
    return f"the step of pod {namespace}/{pod} to revision {revision} did not finish within {seconds} s: it waits on {waits}.{events_text(events)}"


def rolled_back_message(namespace, name, reason, deleted):
    unstuck = f" Deleted to unstick them: {', '.join(deleted)}." if deleted else ""
    return (f"Rolling out StatefulSet {namespace}/{name} failed and was rolled back: {reason} The template and the partition are as"
            f" before the run, and every pet is Ready on the revision it ran before.{unstuck}"
            f" Fix the cause and run the task again, or raise step_timeout.")


def paused_message(namespace, name, reason, ordinal, partition):
    where = f" The partition stays at {partition}." if partition is not None else ""
    return (f"Rolling out StatefulSet {namespace}/{name} failed and was left as it was (on_failure=pause): {reason}"
            f" It stopped at ordinal {ordinal}; the pets above it run the new revision.{where}"
            f" Fix the cause and run the task again to resume, or run it with on_failure=rollback to go back.")


def rollback_failed_message(namespace, name, reason, rollback_reason):
    return (f"Rolling out StatefulSet {namespace}/{name} failed: {reason} The rollback did not finish either: {rollback_reason}."
            f" The template and the partition are as before the run. Fix the pod and run the task again.")


def step_line(pod, revision_short, node, seconds):
    return f"{pod} → rev {revision_short} Ready on {node or 'an unknown node'} in {seconds:.1f} s"
