# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.module_utils._scale_run import Scaler
from ansible_collections.stateful.pets.plugins.modules import statefulset_scale

EPOCH = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)  # noqa: UP017
# A default StorageClass that provisions volumes, so that a new claim can always bind unless a test says otherwise.
DEFAULT_CLASS = {"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                 "provisioner": "example.com/disk"}


class FakeCluster:
    """A StatefulSet controller in miniature: a patch makes pods appear Ready or go away, as scripted per pod."""

    def __init__(self, replicas=2, stuck=(), unhealthy=(), templates=("data",), pvcs=(), policy=None, namespace=True, kind="StatefulSet",
                 pvs=(), classes=(DEFAULT_CLASS,), node_ready=None):
        self.t = 0.0
        self.replicas = replicas
        self.stuck = set(stuck)
        self.unhealthy = set(unhealthy)
        self.templates = templates
        self.pvcs = set(pvcs)
        self.policy = policy
        self.namespace = namespace
        self.kind = kind
        self.pvs = list(pvs)
        self.classes = list(classes)
        self.node_ready = node_ready or {}  # node name -> its Ready status since EPOCH; a node missing here is Ready
        self.reads = []
        self.patches = []
        self.watches = []
        self.events = []
        self.pods = {f"kubia-{n}": self._pod(n) for n in range(replicas)}

    # time, driven by the watches
    def clock(self):
        return self.t

    def wall(self):
        return 1000.0 + self.t

    def now(self):
        return EPOCH + timedelta(seconds=self.t)

    def _pod(self, n, ready=True, scheduled=True):
        name = f"kubia-{n}"
        ready = ready and name not in self.unhealthy and name not in self.stuck
        scheduled = scheduled and name not in self.stuck
        since = (EPOCH + timedelta(seconds=self.t)).isoformat().replace("+00:00", "Z")
        conditions = [{"type": "PodScheduled", "status": "True" if scheduled else "False", "reason": None if scheduled else "Unschedulable",
                       "message": None if scheduled else "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity."}]
        if scheduled:
            conditions.append({"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since,
                               "reason": None if ready else "ContainersNotReady", "message": None if ready else "containers with unready status: [kubia]"})
        return {"metadata": {"name": name, "resourceVersion": str(n + 100)}, "spec": {"nodeName": f"pets-worker{n % 2 or ''}" if scheduled else None},
                "status": {"phase": "Running" if scheduled else "Pending", "conditions": conditions}}

    # the Cluster surface used by the module
    def namespace_exists(self, namespace):
        return self.namespace

    def get_statefulset(self, namespace, name):
        if self.kind != "StatefulSet":
            raise K8sError(f"Cannot get StatefulSet {namespace}/{name}: it was not found.", status=404)
        return {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": namespace, "generation": 3, "uid": "uid-sts"},
            "spec": {"replicas": self.replicas, "selector": {"matchLabels": {"app": "kubia"}},
                     "volumeClaimTemplates": [{"metadata": {"name": t}} for t in self.templates],
                     "persistentVolumeClaimRetentionPolicy": self.policy},
            "status": {"readyReplicas": sum(1 for p in self.pods.values() if p["status"]["conditions"][-1].get("status") == "True")},
        }

    def find_workload_kind(self, namespace, name):
        return None if self.kind is None else self.kind

    def find_pvc(self, namespace, name):
        return {"metadata": {"name": name}, "spec": {"volumeName": f"pv-{name}"}, "status": {"phase": "Bound"}} if name in self.pvcs else None

    def list_pvcs(self, namespace):
        return [self.find_pvc(namespace, name) for name in sorted(self.pvcs)]

    def list_pvs(self):
        self.reads.append("PersistentVolume")
        return self.pvs

    def list_storage_classes(self):
        self.reads.append("StorageClass")
        return self.classes

    def get_node(self, name):
        if self.node_ready.get(name) == "gone":
            raise K8sError(f"Cannot get Node {name}: it was not found.", status=404)
        return {"metadata": {"name": name}, "status": {"conditions": [
            {"type": "Ready", "status": self.node_ready.get(name, "True"), "lastTransitionTime": "2026-11-27T12:00:00Z"}]}}

    def list_pods(self, namespace, label_selector=None):
        assert label_selector == "app=kubia"
        return list(self.pods.values())

    def find_pod(self, namespace, name):
        return self.pods.get(name)

    def events_for(self, namespace, kind, name, limit=5):
        return [f"Warning Seen: {kind} {name}"]

    def create_event(self, event):
        self.events.append(event)
        return event

    def patch_statefulset_replicas(self, namespace, name, replicas):
        self.patches.append(replicas)
        for n in range(self.replicas, replicas):
            self.pvcs.update(f"{t}-kubia-{n}" for t in self.templates)
        self.replicas = replicas
        for pod in [p for p in self.pods if int(p.rsplit("-", 1)[1]) >= replicas]:
            del self.pods[pod]

    def watch_named(self, kind, namespace, name, timeout, resource_version=None):
        self.watches.append((kind, name))
        if kind == "StatefulSet":
            yield "ADDED", self.get_statefulset(namespace, name)
        elif int(name.rsplit("-", 1)[1]) >= self.replicas:
            if resource_version:  # scale-down: the removed pod's last event
                yield "DELETED", {"metadata": {"name": name, "resourceVersion": "999"}}
        elif name not in self.pods:  # scale-up: the controller creates the pod, Ready 2 s later unless scripted otherwise
            n = int(name.rsplit("-", 1)[1])
            self.t += 2.0
            self.pods[name] = self._pod(n)
            yield "ADDED", self.pods[name]
        self.t += timeout  # the watch ran out


def params(**overrides):
    base = dict(name="kubia", namespace="pets", replicas=4, step_timeout=120, timeout=600, min_ready_seconds=None, allow_unhealthy_scale_down=False)
    base.update(overrides)
    return base


def run(fake, check_mode=False, reporter=None, **overrides):
    reporter = reporter or Reporter(run_id="run12345")
    result = Scaler(fake, params(**overrides), check_mode, reporter, clock=fake.clock, wall=fake.wall, now=fake.now).run()
    return result, reporter.warnings


def test_scale_up_one_ordinal_at_a_time_and_reports_reused_claims():
    fake = FakeCluster(replicas=2, pvcs={"data-kubia-0", "data-kubia-1", "data-kubia-2"})
    result, warnings = run(fake, replicas=4)
    assert fake.patches == [3, 4]
    assert [(s["ordinal"], s["action"], s["node"], s["pvc"]) for s in result["steps"]] == [
        (2, "add", "pets-worker", ["data-kubia-2"]),
        (3, "add", "pets-worker1", ["data-kubia-3"]),
    ]
    assert result["steps"][0]["seconds"] == 2.0
    assert result["steps"][1]["patched_at"] >= result["steps"][0]["done_at"]
    assert result["reused_pvcs"] == [{"name": "data-kubia-2", "pv": "pv-data-kubia-2", "phase": "Bound"}]
    assert result["changed"] is True
    assert (result["replicas_before"], result["replicas_after"]) == (2, 4)
    assert result["diff"] == {"before": {"replicas": 2}, "after": {"replicas": 4}}
    assert warnings == []


def test_each_step_is_one_progress_line_in_order_as_it_happens():
    fake = FakeCluster(replicas=2)
    shown = []
    reporter = Reporter(on_progress=lambda text: shown.append((text, list(fake.patches))))
    result, _warnings = run(fake, replicas=4, reporter=reporter)
    assert reporter.progress_lines == [
        "StatefulSet pets/kubia: scaling from 2 to 4 replicas, one pod at a time.",
        "StatefulSet pets/kubia: kubia-2 Ready on pets-worker after 2.0 s (3 of 4 replicas).",
        "StatefulSet pets/kubia: kubia-3 Ready on pets-worker1 after 2.0 s (4 of 4 replicas).",
        "StatefulSet pets/kubia: scaled from 2 to 4 replicas in 4.0 s.",
    ]
    # Live: the line of step 1 was shown before step 2 was patched.
    assert [patches for _text, patches in shown] == [[], [3], [3, 4], [3, 4]]
    assert "progress" not in result  # run_as_module adds the lines to the result, in both ways of running


@pytest.mark.parametrize(
    "current, replicas, line",
    [
        (3, 3, "StatefulSet pets/kubia already has 3 replicas; nothing to do."),
        (3, 1, "StatefulSet pets/kubia: would scale from 3 to 1 replicas and remove kubia-2, kubia-1 (check mode: nothing was changed)."),
    ],
)
def test_a_run_without_steps_says_why_in_one_line(current, replicas, line):
    fake = FakeCluster(replicas=current)
    reporter = Reporter()
    run(fake, check_mode=current != replicas, reporter=reporter, replicas=replicas)
    assert reporter.progress_lines == [line]


def test_each_replica_change_is_an_event_on_the_statefulset_naming_the_run():
    fake = FakeCluster(replicas=3)
    run(fake, replicas=1)
    assert [(e["reason"], e["action"], e["type"]) for e in fake.events] == [("RemovePet", "Scale", "Normal")] * 2
    first = fake.events[0]
    assert first["regarding"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "kubia", "namespace": "pets", "uid": "uid-sts"}
    assert first["metadata"]["namespace"] == "pets"
    assert first["metadata"]["labels"] == {"stateful.pets/run": "run12345"}
    assert first["reportingController"] == "stateful.pets"
    assert first["note"] == "Set replicas from 3 to 2 to remove pod kubia-2 (step 1 of 2 toward 1 replicas). (stateful.pets run run12345)"
    assert fake.events[1]["note"].startswith("Set replicas from 2 to 1 to remove pod kubia-1 (step 2 of 2 toward 1 replicas).")


def test_a_step_set_back_is_a_warning_event():
    fake = FakeCluster(replicas=2, stuck={"kubia-2"})
    with pytest.raises(K8sError):
        run(fake, replicas=3, step_timeout=20)
    assert [(e["reason"], e["type"]) for e in fake.events] == [("AddPet", "Normal"), ("StepTimedOut", "Warning")]
    assert fake.events[1]["note"].startswith("Set replicas from 3 to 2 back: pod kubia-2 was not Running and Ready within 20 s.")


def test_an_event_that_cannot_be_recorded_is_a_warning_and_the_scale_goes_on():
    fake = FakeCluster(replicas=2)

    def refuse(event):
        raise K8sError("Cannot create Event pets/kubia.x: the API server refused it (403).", status=403)

    fake.create_event = refuse
    result, warnings = run(fake, replicas=3)
    assert fake.patches == [3]
    assert result["replicas_after"] == 3
    assert warnings == ["Could not record the Event AddPet on StatefulSet pets/kubia, which is otherwise done:"
                        " Cannot create Event pets/kubia.x: the API server refused it (403)."]


def test_scale_down_removes_highest_first_and_keeps_claims():
    fake = FakeCluster(replicas=4, pvcs={f"data-kubia-{n}" for n in range(4)})
    result, _warnings = run(fake, replicas=1)
    assert fake.patches == [3, 2, 1]
    assert [s["ordinal"] for s in result["steps"]] == [3, 2, 1]
    assert [c["name"] for c in result["retained_pvcs"]] == ["data-kubia-1", "data-kubia-2", "data-kubia-3"]
    assert result["retained_pvcs"][0]["pv"] == "pv-data-kubia-1"


def test_at_target_is_not_changed():
    fake = FakeCluster(replicas=3)
    result, _warnings = run(fake, replicas=3)
    assert result["changed"] is False
    assert result["steps"] == []
    assert fake.patches == []


@pytest.mark.parametrize("replicas, expected_steps", [(4, [(2, "add"), (3, "add")]), (0, [(1, "remove"), (0, "remove")])])
def test_check_mode_plans_without_any_write(mocker, replicas, expected_steps):
    fake = FakeCluster(replicas=2, pvcs={"data-kubia-2"})
    patch = mocker.spy(fake, "patch_statefulset_replicas")
    result, _warnings = run(fake, check_mode=True, replicas=replicas)
    patch.assert_not_called()
    assert fake.watches == []
    assert fake.events == []
    assert [(s["ordinal"], s["action"]) for s in result["steps"]] == expected_steps
    assert all(s["seconds"] is None for s in result["steps"])
    assert result["changed"] is True
    assert result["replicas_after"] == replicas


def test_check_mode_reports_claims_that_would_be_reused():
    fake = FakeCluster(replicas=2, pvcs={"data-kubia-2"})
    result, _warnings = run(fake, check_mode=True, replicas=4)
    assert result["reused_pvcs"] == [{"name": "data-kubia-2", "pv": "pv-data-kubia-2", "phase": "Bound"}]


def test_unhealthy_pod_refuses_scale_down_before_any_patch():
    fake = FakeCluster(replicas=3, unhealthy={"kubia-1"})
    with pytest.raises(K8sError) as err:
        run(fake, replicas=1)
    assert fake.patches == []
    assert "Refusing to scale StatefulSet pets/kubia down from 3 to 1" in err.value.msg
    reason = "Ready=False (ContainersNotReady: containers with unready status: [kubia])"
    assert f"Pod pets/kubia-1: {reason}. Last events: Warning Seen: Pod kubia-1." in err.value.msg
    assert err.value.details["changed"] is False


def test_unhealthy_scale_down_refused_in_check_mode_too():
    fake = FakeCluster(replicas=3, unhealthy={"kubia-0"})
    with pytest.raises(K8sError, match="Nothing was changed"):
        run(fake, check_mode=True, replicas=2)


def test_allow_unhealthy_scale_down_warns_and_scales():
    fake = FakeCluster(replicas=3, unhealthy={"kubia-2"})
    result, warnings = run(fake, replicas=2, allow_unhealthy_scale_down=True)
    assert fake.patches == [2]
    assert result["replicas_after"] == 2
    assert warnings == ["Scaling StatefulSet pets/kubia down although these pods are not healthy (allow_unhealthy_scale_down=true): kubia-2."]


def test_step_timeout_sets_back_to_last_healthy_count():
    fake = FakeCluster(replicas=2, stuck={"kubia-3"})
    with pytest.raises(K8sError) as err:
        run(fake, replicas=5, step_timeout=20)
    assert fake.patches == [3, 4, 3]
    assert err.value.details["replicas_after"] == 3
    assert [s["ordinal"] for s in err.value.details["steps"]] == [2]
    msg = err.value.msg
    assert msg.startswith("Scaling StatefulSet pets/kubia up stopped: pod pets/kubia-3 was not Running and Ready within 20 s.")
    assert "It waits on scheduling (0/3 nodes are available: 3 node(s) didn't match Pod's node affinity.)." in msg
    assert "Last events: Warning Seen: Pod kubia-3." in msg
    assert "set back to 3 replicas, its last healthy count; no further steps were taken." in msg


def test_overall_timeout_bounds_the_step():
    fake = FakeCluster(replicas=0, stuck={"kubia-0"})
    with pytest.raises(K8sError, match="within 30 s"):
        run(fake, replicas=1, step_timeout=30, timeout=30)


def test_min_ready_seconds_defaults_to_the_statefulset_and_is_held():
    fake = FakeCluster(replicas=0)
    original = fake.get_statefulset

    def with_min_ready(namespace, name):
        sts = original(namespace, name)
        sts["spec"]["minReadySeconds"] = 5
        return sts

    fake.get_statefulset = with_min_ready
    result, _warnings = run(fake, replicas=1)
    assert result["min_ready_seconds"] == 5
    assert result["steps"][0]["seconds"] >= 7.0  # 2 s to Ready, then held for 5 s by a watch that ran out


def test_delete_retention_policy_warns_and_hides_deleted_claims():
    fake = FakeCluster(replicas=3, pvcs={"data-kubia-0", "data-kubia-1", "data-kubia-2"}, policy={"whenScaled": "Delete"})
    result, warnings = run(fake, replicas=1)
    assert "whenScaled=Delete" in warnings[0]
    assert result["retained_pvcs"] == []


@pytest.mark.parametrize(
    "fake, match",
    [
        (FakeCluster(namespace=False), "Namespace pets does not exist"),
        (FakeCluster(kind=None), "StatefulSet pets/kubia does not exist"),
        (FakeCluster(kind="Deployment"), "Deployment pets/kubia is not a StatefulSet"),
    ],
)
def test_missing_objects_fail_with_nothing_changed(fake, match):
    with pytest.raises(K8sError, match=match):
        run(fake, replicas=3)
    assert fake.patches == []


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


@pytest.fixture
def module_exits(mocker):
    def exit_json(self, **kwargs):
        raise ExitJson(kwargs)

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)

    mocker.patch("ansible.module_utils.basic.AnsibleModule.exit_json", exit_json)
    mocker.patch("ansible.module_utils.basic.AnsibleModule.fail_json", fail_json)


