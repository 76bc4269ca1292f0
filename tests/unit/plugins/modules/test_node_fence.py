# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy
import datetime
import time
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.stateful.pets.plugins.module_utils import _fence_levels as fence_levels
from ansible_collections.stateful.pets.plugins.module_utils import _fence_run as fence_run
from ansible_collections.stateful.pets.plugins.module_utils import _fencer as fencer
from ansible_collections.stateful.pets.plugins.module_utils import _fencing as fencing
from ansible_collections.stateful.pets.plugins.module_utils._fencer import NodeFencer
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.modules import node_fence

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)  # noqa: UP017 - matches the module's style
WRITES = ("patch_node", "force_delete_pod", "create_event", "create_lease", "replace_lease", "delete_pvc", "create_pv")


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def ago(seconds):
    return (NOW - datetime.timedelta(seconds=seconds)).isoformat()


def node(name, ready="True", since=300, unschedulable=False, taints=None, annotations=None):
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "uid": f"uid-{name}", "annotations": annotations or {}, "resourceVersion": "7"},
        "spec": {"unschedulable": unschedulable, "taints": taints or []},
        "status": {"conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": ago(since)}]},
    }


def pet(name, node_name, uid, ready=True):
    return {
        "metadata": {"name": name, "namespace": "pets", "uid": uid, "ownerReferences": [{"kind": "StatefulSet", "name": "kubia", "controller": True}]},
        "spec": {"nodeName": node_name, "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}"}}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def daemon_pod(node_name):
    pod = pet("kindnet-abc", node_name, "uid-d")
    pod["metadata"].update(namespace="kube-system", ownerReferences=[{"kind": "DaemonSet", "name": "kindnet", "controller": True}])
    return pod


class LeaseStore:
    """The fence Leases of a fake API server: creates and conditional replaces, with 409 as the real one answers."""

    def __init__(self, leases=()):
        self.items = {}
        self.version = 0
        for lease in leases:
            self._store(copy.deepcopy(lease))

    def _store(self, lease):
        self.version += 1
        lease["metadata"]["resourceVersion"] = str(self.version)
        self.items[lease["metadata"]["name"]] = lease
        return copy.deepcopy(lease)

    def find(self, namespace, name):
        return copy.deepcopy(self.items.get(name))

    def list(self, namespace, label_selector=None):
        return [copy.deepcopy(lease) for lease in self.items.values()]

    def create(self, namespace, lease):
        if lease["metadata"]["name"] in self.items:
            raise K8sError("Cannot create Lease: it already exists (409).", status=409)
        return self._store(copy.deepcopy(lease))

    def replace(self, namespace, lease):
        current = self.items.get(lease["metadata"]["name"])
        if current is None or current["metadata"]["resourceVersion"] != lease["metadata"].get("resourceVersion"):
            raise K8sError("Cannot update Lease: it changed on the server meanwhile (409).", status=409)
        return self._store(copy.deepcopy(lease))


def apply_node_patch(node, body):
    """What the API server does with our strategic merge patches of a node: spec fields replaced, annotations merged."""
    node["spec"].update(copy.deepcopy(body.get("spec") or {}))
    annotations = node["metadata"].setdefault("annotations", {})
    for key, value in ((body.get("metadata") or {}).get("annotations") or {}).items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    node["metadata"]["resourceVersion"] = str(int(node["metadata"]["resourceVersion"]) + 1)
    return copy.deepcopy(node)


def make_cluster(nodes, pods=(), leases=None, fence_leases=()):
    """A mocked Cluster whose objects are already dicts (to_dict is the identity)."""
    cluster = mock.MagicMock()
    store = LeaseStore(fence_leases)
    cluster.lease_store = store
    cluster.find_lease.side_effect = store.find
    cluster.list_leases.side_effect = store.list
    cluster.create_lease.side_effect = store.create
    cluster.replace_lease.side_effect = store.replace
    cluster.list_volume_attachments.return_value = []
    cluster.find_pvc.return_value = None
    cluster.find_pv.return_value = None
    cluster.watch_named.side_effect = lambda *args, **kwargs: iter(())
    cluster.list_nodes.return_value = nodes
    # The nodes as the API server has them now: patches apply to these, and get_node reads them.
    live = {n["metadata"]["name"]: copy.deepcopy(n) for n in nodes}
    cluster.live_nodes = live
    cluster.get_node.side_effect = lambda name: copy.deepcopy(live[name])
    cluster.patch_node.side_effect = lambda name, body: apply_node_patch(live[name], body)
    cluster.get_node_lease.side_effect = lambda name: {"spec": {"renewTime": ago((leases or {}).get(name, 120))}}
    cluster.get_statefulset.return_value = {"spec": {"replicas": 2}}
    cluster.list_pods.side_effect = lambda field_selector=None, **kw: [p for p in pods if f"spec.nodeName={p['spec']['nodeName']}" == field_selector]
    return cluster


def cluster_3(worker2_ready="Unknown", **kw):
    nodes = [node("cp"), node("w1"), node("w2", worker2_ready, since=60, **kw)]
    return nodes


def _raise(exc_type):
    def raiser(**result):
        raise exc_type(result)

    return raiser


def run(cluster, **args):
    with (
        patch_module_args(args),
        mock.patch.object(node_fence.Cluster, "from_params", return_value=cluster),
        mock.patch.object(fence_run, "now", return_value=NOW),
        mock.patch.object(time, "sleep") as sleep,
        mock.patch.object(basic.AnsibleModule, "exit_json", side_effect=_raise(ExitJson)),
        mock.patch.object(basic.AnsibleModule, "fail_json", side_effect=_raise(FailJson)),
        pytest.raises((ExitJson, FailJson)) as info,
    ):
        node_fence.main()
    run.sleep = sleep
    return info.type, info.value.args[0]


def fence_params(**overrides):
    params = {name: spec.get("default") for name, spec in node_fence.argument_spec().items()}
    params.update(overrides)
    return params


