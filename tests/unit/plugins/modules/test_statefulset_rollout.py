# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.module_utils._rollout_run import Rollout
from ansible_collections.stateful.pets.plugins.modules import statefulset_rollout

EPOCH = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)  # noqa: UP017
OLD = "pets/kubia:1.0.0"
NEW = "pets/kubia:1.1.0"
BROKEN = "pets/kubia:no-such-tag"


def template(image=OLD):
    return {"metadata": {"labels": {"app": "kubia"}}, "spec": {"containers": [{"name": "kubia", "image": image}]}}


class FakeController:
    """A StatefulSet controller in miniature. A pod is replaced when it is watched and the controller would replace it:
    RollingUpdate at or above the partition, or after a deletion. A pod on an image in `broken` never becomes Ready, and
    (as in kubernetes/kubernetes#67250) the controller never replaces a pod that is not Ready: only a deletion does."""

    def __init__(self, replicas=3, strategy="RollingUpdate", partition=0, broken=(BROKEN,), unhealthy=(), min_ready=0, revisions_of=None):
        self.t = 0.0
        self.broken = set(broken)
        self.generation = 1
        self.strategy = strategy
        self.partition = partition
        self.replicas = replicas
        self.min_ready = min_ready
        self.template = template()
        self.revisions = {}  # name -> (number, template)
        self.update_revision = self.current_revision = self._revision_for(self.template)
        self.pods = {}
        for n in range(replicas):
            self.pods[n] = self._pod(n, (revisions_of or {}).get(n, self.current_revision), ready=n not in unhealthy)
        self.writes = []
        self.events = []
        self.deleted = []
        self.watches = []
        self.event_error = None
        self.unavailable = 0  # how many Ready pods the status leaves out of availableReplicas

    # time
    def clock(self):
        return self.t

    def wall(self):
        return 5000.0 + self.t

    def now(self):
        return EPOCH + timedelta(seconds=self.t)

    # the model
    def _revision_for(self, tmpl):
        for name, (_number, known) in self.revisions.items():
            if known == tmpl:
                self.revisions[name] = (max(n for n, _t in self.revisions.values()) + 1, known)
                return name
        name = f"kubia-rev{len(self.revisions) + 1}"
        self.revisions[name] = (len(self.revisions) + 1, copy.deepcopy(tmpl))
        return name

    def _pod(self, n, revision, ready=True):
        image = self.revisions[revision][1]["spec"]["containers"][0]["image"]
        ready = ready and image not in self.broken
        stamp = self.now().isoformat().replace("+00:00", "Z")
        status = {"phase": "Running" if ready else "Pending",
                  "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp}]}
        if not ready:
            status["containerStatuses"] = [{"name": "kubia", "ready": False, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}}]
        self.uid = getattr(self, "uid", 0) + 1
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"kubia-{n}", "uid": f"uid-{self.uid}", "resourceVersion": str(self.uid),
                             "labels": {"app": "kubia", "controller-revision-hash": revision},
                             "ownerReferences": [{"controller": True, "uid": "set-uid"}]},
                "spec": {"nodeName": f"pets-worker{n % 2 or ''}"}, "status": status}

    def _ready(self, pod):
        return pod["status"]["phase"] == "Running"

    def statefulset(self):
        strategy = {"type": self.strategy}
        if self.strategy == "RollingUpdate":
            strategy["rollingUpdate"] = {"partition": self.partition}
        pods = list(self.pods.values())
        updated = sum(1 for p in pods if p["metadata"]["labels"]["controller-revision-hash"] == self.update_revision)
        ready = sum(1 for p in pods if self._ready(p))
        if self.strategy == "RollingUpdate" and updated == self.replicas and ready == self.replicas:
            self.current_revision = self.update_revision
        return {"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": "kubia", "namespace": "pets", "uid": "set-uid", "generation": self.generation,
                             "resourceVersion": str(100 + self.generation)},
                "spec": {"replicas": self.replicas, "minReadySeconds": self.min_ready, "selector": {"matchLabels": {"app": "kubia"}},
                         "updateStrategy": strategy, "template": copy.deepcopy(self.template)},
                "status": {"observedGeneration": self.generation, "replicas": self.replicas, "readyReplicas": ready,
                           "availableReplicas": ready - self.unavailable,
                           "updatedReplicas": updated, "currentRevision": self.current_revision, "updateRevision": self.update_revision}}

    def revision_of(self, n):
        return self.pods[n]["metadata"]["labels"]["controller-revision-hash"] if n in self.pods else None

    def _reconcile(self, n):
        """Make pod n again when the controller would: 2 s later, on the revision its ordinal gets."""
        pod = self.pods.get(n)
        rolling = self.strategy == "RollingUpdate" and n >= self.partition
        wanted = self.update_revision if (rolling or self.strategy == "OnDelete") else self.current_revision
        if pod is not None and not (rolling and self._ready(pod) and self.revision_of(n) != self.update_revision):
            return False
        self.t += 2.0
        self.pods[n] = self._pod(n, wanted)
        return True

    # the Cluster surface used by the module
    def namespace_exists(self, namespace):
        return namespace == "pets"

    def find_workload_kind(self, namespace, name):
        return "Deployment" if name == "web" else None

    def get_statefulset(self, namespace, name):
        if namespace != "pets" or name != "kubia":
            raise K8sError(f"Cannot get StatefulSet {namespace}/{name}: it was not found.", status=404)
        return self.statefulset()

    def list_pods(self, namespace, label_selector=None):
        assert label_selector == "app=kubia"
        return [copy.deepcopy(p) for p in self.pods.values()]

    def list_controller_revisions(self, namespace, label_selector=None):
        assert label_selector == "app=kubia"
        return [{"metadata": {"name": name, "ownerReferences": [{"controller": True, "uid": "set-uid"}]}, "revision": number,
                 "data": {"spec": {"template": dict(copy.deepcopy(tmpl), **{"$patch": "replace"})}}} for name, (number, tmpl) in self.revisions.items()]

    def json_patch_statefulset(self, namespace, name, operations):
        self.writes.append(("patch", operations))
        for op in operations:
            if op["op"] == "test":
                assert op["path"] == "/metadata/generation" and op["value"] == self.generation
            elif op["path"] == "/spec/template":
                self.template = copy.deepcopy(op["value"])
                self.update_revision = self._revision_for(self.template)
            elif op["path"] == "/spec/updateStrategy/rollingUpdate":
                self.partition = op["value"]["partition"]
            else:
                raise AssertionError(op)
        self.generation += 1
        return self.statefulset()

    def delete_pod_instance(self, namespace, name, uid):
        n = int(name.rsplit("-", 1)[1])
        assert self.pods[n]["metadata"]["uid"] == uid
        self.writes.append(("delete", name))
        self.deleted.append(name)
        del self.pods[n]

    def create_event(self, event):
        if self.event_error:
            raise K8sError(self.event_error, status=403)
        self.events.append(event)

    def events_for(self, namespace, kind, name, limit=5):
        return [f"Warning Seen: {kind} {name}"]

    def watch_named(self, kind, namespace, name, timeout, resource_version=None):
        self.watches.append((kind, name))
        if kind == "StatefulSet":
            yield "ADDED", self.statefulset()
        else:
            n = int(name.rsplit("-", 1)[1])
            self._reconcile(n)
            # From a resource version a watch sends only what changed since.
            if n in self.pods and self.pods[n]["metadata"]["resourceVersion"] != resource_version:
                yield "MODIFIED" if resource_version else "ADDED", copy.deepcopy(self.pods[n])
        self.t += timeout  # the watch ran out