@pytest.mark.parametrize(
    "args, message",
    [
        ({"replicas": -1}, "Cannot scale StatefulSet pets/kubia: replicas must be 0 or more, got -1. Nothing was changed."),
        ({"replicas": 2, "timeout": 0}, "Cannot scale StatefulSet pets/kubia: timeout must be more than 0 seconds, got 0."),
        ({"replicas": 2, "timeout": 60, "step_timeout": 90}, "step_timeout (90 s) must not be greater than timeout (60 s)"),
    ],
)
def test_main_rejects_bad_input_before_connecting(mocker, module_exits, args, message):
    connect = mocker.patch.object(statefulset_scale.Cluster, "from_params")
    with patch_module_args(dict(name="kubia", namespace="pets", **args)), pytest.raises(FailJson) as err:
        statefulset_scale.main()
    assert message in err.value.args[0]["msg"]
    connect.assert_not_called()


def test_main_check_mode_sends_no_write(mocker, module_exits):
    cluster = mocker.MagicMock(spec=statefulset_scale.Cluster)
    cluster.namespace_exists.return_value = True
    cluster.get_statefulset.return_value = {"metadata": {"name": "kubia"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "kubia"}}}}
    mocker.patch.object(statefulset_scale.Cluster, "from_params", return_value=cluster)
    with patch_module_args(dict(name="kubia", namespace="pets", replicas=5, _ansible_check_mode=True)), pytest.raises(ExitJson) as done:
        statefulset_scale.main()
    result = done.value.args[0]
    assert result["changed"] is True
    assert [s["ordinal"] for s in result["steps"]] == [2, 3, 4]
    cluster.patch_statefulset_replicas.assert_not_called()
    cluster.create_event.assert_not_called()
    cluster.watch_named.assert_not_called()
    json.dumps(result)  # the result must serialise