def assert_no_write(cluster):
    for name in WRITES:
        assert getattr(cluster, name).call_count == 0, name


def node_writes(cluster):
    """The calls that wrote to the node (patch_node), without the Lease and Event writes."""
    return cluster.patch_node.call_args_list


def test_check_mode_reports_everything_and_writes_nothing():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1"), daemon_pod("w2"), pet("kubia-0", "w1", "u0")])
    kind, result = run(cluster, fenced_confirmed=True, _ansible_check_mode=True, _ansible_diff=True)
    assert kind is ExitJson
    assert result["changed"] is True
    assert_no_write(cluster)
    (entry,) = result["nodes"]
    assert entry["name"] == "w2" and entry["selected"] is True
    assert entry["actions"] == ["cordon", "taint out-of-service", "force-delete pets/kubia-1"]
    assert [(p["name"], p["uid"]) for p in entry["pods_deleted"]] == [("kubia-1", "u1")]
    assert [p["name"] for p in entry["pods_skipped"]] == ["kindnet-abc"]
    assert result["diff"]["before"]["w2"] == {"unschedulable": False, "out_of_service_taint": False, "pods": ["pets/kubia-1"]}
    assert result["diff"]["after"]["w2"] == {"unschedulable": True, "out_of_service_taint": True, "pods": []}


def test_check_mode_without_confirmation_writes_nothing():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    kind, result = run(cluster, _ansible_check_mode=True)
    assert kind is ExitJson and result["changed"] is True
    assert_no_write(cluster)
    assert result["nodes"][0]["pending"] == ["taint out-of-service", "force-delete pets/kubia-1"]


def test_without_confirmation_only_cordons_and_reports_the_rest():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    kind, result = run(cluster)
    assert kind is ExitJson and result["changed"] is True and result["confirmed"] is False
    (call,) = cluster.patch_node.call_args_list
    assert call.args[0] == "w2"
    assert call.args[1]["spec"] == {"unschedulable": True}
    assert fencing.FENCED_ANNOTATION in call.args[1]["metadata"]["annotations"]
    cluster.force_delete_pod.assert_not_called()
    entry = result["nodes"][0]
    assert entry["actions"] == ["cordon"]
    assert entry["pending"] == ["taint out-of-service", "force-delete pets/kubia-1"]
    assert entry["pods_deleted"] == []
    assert "not confirmed down" in entry["pods_skipped"][0]["reason"]


def test_without_confirmation_second_run_is_a_no_op():
    cluster = make_cluster(cluster_3(unschedulable=True), [pet("kubia-1", "w2", "u1")])
    kind, result = run(cluster)
    assert kind is ExitJson and result["changed"] is False
    assert_no_write(cluster)


def test_confirmed_fence_taints_and_force_deletes_pinned_by_uid():
    cluster = make_cluster(cluster_3(taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]), [pet("kubia-1", "w2", "u1"), daemon_pod("w2")])
    kind, result = run(cluster, fenced_confirmed=True)
    assert kind is ExitJson and result["changed"] is True
    cordon, taint = cluster.patch_node.call_args_list
    assert cordon.args[1]["spec"] == {"unschedulable": True}
    assert taint.args[1] == {
        "metadata": {"resourceVersion": "8"},  # read live after the cordon
        "spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}, fencing.OUT_OF_SERVICE_TAINT]},
    }
    cluster.force_delete_pod.assert_called_once_with("pets", "kubia-1", "u1")
    assert result["nodes"][0]["pods_deleted"][0]["result"] == "deleted"


def test_confirmed_fence_records_an_event_per_write_and_a_line_per_action():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1"), daemon_pod("w2")])
    reporter = Reporter(run_id="run12345")
    with mock.patch.object(fence_run, "reporting_instance", return_value="stateful.pets-ctl"):
        NodeFencer(cluster, fence_params(fenced_confirmed=True), reporter=reporter).fence()
    events = [call.args[0] for call in cluster.create_event.call_args_list]
    assert [(e["action"], e["reason"], e["type"], e["regarding"]["kind"], e["regarding"]["name"]) for e in events] == [
        ("Cordon", "NodeUnreachable", "Warning", "Node", "w2"),
        ("Taint", "NodeFenced", "Warning", "Node", "w2"),
        ("ForceDelete", "NodeFenced", "Warning", "Pod", "kubia-1"),
    ]
    assert events[0]["regarding"] == {"apiVersion": "v1", "kind": "Node", "name": "w2", "uid": "uid-w2"}
    assert events[0]["metadata"]["namespace"] == "default"  # Events about a Node live there, as the kubelet's do
    assert events[2]["regarding"] == {"apiVersion": "v1", "kind": "Pod", "name": "kubia-1", "namespace": "pets", "uid": "u1"}
    assert events[2]["metadata"]["namespace"] == "pets"
    assert events[2]["note"] == ("Force-deleted pod pets/kubia-1 (UID u1, grace period 0) on fenced node w2, so that its owner StatefulSet/kubia"
                                 " can recreate it on a healthy node. (stateful.pets run run12345)")
    assert all(e["reportingController"] == "stateful.pets" and e["metadata"]["labels"] == {"stateful.pets/run": "run12345"} for e in events)
    assert reporter.progress_lines == [
        "Gates: node w2 passed all 10.",
        "Node w2: took its fence Lease default/stateful-pets-fence-w2 as stateful.pets-ctl-run12345 for 120 s.",
        "Node w2: cordoned.",
        "Node w2: tainted node.kubernetes.io/out-of-service.",
        "Node w2: force-deleted pod pets/kubia-1.",
        "Node w2: no VolumeAttachment names it; its volumes are detached.",
        "Node w2: released its fence Lease.",
    ]
    assert reporter.warnings == []