def params(**overrides):
    base = dict(name="kubia", namespace="pets", images=None, image=None, template_patch=None, partition=0, on_failure="rollback",
                step_timeout=60, timeout=600, allow_unhealthy=False)
    base.update(overrides)
    return base


def run(fake, check_mode=False, **overrides):
    reporter = Reporter(run_id="test-run")
    result = Rollout(fake, params(**overrides), check_mode, reporter, clock=fake.clock, wall=fake.wall, now=fake.now).run()
    return result, reporter


def fail(fake, check_mode=False, **overrides):
    reporter = Reporter(run_id="test-run")
    with pytest.raises(K8sError) as err:
        Rollout(fake, params(**overrides), check_mode, reporter, clock=fake.clock, wall=fake.wall, now=fake.now).run()
    return err.value, reporter


def partitions_written(fake):
    return [op["value"]["partition"] for kind, ops in fake.writes if kind == "patch" for op in ops if op["path"].endswith("rollingUpdate")]


def test_rolling_update_steps_the_partition_down_from_the_highest_ordinal():
    fake = FakeController()
    result, reporter = run(fake, image=NEW)
    assert partitions_written(fake) == [2, 1, 0]
    assert [s["ordinal"] for s in result["steps"]] == [2, 1, 0]
    assert {s["action"] for s in result["steps"]} == {"partition"}
    assert {(s["from_revision"], s["to_revision"]) for s in result["steps"]} == {("kubia-rev1", "kubia-rev2")}
    assert all(fake.revision_of(n) == "kubia-rev2" for n in range(3))
    # Each pod was Ready before the next step's patch.
    steps = result["steps"]
    for n in range(1, len(steps)):
        assert steps[n]["patched_at"] >= steps[n - 1]["ready_at"] >= steps[n - 1]["patched_at"]
    assert result["steps"][0]["seconds"] == 2.0
    assert (result["revision_before"], result["revision_after"]) == ("kubia-rev1", "kubia-rev2")
    assert (result["partition_before"], result["partition_after"]) == (0, 0)
    assert result["changed"] is True and result["rolled_back"] is False and result["failure_reason"] is None
    assert result["diff"]["before"]["template"]["spec"]["containers"][0]["image"] == OLD
    assert result["diff"]["after"]["template"]["spec"]["containers"][0]["image"] == NEW
    assert reporter.progress_lines == [
        "pets/kubia: rolling 3 of 3 pets to revision rev2, ordinals 2, 1, 0 (RollingUpdate)",
        "kubia-2 → rev rev2 Ready on pets-worker in 2.0 s",
        "kubia-1 → rev rev2 Ready on pets-worker1 in 2.0 s",
        "kubia-0 → rev rev2 Ready on pets-worker in 2.0 s",
    ]