def test_main_turns_errors_into_fail_json_with_partial_result(mocker, module_exits):
    fake = FakeCluster(replicas=3, unhealthy={"kubia-2"})
    mocker.patch.object(statefulset_scale.Cluster, "from_params", return_value=fake)
    with patch_module_args(dict(name="kubia", namespace="pets", replicas=1)), pytest.raises(FailJson) as err:
        statefulset_scale.main()
    assert err.value.args[0]["msg"].startswith("Refusing to scale StatefulSet pets/kubia down from 3 to 1")
    assert err.value.args[0]["replicas_after"] == 3


def pv(name, claim=None, storage="1Mi", klass="", phase="Available", uid=None):
    spec = {"capacity": {"storage": storage}, "accessModes": ["ReadWriteOnce"], "storageClassName": klass}
    if claim:
        spec["claimRef"] = {"namespace": "pets", "name": claim, **({"uid": uid} if uid else {})}
    return {"metadata": {"name": name}, "spec": spec, "status": {"phase": phase}}


class ClassedCluster(FakeCluster):
    """The claim templates ask for a class, as the statefulset role's do (storageClassName "", 1Mi)."""

    def __init__(self, klass="", **kwargs):
        super().__init__(**kwargs)
        self.klass = klass

    def get_statefulset(self, namespace, name):
        sts = super().get_statefulset(namespace, name)
        for template in sts["spec"]["volumeClaimTemplates"]:
            template["spec"] = {"storageClassName": self.klass, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}
        return sts