def test_an_event_that_cannot_be_recorded_is_a_warning_and_the_fence_goes_on():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    cluster.create_event.side_effect = K8sError("Cannot create Event default/w2.x: the API server refused it (403).", status=403)
    reporter = Reporter()
    NodeFencer(cluster, fence_params(fenced_confirmed=True), reporter=reporter).fence()
    cluster.force_delete_pod.assert_called_once_with("pets", "kubia-1", "u1")
    assert len(reporter.warnings) == 3
    assert reporter.warnings[0] == ("Could not record the Event NodeUnreachable on Node w2, which is otherwise done:"
                                    " Cannot create Event default/w2.x: the API server refused it (403).")


def test_check_mode_says_what_it_would_do_and_records_no_event():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    reporter = Reporter()
    NodeFencer(cluster, fence_params(fenced_confirmed=True), check_mode=True, reporter=reporter).fence()
    assert_no_write(cluster)
    assert reporter.progress_lines == ["Gates: node w2 passed all 10.",
                                       "Node w2: take its fence Lease default/stateful-pets-fence-w2 (check mode: not done).",
                                       "Node w2: cordoned (check mode: not done).",
                                       "Node w2: tainted node.kubernetes.io/out-of-service (check mode: not done).",
                                       "Node w2: force-delete pod pets/kubia-1 (check mode: not done)."]


def test_nothing_to_fence_is_one_line():
    reporter = Reporter()
    NodeFencer(make_cluster(cluster_3(worker2_ready="True")), fence_params(), reporter=reporter).fence()
    assert reporter.progress_lines == ["No node needs fencing."]


def test_taint_can_be_switched_off():
    cluster = make_cluster(cluster_3(unschedulable=True), [pet("kubia-1", "w2", "u1")])
    kind, result = run(cluster, fenced_confirmed=True, out_of_service_taint=False)
    assert kind is ExitJson
    cluster.patch_node.assert_not_called()
    cluster.force_delete_pod.assert_called_once_with("pets", "kubia-1", "u1")


@pytest.mark.parametrize("status", [404, 409])
def test_pod_already_gone_is_not_an_error(status):
    cluster = make_cluster(cluster_3(unschedulable=True, taints=[dict(fencing.OUT_OF_SERVICE_TAINT)]), [pet("kubia-1", "w2", "u1")])
    cluster.force_delete_pod.side_effect = K8sError("gone", status=status)
    kind, result = run(cluster, fenced_confirmed=True)
    assert kind is ExitJson
    assert result["nodes"][0]["pods_deleted"][0]["result"] == "already gone"


def test_second_run_after_fence_is_a_no_op():
    cluster = make_cluster(cluster_3(unschedulable=True, taints=[dict(fencing.OUT_OF_SERVICE_TAINT)]), [daemon_pod("w2")])
    kind, result = run(cluster, fenced_confirmed=True, wait=True)
    assert kind is ExitJson and result["changed"] is False
    assert_no_write(cluster)


def test_named_ready_node_is_refused_with_a_clear_message():
    cluster = make_cluster(cluster_3(), [pet("kubia-0", "w1", "u0")], leases={"w1": 2})
    kind, result = run(cluster, name="w1", fenced_confirmed=True)
    assert kind is FailJson
    assert result["msg"].startswith("Refusing to fence node w1: Node w1 is Ready")
    assert "renewed 2 s ago" in result["msg"]
    assert_no_write(cluster)


def test_named_node_with_fresh_lease_is_refused():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")], leases={"w2": 4})
    kind, result = run(cluster, name="w2", fenced_confirmed=True)
    assert kind is FailJson and "may be alive" in result["msg"]
    assert_no_write(cluster)


def test_unknown_node_name_is_a_clear_error():
    kind, result = run(make_cluster(cluster_3()), name="nope")
    assert kind is FailJson
    assert result["msg"] == "Node nope does not exist in the cluster (its nodes are: cp, w1, w2). Check the name."


def test_more_than_half_unreachable_is_refused():
    nodes = [node("cp"), node("w1", "Unknown", since=60), node("w2", "Unknown", since=60)]
    cluster = make_cluster(nodes, [pet("kubia-1", "w2", "u1")])
    kind, result = run(cluster, fenced_confirmed=True)
    assert kind is FailJson and "partition" in result["msg"] and "2 of 3" in result["msg"]
    assert_no_write(cluster)


def test_at_most_max_nodes_per_run_longest_silent_first():
    nodes = [node("cp"), node("c2"), node("c3"), node("w1", "Unknown", since=60), node("w2", "Unknown", since=90)]
    cluster = make_cluster(nodes, [pet("kubia-0", "w1", "u0"), pet("kubia-1", "w2", "u1")])
    kind, result = run(cluster, fenced_confirmed=True)
    assert kind is ExitJson
    by_name = {n["name"]: n for n in result["nodes"]}
    assert by_name["w2"]["selected"] is True and by_name["w1"]["selected"] is False
    assert by_name["w1"]["guards"][-1]["guard"] == "max_nodes"
    cluster.force_delete_pod.assert_called_once_with("pets", "kubia-1", "u1")


def test_healthy_cluster_changes_nothing():
    cluster = make_cluster([node("cp"), node("w1"), node("w2")])
    kind, result = run(cluster, fenced_confirmed=True)
    assert kind is ExitJson and result["changed"] is False and result["nodes"] == []
    assert_no_write(cluster)


def test_forbidden_write_fails_with_the_api_message_and_keeps_results():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    refused = "Cannot patch Node w2: the API server refused it (403). Grant the verb 'patch' on the resource 'nodes'."
    cluster.patch_node.side_effect = K8sError(refused, status=403)
    kind, result = run(cluster)
    assert kind is FailJson
    assert "Grant the verb 'patch' on the resource 'nodes'" in result["msg"]
    assert result["nodes"][0]["name"] == "w2"
    # The refused cordon is neither a change nor an action taken.
    assert result["changed"] is False
    assert result["nodes"][0]["actions"] == []