def test_every_write_is_recorded_as_an_event_on_the_statefulset():
    fake = FakeController()
    run(fake, image=NEW)
    assert [(e["regarding"]["kind"], e["reason"], e["action"]) for e in fake.events] == [
        ("StatefulSet", "RolloutStarted", "Update"), ("StatefulSet", "RolloutStep", "Update"), ("StatefulSet", "RolloutStep", "Update")]
    assert all(e["regarding"]["name"] == "kubia" and "test-run" in e["note"] for e in fake.events)
    assert fake.events[1]["note"].startswith("Partition set to 1: pod kubia-1 goes to revision kubia-rev2.")


def test_an_event_that_cannot_be_recorded_is_a_warning():
    fake = FakeController()
    fake.event_error = "Cannot create Event: forbidden"
    result, reporter = run(fake, image=NEW)
    assert result["changed"] is True
    assert len(reporter.warnings) == 3 and "Cannot create Event: forbidden" in reporter.warnings[0]


@pytest.mark.parametrize("overrides, expected_to", [({"image": NEW}, None), ({"images": {"kubia": OLD}}, None)])
def test_check_mode_plans_without_any_write(mocker, overrides, expected_to):
    fake = FakeController()
    if overrides.get("images"):  # a set half-way to NEW (canary at 2): going back to OLD reuses its revision
        fake.json_patch_statefulset("pets", "kubia", [{"op": "replace", "path": "/spec/template", "value": template(NEW)}])
        fake.pods[2] = fake._pod(2, "kubia-rev2")
        fake.writes.clear()
        expected_to = "kubia-rev1"
    writes = [mocker.spy(fake, method) for method in ("json_patch_statefulset", "delete_pod_instance", "create_event")]
    result, reporter = run(fake, check_mode=True, **overrides)
    for write in writes:
        write.assert_not_called()
    assert fake.watches == []
    expected = [2, 1, 0] if expected_to is None else [2]
    assert [(s["ordinal"], s["to_revision"], s["seconds"]) for s in result["steps"]] == [(n, expected_to, None) for n in expected]
    assert result["changed"] is True and result["revision_after"] == expected_to
    assert reporter.progress_lines == []


def test_second_run_with_the_same_image_changes_nothing(mocker):
    fake = FakeController()
    run(fake, image=NEW)
    patch = mocker.spy(fake, "json_patch_statefulset")
    for check_mode in (True, False):
        result, _reporter = run(fake, check_mode=check_mode, image=NEW)
        assert result["changed"] is False and result["steps"] == []
    patch.assert_not_called()


def test_canary_stops_at_the_partition_and_a_later_run_resumes():
    fake = FakeController()
    canary, _reporter = run(fake, image=NEW, partition=1)
    assert [s["ordinal"] for s in canary["steps"]] == [2, 1]
    assert canary["partition_after"] == 1 and fake.partition == 1
    assert [fake.revision_of(n) for n in range(3)] == ["kubia-rev1", "kubia-rev2", "kubia-rev2"]
    again, _reporter = run(fake, image=NEW, partition=1)
    assert again["changed"] is False
    planned, _reporter = run(fake, check_mode=True, partition=0)
    assert [(s["ordinal"], s["action"], s["to_revision"]) for s in planned["steps"]] == [(0, "partition", "kubia-rev2")]
    resumed, _reporter = run(fake, partition=0)
    assert [s["ordinal"] for s in resumed["steps"]] == [0]
    assert resumed["revision_before"] == resumed["revision_after"] == "kubia-rev2"
    assert (resumed["partition_before"], resumed["partition_after"]) == (1, 0)
    assert [fake.revision_of(n) for n in range(3)] == ["kubia-rev2"] * 3
    done, _reporter = run(fake)
    assert done["changed"] is False


