# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One run of statefulset_rollout against the cluster: the plan, the health gate, each ordinal's step (partition or
delete, then the wait for the pod and the StatefulSet's status), and the rollback or pause when a step fails.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

The pure logic (templates, revisions, the planner, messages) is in _rollout.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from ansible_collections.stateful.pets.plugins.module_utils._events import record_event
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._predicates import is_running_ready, is_terminating, ready_for
from ansible_collections.stateful.pets.plugins.module_utils._rollout import (
    ON_DELETE,
    PAUSE,
    bad_input_message,
    desired_template,
    first_partition,
    missing_message,
    owned_by,
    partition_of,
    paused_message,
    plan_ordinals,
    pod_done,
    pod_revision,
    pod_waiting_on,
    pods_by_ordinal,
    ready_floor,
    refuse_message,
    replicas_of,
    revision_with_template,
    rollback_failed_message,
    rolled_back_message,
    short_revision,
    statefulset_errors,
    status_agrees,
    status_shortfall,
    step_failure,
    step_line,
    strategy_of,
    unhealthy_warning,
)
from ansible_collections.stateful.pets.plugins.module_utils._scale import pod_name, selector_string, unhealthy_pods
from ansible_collections.stateful.pets.plugins.module_utils._set_steps import stuck_step_events, watch_named, with_events


class StepTimeout(Exception):
    """A wait ran out of time; `waits` says on what, `pod` is the pod it watched (None for a StatefulSet wait)."""

    def __init__(self, waits, pod=None):
        super().__init__(waits)
        self.waits = waits
        self.pod = pod


def _utcnow():
    return datetime.now(timezone.utc)  # noqa: UP017 (modules also run on Python < 3.11)


def _replace_template(template):
    return {"op": "replace", "path": "/spec/template", "value": template}


def _observed_generation(statefulset):
    return (statefulset.get("status") or {}).get("observedGeneration") or 0