def test_a_refused_write_after_a_cordon_reports_only_the_cordon():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    cluster.force_delete_pod.side_effect = K8sError("Cannot delete Pod pets/kubia-1: the API server refused it (403).", status=403)
    kind, result = run(cluster, fenced_confirmed=True)
    assert kind is FailJson and "Cannot delete Pod pets/kubia-1" in result["msg"]
    assert result["changed"] is True
    assert result["nodes"][0]["actions"] == ["cordon", "taint out-of-service"]
    assert result["nodes"][0]["pods_deleted"] == []


def test_wait_reports_recovery_on_a_healthy_node():
    cluster = make_cluster(cluster_3(unschedulable=True), [pet("kubia-1", "w2", "u1")])
    cluster.find_pod.side_effect = [None, pet("kubia-1", "w1", "u2", ready=False), pet("kubia-1", "w1", "u2")]
    kind, result = run(cluster, fenced_confirmed=True, wait=True)
    assert kind is ExitJson
    (recovery,) = result["nodes"][0]["recovery"]
    assert recovery["node"] == "w1" and recovery["claims"] == ["data-kubia-1"] and recovery["ready"] is True
    assert run.sleep.call_count == 2


def test_wait_times_out_with_the_last_reason():
    cluster = make_cluster(cluster_3(unschedulable=True), [pet("kubia-1", "w2", "u1")])
    cluster.find_pod.return_value = None
    # The clock: the force-delete's timestamp, the detach wait's deadline, the pet wait's deadline, then two looks.
    with mock.patch.object(fence_run, "monotonic", side_effect=[0.0, 0.0, 0.0, 5.0, 11.0]):
        kind, result = run(cluster, fenced_confirmed=True, wait=True, wait_timeout=10)
    assert kind is FailJson
    assert "did not come back within 10 s: Pod pets/kubia-1 has not been recreated yet." in result["msg"]


def test_silence_timeout_looks_again_until_the_lease_is_stale():
    # The node renewed its Lease while it was powered off; half a second later the lease is old enough.
    cluster = make_cluster(cluster_3(unschedulable=True), [pet("kubia-1", "w2", "u1")])
    ages = iter((3, 9))
    cluster.get_node_lease.side_effect = lambda name: {"spec": {"renewTime": ago(next(ages, 45))}}
    # The clock: the deadline, two looks, then the force-delete's timestamp and the detach wait's deadline.
    with mock.patch.object(fence_run, "monotonic", side_effect=[0.0, 0.5, 1.0, 1.5, 1.5]):
        kind, result = run(cluster, name="w2", fenced_confirmed=True, silence_timeout=30)
    assert kind is ExitJson and result["changed"] is True
    assert run.sleep.call_args_list == [mock.call(fencer.SILENCE_POLL_SECONDS)] * 2
    assert result["nodes"][0]["lease_age_seconds"] == 45
    assert [c.args[1] for c in cluster.force_delete_pod.call_args_list] == ["kubia-1"]


def test_silence_timeout_refuses_a_node_that_stays_alive_and_writes_nothing():
    cluster = make_cluster(cluster_3(unschedulable=True), [pet("kubia-1", "w2", "u1")], leases={"w2": 2})
    with mock.patch.object(fence_run, "monotonic", side_effect=[0.0, 0.5, 31.0]):
        kind, result = run(cluster, name="w2", fenced_confirmed=True, silence_timeout=30)
    assert kind is FailJson
    assert "Refusing to fence node w2" in result["msg"] and "renewed 2 s ago" in result["msg"]
    assert run.sleep.call_count == 1
    assert_no_write(cluster)


def test_silence_timeout_does_not_wait_out_a_partition():
    nodes = [node("cp"), node("w1", "Unknown", since=60), node("w2", "Unknown", since=60)]
    cluster = make_cluster(nodes, [pet("kubia-1", "w2", "u1")], leases={"w1": 2, "w2": 2})
    kind, result = run(cluster, name="w2", fenced_confirmed=True, silence_timeout=30)
    assert kind is FailJson and "2 of 3 nodes are unreachable" in result["msg"]
    assert run.sleep.call_count == 0
    assert_no_write(cluster)


def test_invalid_options_fail_before_any_call():
    cluster = make_cluster(cluster_3())
    kind, result = run(cluster, unreachable_for=3)
    assert kind is FailJson and "unreachable_for must be at least 10" in result["msg"]
    cluster.list_nodes.assert_not_called()


def test_unfence_removes_taint_and_uncordons_a_ready_node():
    other = {"key": "example.com/keep", "effect": "NoSchedule"}
    nodes = [
        node("cp"),
        node("w1"),
        node("w2", "True", unschedulable=True, taints=[other, dict(fencing.OUT_OF_SERVICE_TAINT)], annotations={fencing.FENCED_ANNOTATION: "t"}),
    ]
    cluster = make_cluster(nodes)
    kind, result = run(cluster, state="absent", _ansible_diff=True)
    assert kind is ExitJson and result["changed"] is True
    (call,) = cluster.patch_node.call_args_list
    assert call.args == (
        "w2",
        {"metadata": {"resourceVersion": "7", "annotations": {fencing.FENCED_ANNOTATION: None}}, "spec": {"unschedulable": False, "taints": [other]}},
    )
    assert result["nodes"][0]["actions"] == ["remove out-of-service taint", "uncordon"]
    assert result["diff"]["before"]["w2"] == {"unschedulable": True, "out_of_service_taint": True}
    (event,) = [call.args[0] for call in cluster.create_event.call_args_list]
    assert (event["action"], event["reason"], event["type"], event["regarding"]["name"]) == ("Unfence", "NodeRecovered", "Normal", "w2")
    assert event["note"].startswith("Unfenced node w2, which has been Ready for at least 11 s: remove out-of-service taint and uncordon.")
    assert result["progress"] == ["Node w2: unfenced (remove out-of-service taint and uncordon)."]