def test_on_delete_set_deletes_one_pod_at_a_time_highest_first():
    fake = FakeController(strategy="OnDelete")
    result, _reporter = run(fake, images={"kubia": NEW})
    assert [w for w in fake.writes if w[0] == "delete"] == [("delete", "kubia-2"), ("delete", "kubia-1"), ("delete", "kubia-0")]
    assert partitions_written(fake) == []
    assert [(s["ordinal"], s["action"]) for s in result["steps"]] == [(2, "delete"), (1, "delete"), (0, "delete")]
    assert result["partition_before"] is None and "partition" not in result["diff"]["after"]
    assert [e["regarding"]["kind"] for e in fake.events] == ["StatefulSet", "Pod", "Pod", "Pod"]
    assert all(fake.revision_of(n) == "kubia-rev2" for n in range(3))


def test_broken_image_times_out_and_is_rolled_back_with_the_stuck_pod_deleted():
    fake = FakeController()
    error, reporter = fail(fake, image=BROKEN, step_timeout=30)
    details = error.details
    assert details["rolled_back"] is True and details["stopped_at"] == 2 and details["steps"] == []
    assert "the step of pod pets/kubia-2 to revision kubia-rev2 did not finish within 30 s" in details["failure_reason"]
    assert "ImagePullBackOff" in details["failure_reason"]
    assert error.msg.startswith("Rolling out StatefulSet pets/kubia failed and was rolled back:")
    assert "Deleted to unstick them: kubia-2." in error.msg
    assert fake.template == template(OLD) and fake.partition == 0
    assert fake.deleted == ["kubia-2"]
    assert [fake.revision_of(n) for n in range(3)] == ["kubia-rev1"] * 3
    assert details["revision_after"] == "kubia-rev1"
    assert details["rollback_steps"] == [{"ordinal": 2, "pod": "kubia-2", "action": "delete", "from_revision": "kubia-rev2",
                                          "to_revision": "kubia-rev1", "seconds": 2.0}]
    assert [e["reason"] for e in fake.events] == ["RolloutStarted", "RolloutRolledBack", "RolloutUnstick"]
    assert reporter.progress_lines[-1] == "rollback: kubia-2 → rev rev1 Ready in 2.0 s"


def test_rollback_lets_the_controller_bring_back_healthy_updated_pods():
    fake = FakeController()
    original = fake._pod
    fake._pod = lambda n, revision, ready=True: original(n, revision, ready=ready and not (n == 1 and revision == "kubia-rev2"))
    error, _reporter = fail(fake, image=NEW, step_timeout=30)
    details = error.details
    assert details["stopped_at"] == 1 and [s["ordinal"] for s in details["steps"]] == [2]
    assert [(s["ordinal"], s["action"], s["to_revision"]) for s in details["rollback_steps"]] == [(2, "wait", "kubia-rev1"), (1, "delete", "kubia-rev1")]
    assert fake.deleted == ["kubia-1"]
    assert [fake.revision_of(n) for n in range(3)] == ["kubia-rev1"] * 3


def test_a_rollback_that_cannot_finish_says_which_pod_and_why():
    fake = FakeController()
    fake.delete_pod_instance = lambda namespace, name, uid: fake.writes.append(("delete refused", name))  # the stuck pod stays
    error, _reporter = fail(fake, image=BROKEN, step_timeout=30)
    assert error.details["rolled_back"] is False
    assert error.msg.startswith("Rolling out StatefulSet pets/kubia failed: the step of pod pets/kubia-2 to revision kubia-rev2")
    assert ("The rollback did not finish either: pod pets/kubia-2 did not come back Ready on revision kubia-rev1 within 30 s;"
            " it waits on the StatefulSet controller to replace it (it runs revision kubia-rev2). The template and the partition are as before"
            in error.msg)
    assert fake.template == template(OLD) and fake.partition == 0


def test_pause_leaves_everything_where_it_stopped():
    fake = FakeController()
    error, _reporter = fail(fake, image=BROKEN, on_failure="pause", step_timeout=30)
    assert error.details["rolled_back"] is False and error.details["stopped_at"] == 2 and "rollback_steps" not in error.details
    assert "left as it was (on_failure=pause)" in error.msg and "The partition stays at 2." in error.msg
    assert fake.deleted == [] and fake.partition == 2 and fake.template == template(BROKEN)
    assert [w[0] for w in fake.writes] == ["patch"]