def test_a_scale_up_whose_new_claim_cannot_bind_is_refused_before_any_patch():
    fake = ClassedCluster(replicas=2, pvcs={"data-kubia-0", "data-kubia-1"}, pvs=[pv("pets-kubia-2", "data-kubia-2")])
    with pytest.raises(K8sError) as err:
        run(fake, replicas=4)
    assert fake.patches == [] and fake.events == [] and fake.watches == []
    msg = err.value.msg
    assert msg.startswith("Refusing to scale StatefulSet pets/kubia up from 2 to 4: a claim of the pods to add cannot bind, so a pod would wait"
                          " for its volume until the step timed out. Nothing was changed. Claim pets/data-kubia-3 of pod kubia-3 needs a"
                          ' PersistentVolume of class "", 1Mi, ReadWriteOnce: no Available PersistentVolume fits it, and a claim without a'
                          " class is never provisioned.")
    assert "data-kubia-2" not in msg  # its pre-bound volume fits
    assert "the playbook stateful.pets.scale makes them before it scales" in msg
    assert err.value.details["replicas_after"] == 2


def test_check_mode_warns_of_the_refusal_since_an_earlier_task_may_only_have_pretended_to_make_the_volumes():
    fake = ClassedCluster(replicas=2)
    result, warnings = run(fake, check_mode=True, replicas=3)
    assert fake.patches == []
    assert result["changed"] is True and [s["ordinal"] for s in result["steps"]] == [2]
    assert warnings == ["Scaling StatefulSet pets/kubia up would be refused now: Claim pets/data-kubia-2 of pod kubia-2 needs a PersistentVolume"
                        ' of class "", 1Mi, ReadWriteOnce: no Available PersistentVolume fits it, and a claim without a class is never'
                        " provisioned. (In check mode, volumes that an earlier task would create do not exist yet; a real run refuses"
                        " unless they exist by then.)"]