def test_unfence_reads_the_node_again_and_retries_when_it_changed_meanwhile():
    fenced = node("w2", "True", unschedulable=True, taints=[dict(fencing.OUT_OF_SERVICE_TAINT)])
    added = {"key": "example.com/added", "effect": "NoSchedule"}
    fresh = node("w2", "True", unschedulable=True, taints=[dict(fencing.OUT_OF_SERVICE_TAINT), added])
    fresh["metadata"]["resourceVersion"] = "8"
    cluster = make_cluster([node("cp"), fenced])
    cluster.get_node.side_effect = lambda name: fresh
    cluster.patch_node.side_effect = [K8sError("Cannot patch Node w2: it changed on the server meanwhile (409).", status=409), None]
    kind, result = run(cluster, state="absent", name="w2")
    assert kind is ExitJson and result["changed"] is True
    first, second = cluster.patch_node.call_args_list
    assert first.args[1]["metadata"]["resourceVersion"] == "7"
    # The second body comes from the node as it is now: its resourceVersion, and the taint added meanwhile kept.
    assert second.args[1] == {
        "metadata": {"resourceVersion": "8", "annotations": {fencing.FENCED_ANNOTATION: None}},
        "spec": {"unschedulable": False, "taints": [added]},
    }


@pytest.mark.parametrize("errors, patches", [
    ([K8sError("Cannot patch Node w2: the API server refused it (403).", status=403)], 1),
    ([K8sError("Cannot patch Node w2: it changed on the server meanwhile (409).", status=409)] * fence_run.CONFLICT_ATTEMPTS,
     fence_run.CONFLICT_ATTEMPTS),
])
def test_unfence_retries_only_conflicts_and_only_a_few_times(errors, patches):
    cluster = make_cluster([node("cp"), node("w2", "True", unschedulable=True)])
    cluster.patch_node.side_effect = errors
    kind, result = run(cluster, state="absent", name="w2")
    assert kind is FailJson and result["msg"] == errors[-1].msg
    assert cluster.patch_node.call_count == patches


def test_unfence_check_mode_and_idempotence():
    tainted = [node("cp"), node("w2", "True", unschedulable=True, taints=[dict(fencing.OUT_OF_SERVICE_TAINT)])]
    cluster = make_cluster(tainted)
    kind, result = run(cluster, state="absent", name="w2", _ansible_check_mode=True)
    assert kind is ExitJson and result["changed"] is True
    assert_no_write(cluster)
    clean = make_cluster([node("cp"), node("w2", "True")])
    kind, result = run(clean, state="absent", name="w2")
    assert kind is ExitJson and result["changed"] is False
    assert_no_write(clean)


def test_unfence_named_node_that_is_still_down_fails():
    cluster = make_cluster([node("cp"), node("w2", "Unknown", unschedulable=True)])
    kind, result = run(cluster, state="absent", name="w2")
    assert kind is FailJson and "not Ready yet (Ready=Unknown)" in result["msg"]
    assert_no_write(cluster)


def test_unfence_waits_for_the_node_to_be_ready():
    down = node("w2", "Unknown", unschedulable=True)
    up = node("w2", "True", unschedulable=True)
    cluster = make_cluster([node("cp"), down])
    cluster.get_node.side_effect = [down, up]
    kind, result = run(cluster, state="absent", name="w2", wait=True)
    assert kind is ExitJson and result["changed"] is True
    assert cluster.patch_node.call_args.args[1]["spec"]["unschedulable"] is False
    assert run.sleep.call_count == 2


def test_wait_skips_a_pet_whose_statefulset_was_scaled_down():
    cluster = make_cluster(cluster_3(unschedulable=True), [pet("kubia-1", "w2", "u1")])
    cluster.find_pod.return_value = None
    cluster.get_statefulset.return_value = {"spec": {"replicas": 1}}
    kind, result = run(cluster, fenced_confirmed=True, wait=True)
    assert kind is ExitJson
    (recovery,) = result["nodes"][0]["recovery"]
    assert recovery["node"] is None and "scaled to 1" in recovery["note"]
    cluster.get_statefulset.assert_called_once_with("pets", "kubia")
    assert run.sleep.call_count == 0


# Fence levels, the fence Lease, the gates, the live reads and node-local pets.

LEVELS = [{"name": "bmc", "actions": [{"command": ["ipmitool", "{node}"], "timeout": 10}]},
          {"name": "power", "actions": [{"command": ["cut", "{node}"], "timeout": 10}, {"command": ["check", "{node}"], "timeout": 10}]}]


def action(rc=0, stderr=""):
    return lambda command, node, timeout: {"command": [c.replace("{node}", node) for c in command], "rc": rc, "stdout": "", "stderr": stderr,
                                           "timed_out": False, "seconds": 0.1}


def fence_with_levels(cluster, actions, verdicts, **params):
    """Run a fence with LEVELS; `actions` are the results of run_action in order, `verdicts` those of verify_silence."""
    runs = iter(actions)

    def next_action(*args):
        return next(runs)(*args)

    with (
        mock.patch.object(fence_levels, "run_action", side_effect=next_action) as run_action,
        mock.patch.object(fence_levels, "verify_silence", side_effect=verdicts) as verify,
    ):
        kind, result = run(cluster, name="w2", levels=LEVELS, **params)
    return kind, result, run_action, verify


def test_levels_escalate_until_one_succeeds_and_then_the_node_is_fenced():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    kind, result, run_action, verify = fence_with_levels(
        cluster, [action(3, "no answer from the BMC"), action(), action()], [(True, "Node w2 has been silent for 30.0 s.")])
    assert kind is ExitJson and result["changed"] is True
    entry = result["nodes"][0]
    assert [call.args[0] for call in run_action.call_args_list] == [["ipmitool", "{node}"], ["cut", "{node}"], ["check", "{node}"]]
    assert [(lv["level"], lv["name"], lv["succeeded"]) for lv in entry["levels"]] == [(1, "bmc", False), (2, "power", True)]
    assert entry["levels"][0]["detail"] == "'ipmitool w2' exited with rc 3: no answer from the BMC"
    assert entry["levels"][1]["verification"] == "Node w2 has been silent for 30.0 s."
    assert entry["actions"] == ["cordon", "fence level 2 (power)", "taint out-of-service", "force-delete pets/kubia-1"]
    assert verify.call_count == 1  # level 1 failed in its action, so its silence was never checked
    cluster.force_delete_pod.assert_called_once_with("pets", "kubia-1", "u1")
    fences = [c.args[0] for c in cluster.create_event.call_args_list if c.args[0]["action"] == "Fence"]
    assert [(e["reason"], e["type"]) for e in fences] == [("FenceLevelFailed", "Warning"), ("NodeFenced", "Warning")]


