# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One run of statefulset_scale against the cluster: the plan's steps one ordinal at a time, each gated on the pod's
health and its claims' bindings, with a progress line and an Event per step.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

The pure logic (the planner, the checks, the messages) is in _scale.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from ansible_collections.stateful.pets.plugins.module_utils._claims import binding_problems
from ansible_collections.stateful.pets.plugins.module_utils._events import record_event
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError, ref
from ansible_collections.stateful.pets.plugins.module_utils._predicates import ready_for
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.module_utils._scale import (
    ADD,
    claim_names,
    claim_summary,
    claims_above,
    deletes_claims_on_scale_down,
    down_timeout_message,
    input_errors,
    missing_namespace_message,
    node_note,
    not_a_statefulset_message,
    plan_steps,
    pod_name,
    refuse_message,
    retention_warning,
    selector_string,
    unbindable_message,
    unbindable_warning,
    unhealthy_pods,
    unhealthy_warning,
    up_timeout_message,
    waiting_on,
)
from ansible_collections.stateful.pets.plugins.module_utils._set_steps import events_of, stuck_step_events, watch_named, with_events


class StepTimeout(Exception):
    """`last` is the pod last seen (None when there was none); `waits` overrides what it is said to wait on."""

    def __init__(self, last, waits=None):
        super().__init__("step timed out")
        self.last = last
        self.waits = waits


def validate(params):
    errors = input_errors(params["replicas"], params["timeout"], params["step_timeout"], params["min_ready_seconds"])
    if errors:
        raise K8sError(f"Cannot scale StatefulSet {params['namespace']}/{params['name']}: " + " ".join(errors) + " Nothing was changed.")


def _utcnow():
    return datetime.now(timezone.utc)  # noqa: UP017 (modules also run on Python < 3.11)