class Rollout:
    """Plans and runs one rollout against a Cluster; raises K8sError whose `details` hold the partial result."""

    def __init__(self, cluster, params, check_mode, reporter, clock=time.monotonic, wall=time.time, now=_utcnow):
        self.cluster = cluster
        self.params = params
        self.check_mode = check_mode
        self.reporter = reporter
        self.clock = clock
        self.wall = wall
        self.now = now
        self.namespace = params["namespace"]
        self.name = params["name"]
        self.partitions_set = set()

    # Planning -----------------------------------------------------------------------------------

    def run(self):
        p = self.params
        self.deadline = self.clock() + p["timeout"]
        sts = self._read_statefulset()
        errors = statefulset_errors(p, sts)
        if errors:
            raise K8sError(bad_input_message(self.namespace, self.name, errors))
        self.generation = sts["metadata"].get("generation") or 0
        try:
            self.sts = sts = self._observed(sts, self._step_deadline())
        except StepTimeout as exc:
            raise K8sError(f"Cannot roll out StatefulSet {self.namespace}/{self.name}: its status is not current; it waits on {exc.waits}."
                           " Check that the kube-controller-manager runs. Nothing was changed.") from None
        self.replicas = replicas_of(sts)
        self.strategy = strategy_of(sts)
        self.partition_before = self.partition = partition_of(sts)
        self.min_ready = sts["spec"].get("minReadySeconds") or 0
        self.template_before = sts["spec"]["template"]
        self.template_after = desired_template(self.template_before, p)
        self.template_changed = self.template_after != self.template_before
        status = sts.get("status") or {}
        self.revision_before, self.current_revision_before = status.get("updateRevision"), status.get("currentRevision")
        pods = self._pods()
        self.revisions_before = {n: pod_revision(pod) for n, pod in pods.items()}
        target = self._predicted_target()
        plan = plan_ordinals(self.replicas, p["partition"], pods, target)
        lowers_partition = self.partition is not None and self.partition > p["partition"]
        changed = self.template_changed or bool(plan) or lowers_partition
        self.result = {
            "changed": False,
            "strategy": self.strategy,
            "revision_before": self.revision_before,
            "revision_after": self.revision_before,
            "partition_before": self.partition_before,
            "partition_after": self.partition_before,
            "min_ready_seconds": self.min_ready,
            "steps": [],
            "rolled_back": False,
            "failure_reason": None,
            "stopped_at": None,
            "diff": self._diff(self.partition_before),
        }
        self.unhealthy = self._gate(pods, changed)
        if self.check_mode or not changed:
            self.result["steps"] = [self._step_entry(n, self._planned_action(n, pods.get(n)), pods.get(n), target) for n in plan]
            self.result["changed"] = changed
            self.result["revision_after"] = target
            if changed and self.partition is not None:
                self.result["partition_after"] = p["partition"] if self.template_changed else min(self.partition, p["partition"])
            self.result["diff"] = self._diff(self.result["partition_after"])
            return self.result
        self._roll(pods, target)
        return self.result

    def _read_statefulset(self):
        try:
            return self.cluster.get_statefulset(self.namespace, self.name)
        except K8sError as exc:
            if exc.status != 404:
                raise
            exists = self.cluster.namespace_exists(self.namespace)
            kind = self.cluster.find_workload_kind(self.namespace, self.name) if exists else None
            raise K8sError(missing_message(self.namespace, self.name, kind, exists), status=404) from exc

    def _pods(self):
        listed = self.cluster.list_pods(self.namespace, label_selector=selector_string(self.sts))
        return pods_by_ordinal(self.name, [pod for pod in listed if owned_by(pod, self.sts)])

    def _predicted_target(self):
        """The revision the pets go to: the current updateRevision when resuming, else the revision whose template equals
        the new one (the controller reuses it), or None when the controller will make a new revision."""
        if not self.template_changed:
            return self.revision_before
        listed = self.cluster.list_controller_revisions(self.namespace, label_selector=selector_string(self.sts))
        return revision_with_template([r for r in listed if owned_by(r, self.sts)], self.template_after)

    def _gate(self, pods, changed):
        """The ordinals of unhealthy pets; refuses (raises) before any write when there is work and that is not allowed."""
        unhealthy = unhealthy_pods(self.name, list(pods.values()), self.replicas)
        if not unhealthy:
            return set()
        if changed and not self.params["allow_unhealthy"]:
            detailed = with_events(self.cluster, self.namespace, unhealthy)
            raise K8sError(refuse_message(self.namespace, self.name, detailed), details=self.result)
        self.reporter.warn(unhealthy_warning(self.namespace, self.name, unhealthy))
        return {int(pod.rsplit("-", 1)[1]) for pod, _problems in unhealthy}

    def _planned_action(self, ordinal, pod):
        if pod is not None and (self.strategy == ON_DELETE or ordinal in self.unhealthy):
            return "delete"
        if self.partition is not None and (self.template_changed or self.partition > ordinal):
            return "partition"
        return "wait"

    def _step_entry(self, ordinal, action, pod, target, **values):
        entry = {"ordinal": ordinal, "pod": pod_name(self.name, ordinal), "action": action, "node": (pod or {}).get("spec", {}).get("nodeName"),
                 "from_revision": self.revisions_before.get(ordinal), "to_revision": target, "seconds": None, "patched_at": None, "ready_at": None}
        entry.update(values)
        return entry

    def _diff(self, partition_after):
        before, after = {"template": self.template_before}, {"template": self.template_after}
        if self.partition_before is not None:
            before["partition"], after["partition"] = self.partition_before, partition_after
        return {"before": before, "after": after}

    def _step_deadline(self):
        return min(self.clock() + self.params["step_timeout"], self.deadline)

    # Rolling ------------------------------------------------------------------------------------

    def _roll(self, pods, target):
        p = self.params
        self.result["changed"] = True
        ordinal, started = None, (self.clock(), self.wall())
        try:
            if self.template_changed:
                target = self._write_template(plan_ordinals(self.replicas, p["partition"], pods, target))
                self.result["revision_after"] = target
            plan = plan_ordinals(self.replicas, p["partition"], pods, target)
            self.reporter.progress(f"{self.namespace}/{self.name}: rolling {len(plan)} of {self.replicas} pets to revision"
                                   f" {short_revision(self.name, target)}, ordinals {', '.join(map(str, plan)) or 'none'} ({self.strategy})")
            for ordinal in plan:
                self._take_step(ordinal, pods.get(ordinal), target, plan, started)
                started = None
            ordinal = None
            if self.partition is not None and self.partition > p["partition"]:
                self._set_partition(p["partition"], f"Partition set to {p['partition']}: every ordinal from it up runs revision {target}.")
        except StepTimeout as exc:
            self._fail(ordinal, target, exc)
        except K8sError as exc:
            if exc.details:
                raise
            # An API error mid-way: no rollback (the API itself is failing), but the steps taken so far are returned.
            self.result.update(stopped_at=ordinal, diff=self._diff(self.partition))
            raise K8sError(f"{exc.msg} The rollout of StatefulSet {self.namespace}/{self.name} stopped there, with the partition at"
                           f" {self.partition}; run the task again to resume.", status=exc.status, details=self.result) from exc
        self.result["diff"] = self._diff(self.partition)

    def _write_template(self, plan):
        """Patch the new template (and for RollingUpdate the partition of the first step); the revision the controller made."""
        operations = [{"op": "test", "path": "/metadata/generation", "value": self.generation}, _replace_template(self.template_after)]
        partition = None
        if self.partition is not None:
            partition = first_partition(plan, self.params["partition"])
            operations.append(self._partition_operation(partition))
        where = f" with partition {partition}" if partition is not None else ""
        self._patch(operations, partition, "RolloutStarted", f"New pod template{where}; ordinals {', '.join(map(str, plan)) or 'none'} follow, highest first.")
        sts = self._observed(self.sts, self._step_deadline())
        return sts["status"]["updateRevision"]

    def _partition_operation(self, partition):
        rolling = dict((self.sts["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}, partition=partition)
        return {"op": "add", "path": "/spec/updateStrategy/rollingUpdate", "value": rolling}

    def _set_partition(self, partition, note):
        self._patch([self._partition_operation(partition)], partition, "RolloutStep", note)

    def _patch(self, operations, partition, reason, note):
        self.sts = self.cluster.json_patch_statefulset(self.namespace, self.name, operations)
        self.generation = self.sts["metadata"].get("generation") or self.generation
        if partition is not None:
            self.partition = self.result["partition_after"] = partition
            self.partitions_set.add(partition)
        record_event(self.cluster, self.reporter, self.sts, reason, "Update", note)

    def _take_step(self, ordinal, pod, target, plan, started=None):
        """Bring one ordinal to `target`; `started` is (clock, wall) of the template patch when that already began this step."""
        started, patched_at = started or (self.clock(), self.wall())
        deadline = min(started + self.params["step_timeout"], self.deadline)
        name = pod_name(self.name, ordinal)
        if self.partition is not None and self.partition > ordinal:
            self._set_partition(ordinal, f"Partition set to {ordinal}: pod {name} goes to revision {target}.")
        action = "partition" if ordinal in self.partitions_set else "wait"
        if pod is not None and pod_revision(pod) != target and (self.strategy == ON_DELETE or ordinal in self.unhealthy):
            action = "delete"
            self._delete(pod, f"Deleted so that the StatefulSet controller makes it again on revision {target}.", "RolloutReplace")
        new_pod = self._wait_pod(ordinal, target, deadline)
        seconds, ready_at = round(self.clock() - started, 2), self.wall()
        self._wait_status(target, ready_floor(self.replicas, self.unhealthy, plan, ordinal), self.replicas - ordinal, deadline)
        node = new_pod.get("spec", {}).get("nodeName")
        self.result["steps"].append(self._step_entry(ordinal, action, new_pod, target, seconds=seconds, node=node,
                                                     patched_at=round(patched_at, 3), ready_at=round(ready_at, 3)))
        self.reporter.progress(step_line(name, short_revision(self.name, target), node, seconds))

    def _delete(self, pod, note, reason):
        """Delete exactly this pod instance; one already gone or replaced is fine."""
        meta = pod["metadata"]
        try:
            self.cluster.delete_pod_instance(self.namespace, meta["name"], meta["uid"])
        except K8sError as exc:
            if exc.status not in (404, 409):
                raise
            return
        record_event(self.cluster, self.reporter, dict(pod, apiVersion="v1", kind="Pod"), reason, "Delete", note)

    # Failure ------------------------------------------------------------------------------------

    def _fail(self, ordinal, target, exc):
        pod = pod_name(self.name, ordinal) if ordinal is not None else None
        events = stuck_step_events(self.cluster, self.namespace, self.name, pod if exc.pod is not None else None)
        reason = step_failure(self.namespace, self.name, pod, target, self.params["step_timeout"], exc.waits, events)
        self.result.update(failure_reason=reason, stopped_at=ordinal, diff=self._diff(self.partition))
        if self.params["on_failure"] == PAUSE:
            self.reporter.progress(f"{self.namespace}/{self.name}: stopped at ordinal {ordinal}, left as it is (on_failure=pause)")
            raise K8sError(paused_message(self.namespace, self.name, reason, ordinal, self.partition), details=self.result) from None
        self.reporter.progress(f"{self.namespace}/{self.name}: the step of ordinal {ordinal} failed; rolling back")
        try:
            unstuck = self._roll_back()
        except StepTimeout as again:
            raise K8sError(rollback_failed_message(self.namespace, self.name, reason, again.waits), details=self.result) from None
        self.result["rolled_back"] = True
        self.result["diff"] = self._diff(self.partition)
        raise K8sError(rolled_back_message(self.namespace, self.name, reason, unstuck), details=self.result) from None

    def _rollback_revision(self, ordinal):
        """The revision the controller makes a pod of `ordinal` from once the old template and partition are back."""
        if self.partition_before is not None and ordinal < self.partition_before:
            return self.current_revision_before
        return self.revision_before

    def _roll_back(self):
        """Restore the template and partition from before the run, unstick the pods, and wait for every pet on its old revision."""
        self.result["rollback_steps"] = steps = []
        operations = [_replace_template(self.template_before)] if self.template_changed else []
        if self.partition is not None and self.partition != self.partition_before:
            operations.append(self._partition_operation(self.partition_before))
        if operations:
            self._patch(operations, self.partition_before, "RolloutRolledBack",
                        f"Template and partition restored to what they were before the run (revision {self.revision_before}).")
        self._observed(self.sts, self.clock() + self.params["step_timeout"])
        self.result["revision_after"] = self.revision_before
        pods = self._pods()
        back = [n for n in sorted(self.revisions_before, reverse=True) if pod_revision(pods.get(n)) != self.revisions_before[n]]
        # The controller does not replace a pod that never became Ready (kubernetes/kubernetes#67250): delete those first.
        stuck = [n for n in back if n in pods and not is_running_ready(pods[n]) and not is_terminating(pods[n])]
        started = {}
        for n in stuck:
            started[n] = self.clock()
            self._delete(pods[n], f"Stuck on the failed revision; deleted so that it comes back on revision {self._rollback_revision(n)}.", "RolloutUnstick")
        for n in back:
            pod, revision = pods.get(n), self._rollback_revision(n)
            action = "delete" if n in started else "wait"
            if action == "wait" and pod is not None and not is_terminating(pod) and self._rollback_needs_delete(n):
                started[n], action = self.clock(), "delete"
                self._delete(pod, f"Deleted so that it comes back on revision {revision}.", "RolloutReplace")
            started.setdefault(n, self.clock())
            try:
                self._wait_pod(n, revision, self.clock() + self.params["step_timeout"])
            except StepTimeout as exc:
                raise StepTimeout(f"pod {self.namespace}/{pod_name(self.name, n)} did not come back Ready on revision {revision}"
                                  f" within {self.params['step_timeout']} s; it waits on {exc.waits}", pod=exc.pod) from None
            seconds = round(self.clock() - started[n], 2)
            steps.append({"ordinal": n, "pod": pod_name(self.name, n), "action": action, "from_revision": pod_revision(pod),
                          "to_revision": revision, "seconds": seconds})
            self.reporter.progress(f"rollback: {pod_name(self.name, n)} → rev {short_revision(self.name, revision)} Ready in {seconds:.1f} s")
        ready = ready_floor(self.replicas, self.unhealthy, [], 0)
        self._wait_status(self.revision_before, ready, 0, self.clock() + self.params["step_timeout"])
        return [pod_name(self.name, n) for n in stuck]

    def _rollback_needs_delete(self, ordinal):
        """The controller brings back only RollingUpdate pods at or above the partition; any other pod we delete."""
        return self.partition is None or ordinal < self.partition

    # Waiting ------------------------------------------------------------------------------------

    def _watch(self, kind, name, deadline, resource_version):
        return watch_named(self.cluster, kind, self.namespace, name, deadline - self.clock(), resource_version)

    def _wait_pod(self, ordinal, revision, deadline):
        """The pod once it runs `revision` and has been Ready for min_ready_seconds; StepTimeout otherwise."""
        name = pod_name(self.name, ordinal)
        last = None
        while self.clock() < deadline:
            watch_until = deadline
            if last is not None:
                if pod_done(last, revision, self.min_ready, self.now()):
                    return last
                held = ready_for(last, self.now()) if pod_revision(last) == revision else None
                if held is not None:
                    # Ready on the revision but not for long enough: watch for a change until the hold time is over.
                    watch_until = min(deadline, self.clock() + self.min_ready - held)
            version = last["metadata"].get("resourceVersion") if last else None
            for kind, obj in self._watch("Pod", name, watch_until, version):
                last = None if kind == "DELETED" else obj
                if last is not None and pod_done(last, revision, 0, self.now()):
                    break
        raise StepTimeout(pod_waiting_on(last, revision, self.min_ready, self.now()), pod=last or {})

    def _wait_statefulset(self, done, shortfall, deadline):
        """The StatefulSet once `done(sts)` holds; StepTimeout saying `shortfall(last seen)` otherwise."""
        last = self.sts
        while True:
            for _kind, obj in self._watch("StatefulSet", self.name, deadline, None):
                last = obj
                if done(obj):
                    return obj
            if self.clock() >= deadline:
                raise StepTimeout(shortfall(last))

    def _observed(self, sts, deadline):
        """The StatefulSet once its controller has seen our last write (status.updateRevision is then current)."""
        if _observed_generation(sts) >= self.generation:
            return sts
        return self._wait_statefulset(lambda obj: _observed_generation(obj) >= self.generation,
                                      lambda _last: f"the StatefulSet controller to observe generation {self.generation}", deadline)

    def _wait_status(self, revision, ready, updated, deadline):
        self._wait_statefulset(lambda obj: status_agrees(obj, self.generation, revision, ready, updated),
                               lambda last: status_shortfall(last, self.generation, revision, ready, updated), deadline)