def test_a_level_whose_node_speaks_again_fails_and_the_next_one_runs():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    kind, result, _run_action, verify = fence_with_levels(
        cluster, [action(), action(), action()], [(False, "Node w2 spoke 2.0 s after the fence actions ended."), (True, "silent")])
    assert kind is ExitJson
    assert [lv["succeeded"] for lv in result["nodes"][0]["levels"]] == [False, True]
    assert result["nodes"][0]["levels"][0]["detail"] == "Node w2 spoke 2.0 s after the fence actions ended."
    assert verify.call_count == 2


def test_when_every_level_fails_the_node_stays_cordoned_and_no_pod_is_touched():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    kind, result, run_action, _verify = fence_with_levels(cluster, [action(3, "no answer"), action(1, "outlet stuck")], [])
    assert kind is FailJson
    assert result["msg"] == ("Every fence level failed for node w2 (level 1 (bmc): 'ipmitool w2' exited with rc 3: no answer;"
                             " level 2 (power): 'cut w2' exited with rc 1: outlet stuck). Node w2 stays cordoned and its pods were not"
                             " touched; fix the fence actions, or make sure the node is down and run again with fenced_confirmed.")
    assert run_action.call_count == 2  # level 2 stopped at its first failed action
    (cordon,) = cluster.patch_node.call_args_list
    assert cordon.args[1]["spec"] == {"unschedulable": True}
    cluster.force_delete_pod.assert_not_called()
    assert result["nodes"][0]["actions"] == ["cordon"]
    # The Lease was released although the run failed.
    assert "holderIdentity" not in cluster.lease_store.items["stateful-pets-fence-w2"]["spec"]


def test_check_mode_with_levels_plans_them_runs_nothing_and_writes_not_even_a_lease():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    with mock.patch.object(fence_levels, "run_action") as run_action:
        kind, result = run(cluster, name="w2", levels=LEVELS, _ansible_check_mode=True)
    assert kind is ExitJson and result["changed"] is True
    run_action.assert_not_called()
    assert_no_write(cluster)
    entry = result["nodes"][0]
    assert entry["actions"] == ["cordon", "run fence level 1 (bmc): ipmitool w2", "run fence level 2 (power): cut w2; check w2",
                                "taint out-of-service", "force-delete pets/kubia-1"]
    assert [g["guard"] for g in entry["guards"]] == ["not_ready", "unreachable_for", "lease_stale", "max_unreachable_fraction", "excluded",
                                                     "paused", "control_plane", "cooldown", "fence_lease", "no_other_fence", "max_nodes"]
    assert entry["guards"][-1] == {"guard": "max_nodes", "passed": True, "detail": "Node w2 is node 1 of at most 1 fenced in this run (max_nodes)."}
    assert all(g["passed"] for g in entry["guards"])
    assert "Node w2: take its fence Lease default/stateful-pets-fence-w2 (check mode: not done)." in result["progress"]


def held_lease(node_name, holder="other-run", renewed=3, last_fence=None):
    annotations = {"stateful.pets/node": node_name}
    if last_fence is not None:
        annotations["stateful.pets/last-fence"] = ago(last_fence)
    spec = {"leaseDurationSeconds": 120}
    if holder:
        spec.update(holderIdentity=holder, renewTime=ago(renewed), acquireTime=ago(renewed + 20))
    return {"metadata": {"name": f"stateful-pets-fence-{node_name}", "labels": {"stateful.pets/fence-lease": "true"}, "annotations": annotations},
            "spec": spec}


def test_a_node_whose_lease_another_run_holds_is_reported_and_left_alone():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")], fence_leases=[held_lease("w2")])
    with mock.patch.object(fence_run, "now", return_value=NOW):
        kind, result = run(cluster, name="w2", fenced_confirmed=True)
    assert kind is ExitJson and result["changed"] is False
    assert_no_write(cluster)
    entry = result["nodes"][0]
    assert entry["selected"] is False
    assert entry["lease"]["holder"] == "other-run" and entry["lease"]["held_seconds"] == 23
    assert ("Another run is fencing node w2: its fence Lease is held by other-run, which took it 23 s ago and renewed it 3 s ago;"
            " nothing is done.") in result["progress"][-1]


def test_a_run_that_loses_the_race_for_the_lease_reports_the_winner_and_changes_nothing():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    store = cluster.lease_store

    def winner_first(namespace, lease):
        store.create(namespace, dict(held_lease("w2", holder="winner", renewed=0), metadata=dict(lease["metadata"])))
        return store.create(namespace, lease)

    cluster.create_lease.side_effect = winner_first
    kind, result = run(cluster, name="w2", fenced_confirmed=True)
    assert kind is ExitJson and result["changed"] is False
    cluster.patch_node.assert_not_called()
    cluster.force_delete_pod.assert_not_called()
    entry = result["nodes"][0]
    assert entry["lease"]["holder"] == "winner"
    assert entry["guards"][-1] == {"guard": "fence_lease", "passed": False, "detail": entry["refusal"]}


def test_a_stale_lease_is_taken_over_and_the_result_says_so():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")], fence_leases=[held_lease("w2", holder="dead-run", renewed=300)])
    kind, result = run(cluster, name="w2", fenced_confirmed=True)
    assert kind is ExitJson and result["changed"] is True
    assert result["nodes"][0]["lease"]["taken_over_from"] == "dead-run"
    assert any("took over the stale fence Lease from dead-run" in line for line in result["progress"])
    cluster.force_delete_pod.assert_called_once()