def test_a_step_waits_until_the_statefulset_status_counts_the_pod():
    fake = FakeController()
    fake.unavailable = 1
    error, _reporter = fail(fake, image=NEW, on_failure="pause", step_timeout=30)
    assert error.details["stopped_at"] == 2 and error.details["steps"] == []
    assert ("it waits on the StatefulSet status to count 3 pods ready and available and 1 updated (it counts 3, 2 and 1)."
            in error.details["failure_reason"])
    assert fake.revision_of(2) == "kubia-rev2" and fake.partition == 2


def test_an_api_error_mid_way_keeps_the_steps_taken():
    fake = FakeController()
    patch = fake.json_patch_statefulset

    def refuse_the_third_patch(namespace, name, operations):
        if len(fake.writes) == 2:
            raise K8sError("Cannot patch StatefulSet pets/kubia: the API server refused it (403).", status=403)
        return patch(namespace, name, operations)

    fake.json_patch_statefulset = refuse_the_third_patch
    error, _reporter = fail(fake, image=NEW)
    assert error.status == 403
    assert error.msg.endswith("The rollout of StatefulSet pets/kubia stopped there, with the partition at 1; run the task again to resume.")
    assert [s["ordinal"] for s in error.details["steps"]] == [2, 1] and error.details["stopped_at"] == 0
    assert error.details["rolled_back"] is False


def test_unhealthy_pet_refuses_before_any_write_in_check_mode_too():
    for check_mode in (True, False):
        fake = FakeController(unhealthy={1})
        error, _reporter = fail(fake, check_mode=check_mode, image=NEW)
        assert error.msg.startswith("Refusing to roll out StatefulSet pets/kubia")
        assert "Pod pets/kubia-1: its phase is Pending" in error.msg and "Last events: Warning Seen: Pod kubia-1." in error.msg
        assert fake.writes == [] and fake.events == []


def test_allow_unhealthy_warns_and_replaces_the_unhealthy_pet():
    fake = FakeController(unhealthy={1})
    result, reporter = run(fake, image=NEW, allow_unhealthy=True)
    assert reporter.warnings == ["StatefulSet pets/kubia has pets that are not healthy: kubia-1."]
    assert fake.deleted == ["kubia-1"]
    assert [(s["ordinal"], s["action"]) for s in result["steps"]] == [(2, "partition"), (1, "delete"), (0, "partition")]
    assert all(fake.revision_of(n) == "kubia-rev2" for n in range(3))


def test_nothing_to_do_with_an_unhealthy_pet_is_a_warning_not_a_refusal():
    fake = FakeController(unhealthy={0})
    result, reporter = run(fake)
    assert result["changed"] is False and reporter.warnings == ["StatefulSet pets/kubia has pets that are not healthy: kubia-0."]


def test_min_ready_seconds_holds_each_step():
    fake = FakeController(min_ready=5)
    result, _reporter = run(fake, image=NEW)
    assert [s["seconds"] for s in result["steps"]] == [7.0, 7.0, 7.0]


@pytest.mark.parametrize("overrides, message", [
    ({"images": {"sidecar": NEW}}, "Cannot roll out StatefulSet pets/kubia: the template has no container named sidecar; its containers are kubia."),
    ({"partition": 4}, "Cannot roll out StatefulSet pets/kubia: partition 4 is above the replica count 3; use 0 to 3."),
    ({"name": "gone", "image": NEW}, "StatefulSet pets/gone does not exist."),
    ({"name": "web", "image": NEW}, "Deployment pets/web is not a StatefulSet"),
    ({"namespace": "nope", "image": NEW}, "Namespace nope does not exist"),
])
def test_bad_input_is_refused_before_any_write(overrides, message):
    fake = FakeController()
    error, _reporter = fail(fake, **overrides)
    assert error.msg.startswith(message)
    assert error.msg.endswith("Nothing was changed.")
    assert fake.writes == []


@pytest.mark.parametrize("overrides, message", [
    ({"image": "pets/kubia"}, "image 'pets/kubia' for container (the only one) has no tag"),
    ({"partition": -1}, "partition must be 0 or more, got -1."),
])
def test_bad_parameters_are_refused_before_any_connection(mocker, overrides, message):
    connect = mocker.patch.object(statefulset_rollout.Cluster, "from_params")
    with pytest.raises(K8sError, match=re.escape(message)):
        statefulset_rollout.run(params(**overrides), False, False, Reporter())
    connect.assert_not_called()