def test_the_refusal_says_why_the_volume_meant_for_a_claim_does_not_fit():
    fake = ClassedCluster(replicas=2, pvs=[pv("pets-kubia-2", "data-kubia-2", storage="512Ki")])
    with pytest.raises(K8sError) as err:
        run(fake, replicas=3)
    assert ("no Available PersistentVolume fits it (PersistentVolume pets-kubia-2 is meant for it, but it holds 512Ki, less than the 1Mi the"
            " claim asks for), and a claim without a class is never provisioned.") in err.value.msg


@pytest.mark.parametrize("klass, classes, said", [
    ("fast", [DEFAULT_CLASS], "and there is no StorageClass fast to provision it."),
    ("local", [{"metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner"}],
     "and StorageClass local provisions nothing (kubernetes.io/no-provisioner)."),
])
def test_a_class_that_provisions_nothing_is_named(klass, classes, said):
    fake = ClassedCluster(klass=klass, replicas=2, classes=classes)
    with pytest.raises(K8sError) as err:
        run(fake, replicas=3)
    assert said in err.value.msg


@pytest.mark.parametrize("fake", [
    ClassedCluster(replicas=2, pvs=[pv("pets-kubia-2", "data-kubia-2"), pv("pets-kubia-3", "data-kubia-3")]),
    ClassedCluster(replicas=2, pvs=[pv("spare-a"), pv("spare-b", storage="1Gi")]),
    ClassedCluster(klass="standard", replicas=2),
    ClassedCluster(klass="standard", replicas=2, classes=[dict(DEFAULT_CLASS, provisioner="kubernetes.io/no-provisioner")],
                   pvs=[pv("local-a", klass="standard"), pv("local-b", klass="standard")]),
], ids=["pre-bound volumes", "two spare volumes", "a provisioning class", "volumes of a class that provisions nothing"])
def test_a_scale_up_whose_claims_can_bind_goes_ahead(fake):
    result, _warnings = run(fake, replicas=4)
    assert fake.patches == [3, 4]
    assert result["replicas_after"] == 4