def test_the_lease_records_the_last_fence_and_is_released_at_the_end():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    kind, result = run(cluster, name="w2", fenced_confirmed=True)
    assert kind is ExitJson
    stored = cluster.lease_store.items["stateful-pets-fence-w2"]
    assert "holderIdentity" not in stored["spec"]
    assert stored["metadata"]["annotations"]["stateful.pets/last-fence"].startswith("2026-")
    assert result["progress"][-1] == "Node w2: released its fence Lease."


@pytest.mark.parametrize("leases, node_labels, node_annotations, params, failed_gate, words", [
    ([], {"stateful.pets/exclude-from-fencing": "yes"}, {}, {}, "excluded", "carries the label stateful.pets/exclude-from-fencing"),
    ([], {}, {"stateful.pets/fencing-paused-until": "2026-11-27T13:00:00Z"}, {}, "paused", "paused until 2026-11-27T13:00:00Z"),
    ([], {"node-role.kubernetes.io/control-plane": ""}, {}, {}, "control_plane", "unless allow_control_plane is set"),
    (["w1-fenced"], {}, {}, {"cooldown": 600}, "cooldown", "Node w1 was fenced 100 s ago, less than the cooldown of 600 s"),
])
def test_a_failed_gate_refuses_a_named_node_before_any_write(leases, node_labels, node_annotations, params, failed_gate, words):
    nodes = cluster_3()
    nodes[2]["metadata"]["labels"] = node_labels
    nodes[2]["metadata"]["annotations"] = node_annotations
    fence_leases = [held_lease("w1", holder=None, last_fence=100)] if leases else []
    cluster = make_cluster(nodes, [pet("kubia-1", "w2", "u1")], fence_leases=fence_leases)
    kind, result = run(cluster, name="w2", fenced_confirmed=True, **params)
    assert kind is FailJson and result["msg"].startswith("Refusing to fence node w2: ") and words in result["msg"]
    assert [g["guard"] for g in result["nodes"][0]["guards"] if not g["passed"]] == [failed_gate]
    assert_no_write(cluster)


def test_another_run_fencing_another_node_holds_this_one_back_without_failing():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")], fence_leases=[held_lease("w1", holder="other-run")])
    kind, result = run(cluster, fenced_confirmed=True)
    assert kind is ExitJson and result["changed"] is False
    assert_no_write(cluster)
    assert "Another run is fencing node w1" in result["nodes"][0]["refusal"]


@pytest.mark.parametrize("change, words", [
    ({"lease": 1}, "Stopped before adding the taint node.kubernetes.io/out-of-service: node w2 spoke again at"),
    ({"uncordon": True}, "node w2 was uncordoned meanwhile"),
])
def test_the_node_is_read_live_before_the_taint(change, words):
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    live = cluster.live_nodes["w2"]
    if "lease" in change:
        reads = iter([120])
        cluster.get_node_lease.side_effect = lambda name: {"spec": {"renewTime": ago(next(reads, change["lease"]))}}
    original = cluster.patch_node.side_effect

    def cordon_then_change(name, body):
        done = original(name, body)
        if change.get("uncordon"):
            live["spec"]["unschedulable"] = False
        return done

    cluster.patch_node.side_effect = cordon_then_change
    kind, result = run(cluster, name="w2", fenced_confirmed=True)
    assert kind is FailJson and words in result["msg"]
    assert len(cluster.patch_node.call_args_list) == 1  # the cordon; no taint
    cluster.force_delete_pod.assert_not_called()


def test_the_node_is_read_live_before_each_force_delete():
    cluster = make_cluster(cluster_3(), [pet("kubia-0", "w2", "u0"), pet("kubia-1", "w2", "u1")])
    live = cluster.live_nodes["w2"]

    def someone_untaints_after_the_first_delete(namespace, name, uid):
        live["spec"]["taints"] = []

    cluster.force_delete_pod.side_effect = someone_untaints_after_the_first_delete
    kind, result = run(cluster, name="w2", fenced_confirmed=True)
    assert kind is FailJson
    assert result["msg"].startswith("Stopped before force-deleting pod pets/kubia-1: the taint node.kubernetes.io/out-of-service was removed")
    cluster.force_delete_pod.assert_called_once_with("pets", "kubia-0", "u0")