class Scaler:
    """Runs the plan against a Cluster; raises K8sError whose `details` hold the partial result.

    Each step is a progress line of `reporter`, and each write an Event on the StatefulSet.
    """

    def __init__(self, cluster, params, check_mode, reporter=None, clock=time.monotonic, wall=time.time, now=_utcnow):
        self.cluster = cluster
        self.params = params
        self.check_mode = check_mode
        self.reporter = reporter or Reporter()
        self.clock = clock
        self.wall = wall
        self.now = now
        self.namespace = params["namespace"]
        self.name = params["name"]

    def run(self):
        p = self.params
        validate(p)
        self.deadline = self.clock() + p["timeout"]
        sts = self._read_statefulset()
        current = sts["spec"].get("replicas", 1)
        desired = p["replicas"]
        self.min_ready = p["min_ready_seconds"] if p["min_ready_seconds"] is not None else sts["spec"].get("minReadySeconds") or 0
        self.sts = sts
        self.result = {
            "changed": False,
            "replicas_before": current,
            "replicas_after": current,
            "min_ready_seconds": self.min_ready,
            "steps": [],
            "retained_pvcs": [],
            "reused_pvcs": [],
            "run_id": self.reporter.run_id,
        }
        self.current = current
        self.desired = desired
        self.label = f"StatefulSet {ref(self.namespace, self.name)}"
        plan = plan_steps(current, desired)
        if plan and plan[0]["action"] != ADD and deletes_claims_on_scale_down(sts):
            self.reporter.warn(retention_warning(self.namespace, self.name))
        pods = {}
        if plan and plan[0]["action"] != ADD:
            pods = self._check_health(current - 1, stopped_at=None)
        elif plan:
            self._check_claims_bind(plan)
        if not plan:
            self.reporter.progress(f"{self.label} already has {current} replicas; nothing to do.")
        elif self.check_mode:
            self._plan_only(plan, pods)
        else:
            started = self.clock()
            self.reporter.progress(f"{self.label}: scaling from {current} to {desired} replicas, one pod at a time.")
            for step in plan:
                if step["action"] == ADD:
                    self._add(step)
                else:
                    self._remove(step)
            self.reporter.progress(f"{self.label}: scaled from {current} to {desired} replicas in {self.clock() - started:.1f} s.")
        self._finish()
        return self.result

    def _read_statefulset(self):
        if not self.cluster.namespace_exists(self.namespace):
            raise K8sError(missing_namespace_message(self.namespace, self.name), status=404)
        try:
            found = self.cluster.get_statefulset(self.namespace, self.name)
        except K8sError as exc:
            if exc.status != 404:
                raise
            kind = self.cluster.find_workload_kind(self.namespace, self.name)
            raise K8sError(not_a_statefulset_message(self.namespace, self.name, kind), status=404) from exc
        return found

    def _step(self, step, **values):
        entry = {"ordinal": step["ordinal"], "action": step["action"], "seconds": None, "node": None,
                 "pvc": claim_names(self.sts, step["ordinal"]), "patched_at": None, "done_at": None}
        entry.update(values)
        return entry

    def _existing_claims(self, ordinal):
        claims = (self.cluster.find_pvc(self.namespace, claim) for claim in claim_names(self.sts, ordinal))
        return [claim_summary(pvc) for pvc in claims if pvc is not None]

    def _plan_only(self, plan, pods):
        for step in plan:
            node = None
            if step["action"] == ADD:
                self.result["reused_pvcs"].extend(self._existing_claims(step["ordinal"]))
            else:
                node = (pods.get(pod_name(self.name, step["ordinal"])) or {}).get("spec", {}).get("nodeName")
            self.result["steps"].append(self._step(step, node=node))
        self.result["changed"] = bool(plan)
        self.result["replicas_after"] = self.desired
        pods_named = ", ".join(pod_name(self.name, step["ordinal"]) for step in plan)
        verb = "add" if plan[0]["action"] == ADD else "remove"
        self.reporter.progress(f"{self.label}: would scale from {self.current} to {self.desired} replicas and {verb} {pods_named}"
                               " (check mode: nothing was changed).")

    def _patch(self, replicas, reason, note, event_type="Normal"):
        """Set spec.replicas and record the write as an Event on the StatefulSet."""
        before = self.result["replicas_after"]
        self.cluster.patch_statefulset_replicas(self.namespace, self.name, replicas)
        self.result["changed"] = True
        self.result["replicas_after"] = replicas
        record_event(self.cluster, self.reporter, self.sts, reason, "Scale", f"Set replicas from {before} to {replicas} {note}.", event_type)

    def _budget(self):
        return min(self.params["step_timeout"], self.deadline - self.clock())

    def _add(self, step):
        ordinal = step["ordinal"]
        reused = self._existing_claims(ordinal)
        name = pod_name(self.name, ordinal)
        started, patched_at = self.clock(), self.wall()
        self._patch(ordinal + 1, "AddPet", f"to add pod {name} ({self._step_count()})")
        budget = self._budget()
        step_deadline = self.clock() + budget
        try:
            pod = self._wait_ready(name, step_deadline)
            seconds, ready_at = round(self.clock() - started, 2), self.wall()
            self._wait_counted(ordinal + 1, step_deadline, pod)
        except StepTimeout as exc:
            # Leave the set at its last healthy count: the pod that never became Ready goes away, its claim stays.
            self._patch(ordinal, "StepTimedOut", f"back: pod {name} was not Running and Ready within {round(budget)} s", "Warning")
            events = stuck_step_events(self.cluster, self.namespace, self.name, name if exc.last is not None else None)
            waits = exc.waits or waiting_on(exc.last, self.min_ready, self.now())
            raise K8sError(
                up_timeout_message(self.namespace, self.name, name, round(budget), waits, events, ordinal, self._node_note(exc.last)),
                details=self.result,
            ) from None
        self.result["reused_pvcs"].extend(reused)
        node = pod.get("spec", {}).get("nodeName")
        self.result["steps"].append(self._step(step, seconds=seconds, node=node, patched_at=round(patched_at, 3), done_at=round(ready_at, 3)))
        self.reporter.progress(f"{self.label}: {name} Ready on {node} after {seconds:.1f} s ({ordinal + 1} of {self.desired} replicas).")

    def _step_count(self):
        return f"step {len(self.result['steps']) + 1} of {abs(self.desired - self.current)} toward {self.desired} replicas"

    def _remove(self, step):
        ordinal = step["ordinal"]
        if not self.params["allow_unhealthy_scale_down"] and self.result["steps"]:
            self._check_health(ordinal, stopped_at=ordinal + 1)
        name = pod_name(self.name, ordinal)
        pod = self.cluster.find_pod(self.namespace, name)
        started, patched_at = self.clock(), self.wall()
        self._patch(ordinal, "RemovePet", f"to remove pod {name} ({self._step_count()})")
        budget = self._budget()
        if pod is not None and not self._wait_gone(name, pod, self.clock() + budget):
            raise K8sError(down_timeout_message(self.namespace, self.name, name, round(budget), self._events("Pod", name), ordinal, self._node_note(pod)),
                           details=self.result)
        seconds = round(self.clock() - started, 2)
        self.result["steps"].append(self._step(step, seconds=seconds, node=(pod or {}).get("spec", {}).get("nodeName"),
                                               patched_at=round(patched_at, 3), done_at=round(self.wall(), 3)))
        self.reporter.progress(f"{self.label}: {name} gone after {seconds:.1f} s ({ordinal} of {self.current} replicas left, target {self.desired}).")

    def _check_claims_bind(self, plan):
        """Refuses (raises) before any patch when a claim of a pod to add can never bind: no fitting PV, no provisioning class."""
        if not self.sts["spec"].get("volumeClaimTemplates"):
            return
        ordinals = [step["ordinal"] for step in plan]
        pvcs = {pvc["metadata"]["name"]: pvc for pvc in self.cluster.list_pvcs(self.namespace)}
        claims = [pvcs.get(claim) for ordinal in ordinals for claim in claim_names(self.sts, ordinal)]
        if all((claim or {}).get("status", {}).get("phase") == "Bound" for claim in claims):
            return  # each pod finds its claim bound; no need to read the volumes and classes
        problems = binding_problems(self.sts, ordinals, pvcs, self.cluster.list_pvs(), self.cluster.list_storage_classes())
        if problems and self.check_mode:
            self.reporter.warn(unbindable_warning(self.namespace, self.name, problems))
        elif problems:
            raise K8sError(unbindable_message(self.namespace, self.name, self.current, self.desired, problems), details=self.result)

    def _node_note(self, pod):
        """A sentence when the pod's node is not Ready or gone, so that a timeout names an unreachable node; '' otherwise."""
        node_name = ((pod or {}).get("spec") or {}).get("nodeName")
        if not node_name:
            return ""
        try:
            node = self.cluster.get_node(node_name)
        except K8sError as exc:
            if exc.status != 404:
                return ""
            node = None
        return node_note(pod["metadata"]["name"], node_name, node, self.now())

    def _check_health(self, highest, stopped_at):
        """Pods by name; refuses (raises) when any of ordinals 0..highest is unhealthy, unless allowed."""
        listed = self.cluster.list_pods(self.namespace, label_selector=selector_string(self.sts))
        pods = {pod["metadata"]["name"]: pod for pod in listed}
        unhealthy = unhealthy_pods(self.name, list(pods.values()), highest + 1)
        if unhealthy and self.params["allow_unhealthy_scale_down"]:
            self.reporter.warn(unhealthy_warning(self.namespace, self.name, unhealthy))
        elif unhealthy:
            detailed = with_events(self.cluster, self.namespace, unhealthy)
            raise K8sError(refuse_message(self.namespace, self.name, self.current, self.desired, detailed, stopped_at=stopped_at), details=self.result)
        return pods

    def _events(self, kind, name):
        return events_of(self.cluster, self.namespace, kind, name)

    def _watch(self, kind, name, deadline, resource_version):
        return watch_named(self.cluster, kind, self.namespace, name, deadline - self.clock(), resource_version)

    def _wait_ready(self, name, deadline):
        """The pod once it has been Running and Ready for min_ready_seconds; StepTimeout with the last pod seen otherwise."""
        last = None
        while self.clock() < deadline:
            watch_until = deadline
            if last is not None:
                held = ready_for(last, self.now())
                if held is not None and held >= self.min_ready:
                    return last
                if held is not None:
                    # Ready but not for long enough: watch for a change until the hold time is over.
                    watch_until = min(deadline, self.clock() + self.min_ready - held)
            version = last["metadata"].get("resourceVersion") if last else None
            for kind, obj in self._watch("Pod", name, watch_until, version):
                last = None if kind == "DELETED" else obj
                if last is not None and ready_for(last, self.now()) is not None:
                    break
        raise StepTimeout(last)

    def _wait_counted(self, count, deadline, pod):
        """Until the StatefulSet's status.readyReplicas reaches `count`."""
        while True:
            for _kind, obj in self._watch("StatefulSet", self.name, deadline, None):
                status = obj.get("status") or {}
                if (status.get("readyReplicas") or 0) >= count:
                    return
            if self.clock() >= deadline:
                raise StepTimeout(pod, waits=f"the StatefulSet status to count it as ready (status.readyReplicas below {count})")

    def _wait_gone(self, name, pod, deadline):
        version = pod["metadata"].get("resourceVersion")
        while self.clock() < deadline:
            for kind, obj in self._watch("Pod", name, deadline, version):
                if kind == "DELETED":
                    return True
                version = obj["metadata"].get("resourceVersion")
        return False

    def _finish(self):
        after = self.result["replicas_after"]
        pvcs = self.cluster.list_pvcs(self.namespace) if self.sts["spec"].get("volumeClaimTemplates") else []
        retained = claims_above(self.sts, pvcs, after)
        if deletes_claims_on_scale_down(self.sts) and after < self.current:
            removed = {claim for ordinal in range(after, self.current) for claim in claim_names(self.sts, ordinal)}
            retained = [claim for claim in retained if claim["name"] not in removed]
        self.result["retained_pvcs"] = retained
        self.result["diff"] = {"before": {"replicas": self.current}, "after": {"replicas": after}}
