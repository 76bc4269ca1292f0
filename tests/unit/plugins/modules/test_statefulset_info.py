# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.stateful.pets.plugins.module_utils._k8s import Cluster, K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.modules import statefulset_info
from ansible_collections.stateful.pets.plugins.modules.statefulset_info import PetsReader

# Every Cluster method that changes something; none may ever be called.
WRITES = [name for name in dir(Cluster) if name.startswith(("patch_", "delete_", "force_", "create_", "proxy"))]


def pod(n, ready=True, waiting=None):
    containers = [{"name": "kubia", "ready": ready, "restartCount": 0, "state": {"waiting": waiting} if waiting else {"running": {}}}]
    conditions = [{"type": "PodScheduled", "status": "True"},
                  {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": f"2026-11-27T12:00:0{n}Z"}]
    return {"metadata": {"name": f"kubia-{n}", "uid": f"uid-{n}", "ownerReferences": [{"kind": "StatefulSet", "name": "kubia", "controller": True}]},
            "spec": {"nodeName": f"pets-worker{n or ''}"}, "status": {"phase": "Running" if ready else "Pending", "conditions": conditions,
                                                                      "containerStatuses": containers}}


def statefulset(replicas=2, ready=2):
    return {"metadata": {"name": "kubia", "namespace": "pets", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "kubia", "selector": {"matchLabels": {"app": "kubia"}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
            "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": ready, "updatedReplicas": replicas}}


def pvc(n):
    return {"metadata": {"name": f"data-kubia-{n}"}, "spec": {"volumeName": f"pets-kubia-{n}"}, "status": {"phase": "Bound"}}


class FakeCluster:
    """Read-only surface of Cluster; watches play scripted events and move the clock as they go."""

    def __init__(self, sts=None, pods=(), pod_events=(), sts_events=()):
        self.t = 0.0
        self.sts = sts
        self.pods = list(pods)
        self.pod_events = list(pod_events)  # (at second, type, pod), played after the initial ADDED events
        self.sts_events = list(sts_events)  # (at second, StatefulSet)
        self.calls = []

    def clock(self):
        return self.t

    def get_statefulset(self, namespace, name):
        self.calls.append("get_statefulset")
        if self.sts is None:
            raise K8sError(f"Cannot get StatefulSet {namespace}/{name}: it was not found.", status=404)
        return self.sts

    def list_pods(self, namespace, label_selector=None):
        self.calls.append(("list_pods", label_selector))
        return self.pods

    def list_pvcs(self, namespace, label_selector=None):
        self.calls.append("list_pvcs")
        return [pvc(0), pvc(1), pvc(2)]

    def watch_pods(self, namespace, label_selector, timeout):
        self.calls.append(("watch_pods", label_selector, timeout))
        end = self.t + timeout
        for item in self.pods:
            yield "ADDED", item
        while self.pod_events and self.pod_events[0][0] <= end:
            self.t, kind, item = self.pod_events.pop(0)
            self.pods = [p for p in self.pods if p["metadata"]["name"] != item["metadata"]["name"]] + ([item] if kind != "DELETED" else [])
            yield kind, item
        self.t = end  # the server closed the watch at its timeout

    def watch_named(self, kind, namespace, name, timeout, resource_version=None):
        self.calls.append(("watch_named", kind, timeout))
        end = self.t + timeout
        yield "ADDED", self.sts
        while self.sts_events and self.sts_events[0][0] <= end:
            self.t, self.sts = self.sts_events.pop(0)
            yield "MODIFIED", self.sts
        self.t = end


def read(fake, wait=False, timeout=300, reporter=None):
    return PetsReader(fake, "pets", "kubia", clock=fake.clock, reporter=reporter).run(wait, timeout)


def test_without_wait_reads_once_and_never_watches():
    fake = FakeCluster(statefulset(replicas=2, ready=1), pods=[pod(0), pod(1, ready=False)])
    result = read(fake)
    assert fake.calls == ["get_statefulset", ("list_pods", "app=kubia"), "list_pvcs"]
    assert result["changed"] is False
    assert result["waited"] == 0.0
    assert result["statefulset"]["ready_replicas"] == 1
    assert [(p["name"], p["node"], p["ready"], p["claims"][0]["volume"]) for p in result["pets"]] == [
        ("kubia-0", "pets-worker", True, "pets-kubia-0"),
        ("kubia-1", "pets-worker1", False, "pets-kubia-1"),
    ]


def test_wait_returns_when_the_watch_delivers_the_last_ready():
    fake = FakeCluster(
        statefulset(replicas=2, ready=1),
        pods=[pod(0), pod(1, ready=False)],
        pod_events=[(1.5, "MODIFIED", pod(1, ready=False)), (3.5, "MODIFIED", pod(1)), (50.0, "MODIFIED", pod(1, ready=False))],
        sts_events=[(3.75, statefulset(replicas=2, ready=2))],
    )
    result = read(fake, wait=True, timeout=60)
    assert result["waited"] == 3.75  # 3.5 s until pod 1 is Ready, then 0.25 s until the status counts it
    assert [p["ready"] for p in result["pets"]] == [True, True]
    assert result["statefulset"]["ready_replicas"] == 2
    assert fake.pod_events == [(50.0, "MODIFIED", pod(1, ready=False))]  # it stopped watching right away
    assert [c[0] if isinstance(c, tuple) else c for c in fake.calls] == ["get_statefulset", "watch_pods", "watch_named", "list_pvcs"]


def test_wait_reports_one_line_per_pod_that_becomes_ready_not_per_event():
    fake = FakeCluster(
        statefulset(replicas=3, ready=1),
        pods=[pod(0), pod(1, ready=False)],
        pod_events=[(1.5, "MODIFIED", pod(1, ready=False)), (2.0, "MODIFIED", pod(1)), (2.5, "ADDED", pod(2, ready=False)),
                    (3.0, "MODIFIED", pod(2, ready=False)), (4.0, "MODIFIED", pod(2))],
        sts_events=[(4.5, statefulset(replicas=3, ready=3))],
    )
    reporter = Reporter()
    read(fake, wait=True, timeout=60, reporter=reporter)
    assert reporter.progress_lines == [
        "StatefulSet pets/kubia: kubia-1 Ready on pets-worker1, 2 of 3 pods Ready after 2.0 s.",
        "StatefulSet pets/kubia: kubia-2 Ready on pets-worker2, 3 of 3 pods Ready after 4.0 s.",
        "StatefulSet pets/kubia: rollout complete, 3 of 3 pods Ready after 4.5 s.",
    ]


def test_without_wait_there_is_no_progress_line():
    reporter = Reporter()
    read(FakeCluster(statefulset(), pods=[pod(0), pod(1)]), reporter=reporter)
    assert reporter.progress_lines == []


def test_wait_on_a_finished_rollout_returns_at_once():
    fake = FakeCluster(statefulset(), pods=[pod(0), pod(1)])
    result = read(fake, wait=True)
    assert result["waited"] == 0.0
    assert [p["name"] for p in result["pets"]] == ["kubia-0", "kubia-1"]


def test_wait_follows_a_scale_up_seen_in_the_status():
    # Read at 2 replicas; by the time the StatefulSet is watched it was scaled to 3, and pod 2 is Ready at 5 s.
    fake = FakeCluster(statefulset(replicas=3, ready=2), pods=[pod(0), pod(1)], pod_events=[(5.0, "ADDED", pod(2))],
                       sts_events=[(5.0, statefulset(replicas=3, ready=3))])
    fake.get_statefulset = lambda namespace, name: statefulset(replicas=2)
    result = read(fake, wait=True, timeout=60)
    assert [(p["ordinal"], p["ready"]) for p in result["pets"]] == [(0, True), (1, True), (2, True)]
    assert result["statefulset"]["replicas"] == 3
    assert result["waited"] == 5.0
    assert [c[0] for c in fake.calls if isinstance(c, tuple)] == ["watch_pods", "watch_named", "watch_pods", "watch_named"]


def test_timeout_fails_naming_the_pod_and_keeps_the_report():
    never = {"reason": "ErrImageNeverPull", "message": 'Container image "pets/absent:0.0.1" is not present with pull policy of Never'}
    fake = FakeCluster(statefulset(replicas=2, ready=1), pods=[pod(0), pod(1, ready=False, waiting=never)])
    with pytest.raises(K8sError) as err:
        read(fake, wait=True, timeout=20)
    assert err.value.msg.startswith("StatefulSet pets/kubia did not finish rolling out within 20 s: 1 of 2 pods are Ready.")
    assert "Pod pets/kubia-1: container kubia is waiting (ErrImageNeverPull:" in err.value.msg
    assert "nothing was changed" in err.value.msg
    assert fake.t == 20.0
    assert err.value.details["pets"][1]["ready"] is False
    assert err.value.details["waited"] == 20.0


def test_watch_closed_early_by_the_server_is_opened_again():
    fake = FakeCluster(statefulset(replicas=1, ready=0), pods=[pod(0, ready=False)], pod_events=[(40.0, "MODIFIED", pod(0))],
                       sts_events=[(40.1, statefulset(replicas=1, ready=1))])
    original = fake.watch_pods
    fake.watch_pods = lambda namespace, selector, timeout: original(namespace, selector, min(timeout, 30))  # server caps at 30 s
    result = read(fake, wait=True, timeout=100)
    assert result["pets"][0]["ready"] is True
    assert result["waited"] == 40.1
    assert [c[0] for c in fake.calls if isinstance(c, tuple)].count("watch_pods") == 2


def test_wait_on_zero_replicas_follows_the_status_only():
    fake = FakeCluster(statefulset(replicas=0, ready=0), sts_events=[(2.0, statefulset(replicas=0, ready=0))])
    fake.sts["status"]["replicas"] = 1  # the last pod is still going away
    result = read(fake, wait=True, timeout=60)
    assert result["pets"] == []
    assert result["waited"] == 2.0
    assert [c[0] for c in fake.calls if isinstance(c, tuple)] == ["watch_named"]


def test_statefulset_deleted_during_the_wait_fails():
    fake = FakeCluster(statefulset(replicas=1, ready=0), pods=[pod(0)])
    fake.watch_named = lambda *args, **kwargs: iter([("DELETED", statefulset())])
    with pytest.raises(K8sError, match="StatefulSet pets/kubia was deleted while this module waited for it"):
        read(fake, wait=True)


def test_missing_statefulset_fails_with_a_sentence():
    with pytest.raises(K8sError) as err:
        read(FakeCluster(None))
    assert err.value.msg.startswith("StatefulSet pets/kubia does not exist. Check the name and the namespace")


def test_other_api_errors_pass_through(mocker):
    fake = FakeCluster(statefulset())
    fake.get_statefulset = mocker.Mock(side_effect=K8sError("Cannot get StatefulSet pets/kubia: refused (403).", status=403))
    with pytest.raises(K8sError, match=r"refused \(403\)"):
        read(fake)


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


def mocked_cluster(mocker, fake):
    """A MagicMock with Cluster's exact surface whose reads go to `fake`; writes are recorded, never done."""
    cluster = mocker.MagicMock(spec=Cluster)
    for name in ("get_statefulset", "list_pods", "list_pvcs", "watch_pods", "watch_named"):
        getattr(cluster, name).side_effect = getattr(fake, name)
    mocker.patch.object(statefulset_info.Cluster, "from_params", return_value=cluster)
    mocker.patch.object(statefulset_info.time, "monotonic", fake.clock)
    return cluster


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("wait", [False, True])
def test_main_reports_and_never_writes(mocker, module_exits, check_mode, wait):
    fake = FakeCluster(statefulset(replicas=2, ready=1), pods=[pod(0), pod(1, ready=False)], pod_events=[(2.0, "MODIFIED", pod(1))],
                       sts_events=[(2.5, statefulset())])
    cluster = mocked_cluster(mocker, fake)
    args = dict(name="kubia", namespace="pets", wait=wait, _ansible_check_mode=check_mode)
    with patch_module_args(args), pytest.raises(ExitJson) as done:
        statefulset_info.main()
    result = done.value.args[0]
    assert result["changed"] is False
    assert result["waited"] == (2.5 if wait else 0.0)
    assert [p["ready"] for p in result["pets"]] == ([True, True] if wait else [True, False])
    for name in WRITES:
        getattr(cluster, name).assert_not_called()
    json.dumps(result)  # the result must serialise


def test_main_missing_statefulset_fails(mocker, module_exits):
    cluster = mocked_cluster(mocker, FakeCluster(None))
    with patch_module_args(dict(name="kubia", namespace="pets")), pytest.raises(FailJson) as err:
        statefulset_info.main()
    assert err.value.args[0]["msg"] == (
        "StatefulSet pets/kubia does not exist. Check the name and the namespace,"
        " or create the StatefulSet first (for example with the stateful.pets.statefulset role)."
    )
    for name in WRITES:
        getattr(cluster, name).assert_not_called()


def test_main_timeout_fails_with_the_report(mocker, module_exits):
    mocked_cluster(mocker, FakeCluster(statefulset(replicas=2, ready=1), pods=[pod(0), pod(1, ready=False)]))
    with patch_module_args(dict(name="kubia", namespace="pets", wait=True, wait_timeout=20)), pytest.raises(FailJson) as err:
        statefulset_info.main()
    failed = err.value.args[0]
    assert "Pod pets/kubia-1:" in failed["msg"]
    assert [p["name"] for p in failed["pets"]] == ["kubia-0", "kubia-1"]


def test_main_rejects_a_wait_timeout_of_zero_before_connecting(mocker, module_exits):
    connect = mocker.patch.object(statefulset_info.Cluster, "from_params")
    with patch_module_args(dict(name="kubia", namespace="pets", wait=True, wait_timeout=0)), pytest.raises(FailJson) as err:
        statefulset_info.main()
    assert err.value.args[0]["msg"] == "Cannot wait for StatefulSet pets/kubia: wait_timeout must be more than 0 seconds, got 0. Nothing was read."
    connect.assert_not_called()