def pinned_cluster(pods, node_name="w2"):
    cluster = make_cluster(cluster_3(), pods)
    cluster.find_pvc.side_effect = lambda namespace, claim: {"spec": {"volumeName": f"pv-{claim}"}}
    cluster.find_pv.side_effect = lambda name: {
        "metadata": {"name": name, "labels": {"stateful.pets/namespace": "pets"}},
        "spec": {"claimRef": {"namespace": "pets", "name": name[3:]}, "hostPath": {"path": f"/var/lib/stateful-pets/pets/{name}"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [
                     {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}}}
    return cluster


def test_a_node_local_pet_is_freed_and_reported_waits_for_node_and_the_wait_does_not_fail():
    cluster = pinned_cluster([pet("kubia-1", "w2", "u1")])
    kind, result = run(cluster, name="w2", fenced_confirmed=True, wait=True)
    assert kind is ExitJson and result["changed"] is True
    cluster.force_delete_pod.assert_called_once_with("pets", "kubia-1", "u1")
    cluster.find_pod.assert_not_called()
    (deleted,) = result["nodes"][0]["pods_deleted"]
    assert deleted["pet_state"] == "waits_for_node"
    assert deleted["node_local_volumes"] == [{"claim": "data-kubia-1", "pv": "pv-data-kubia-1", "node": "w2", "pet": "pets/kubia-1",
                                              "path": "/var/lib/stateful-pets/pets/pv-data-kubia-1"}]
    (recovery,) = result["nodes"][0]["recovery"]
    assert recovery["state"] == "waits_for_node" and recovery["ready"] is False
    assert recovery["note"].startswith("Pod pets/kubia-1 waits for node w2: its data lives only on that node")
    assert recovery["note"] in result["progress"]
    cluster.delete_pvc.assert_not_called()
    cluster.create_pv.assert_not_called()


def test_a_pet_on_a_volume_other_nodes_can_mount_is_waited_for_as_before():
    cluster = pinned_cluster([pet("kubia-1", "w2", "u1")], node_name="w1")
    cluster.find_pod.return_value = pet("kubia-1", "w1", "u2")
    kind, result = run(cluster, name="w2", fenced_confirmed=True, wait=True)
    assert kind is ExitJson
    assert "pet_state" not in result["nodes"][0]["pods_deleted"][0]
    assert result["nodes"][0]["recovery"][0]["state"] == "recovered"


def test_recreate_empty_deletes_the_claim_and_makes_a_fresh_pv_on_a_live_node():
    cluster = pinned_cluster([pet("kubia-1", "w2", "u1")])
    cluster.live_nodes["cp"]["metadata"]["labels"] = {"node-role.kubernetes.io/control-plane": ""}
    nodes = cluster.list_nodes.return_value
    nodes[0]["metadata"]["labels"] = {"node-role.kubernetes.io/control-plane": ""}
    cluster.list_pods.side_effect = lambda namespace=None, field_selector=None, **kw: (
        [pet("kubia-1", "w2", "u1")] if field_selector == "spec.nodeName=w2" else [pet("kubia-0", "w1", "u0")] if namespace == "pets" else [])
    cluster.find_pod.return_value = pet("kubia-1", "w1", "u2")
    kind, result = run(cluster, name="w2", fenced_confirmed=True, wait=True, node_local_pets="recreate_empty")
    assert kind is ExitJson, result
    order = [c[0] for c in cluster.mock_calls if c[0] in ("delete_pvc", "force_delete_pod", "create_pv")]
    assert order == ["delete_pvc", "force_delete_pod", "create_pv"]
    cluster.delete_pvc.assert_called_once_with("pets", "data-kubia-1")
    fresh = cluster.create_pv.call_args.args[0]
    assert fresh["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["w1"]
    (abandoned,) = result["nodes"][0]["abandoned_volumes"]
    assert (abandoned["pv"], abandoned["node"], abandoned["new_node"], abandoned["new_pv"]) == (
        "pv-data-kubia-1", "w2", "w1", fresh["metadata"]["name"])
    deleted = result["nodes"][0]["pods_deleted"][0]
    assert deleted["pet_state"] == "recreated_empty"
    assert "the data of PersistentVolume pv-data-kubia-1 (/var/lib/stateful-pets/pets/pv-data-kubia-1 on node w2) is abandoned" in deleted["note"]
    assert result["nodes"][0]["recovery"][0]["state"] == "recovered"


def test_volume_attachments_left_on_the_node_are_reported():
    cluster = make_cluster(cluster_3(), [pet("kubia-1", "w2", "u1")])
    cluster.list_volume_attachments.return_value = [{"metadata": {"name": "csi-123"}, "spec": {"nodeName": "w2"}},
                                                    {"metadata": {"name": "csi-456"}, "spec": {"nodeName": "w1"}}]
    with mock.patch.object(fence_run, "monotonic", side_effect=[0.0, 0.0, 0.0, 3.0]):
        kind, result = run(cluster, name="w2", fenced_confirmed=True, detach_timeout=2)
    assert kind is ExitJson
    assert result["nodes"][0]["volume_attachments_left"] == ["csi-123"]
    assert "Node w2: 1 VolumeAttachment(s) still name it after 2 s: csi-123; their volumes may still be attached there." in result["progress"]


def test_unfence_waits_out_the_settle_time_and_releases_a_left_over_lease():
    ready = node("w2", "True", since=4, unschedulable=True, taints=[dict(fencing.OUT_OF_SERVICE_TAINT)])
    cluster = make_cluster([node("cp"), ready], fence_leases=[held_lease("w2", holder="dead-run", renewed=500)])
    kind, result = run(cluster, state="absent", name="w2")
    assert kind is ExitJson and result["changed"] is True
    assert run.sleep.call_args_list == [mock.call(7.0)]
    assert result["nodes"][0]["actions"] == ["remove out-of-service taint", "uncordon", "release fence lease"]
    assert "holderIdentity" not in cluster.lease_store.items["stateful-pets-fence-w2"]["spec"]


def test_unfence_of_a_node_that_flapped_while_settling_is_refused():
    ready = node("w2", "True", since=4, unschedulable=True)
    cluster = make_cluster([node("cp"), ready])
    flapped = node("w2", "True", since=1, unschedulable=True)
    cluster.get_node.side_effect = lambda name: flapped
    kind, result = run(cluster, state="absent", name="w2")
    assert kind is FailJson and "did not stay Ready for settle_time (11 s)" in result["msg"]
    cluster.patch_node.assert_not_called()


def test_unfence_leaves_a_node_whose_fence_is_in_progress():
    cluster = make_cluster([node("cp"), node("w2", "True", unschedulable=True)], fence_leases=[held_lease("w2", holder="other-run")])
    kind, result = run(cluster, state="absent", name="w2")
    assert kind is ExitJson and result["changed"] is False
    assert_no_write(cluster)
    assert result["progress"][0].startswith("Node w2: not unfenced: Another run is fencing node w2")


def test_a_fenced_node_is_not_fenced_again_and_no_fence_action_runs():
    cluster = make_cluster(cluster_3(unschedulable=True, taints=[dict(fencing.OUT_OF_SERVICE_TAINT)]), [daemon_pod("w2")])
    with mock.patch.object(fence_levels, "run_action") as run_action:
        kind, result = run(cluster, name="w2", levels=LEVELS)
    assert kind is ExitJson and result["changed"] is False
    run_action.assert_not_called()
    assert_no_write(cluster)