def test_one_spare_volume_binds_one_claim_only():
    fake = ClassedCluster(replicas=2, pvs=[pv("spare")])
    with pytest.raises(K8sError) as err:
        run(fake, replicas=4)
    assert "Claim pets/data-kubia-3 of pod kubia-3 needs" in err.value.msg
    assert "data-kubia-2 of pod" not in err.value.msg


def test_claims_bound_already_need_no_read_of_volumes_or_classes():
    fake = ClassedCluster(replicas=1, pvcs={"data-kubia-0", "data-kubia-1", "data-kubia-2"})
    run(fake, replicas=3)
    assert fake.reads == []
    assert fake.patches == [2, 3]


@pytest.mark.parametrize("ready, sentence", [
    ("Unknown", "kubia-2 is on node pets-worker, which has been Ready=Unknown for {held} s."),
    ("False", "kubia-2 is on node pets-worker, which has been Ready=False for {held} s."),
    ("gone", "kubia-2 is on node pets-worker, which is no longer in the cluster."),
])
def test_a_step_that_times_out_on_an_unreachable_node_says_so(ready, sentence):
    fake = FakeCluster(replicas=2, unhealthy={"kubia-2"}, node_ready={"pets-worker": ready})
    with pytest.raises(K8sError) as err:
        run(fake, replicas=3, step_timeout=20)
    held = round(fake.t)
    assert (f"pod pets/kubia-2 was not Running and Ready within 20 s. {sentence.format(held=held)} It waits on becoming Running and Ready"
            in err.value.msg)


def test_a_step_that_times_out_on_a_ready_node_names_no_node():
    fake = FakeCluster(replicas=2, unhealthy={"kubia-2"})
    with pytest.raises(K8sError) as err:
        run(fake, replicas=3, step_timeout=20)
    assert "is on node" not in err.value.msg
