# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _fencing as fencing

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)  # noqa: UP017 - matches the module's style


def ago(seconds):
    return (NOW - datetime.timedelta(seconds=seconds)).isoformat()


def node(name, ready="Unknown", since=60, unschedulable=False, taints=None, annotations=None):
    conditions = [] if ready is None else [{"type": "Ready", "status": ready, "lastTransitionTime": ago(since)}]
    return {
        "metadata": {"name": name, "annotations": annotations or {}, "resourceVersion": "7"},
        "spec": {"unschedulable": unschedulable, "taints": taints or []},
        "status": {"conditions": conditions},
    }


def lease(age):
    return {"spec": {"renewTime": ago(age), "leaseDurationSeconds": 40}}


def pod(name, node_name="w2", kind="StatefulSet", namespace="pets", annotations=None, claims=("data-x",), uid=None, ready=True, deleting=False):
    owners = [{"kind": kind, "name": "kubia", "controller": True}] if kind else []
    meta = {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}", "ownerReferences": owners, "annotations": annotations or {}}
    if deleting:
        meta["deletionTimestamp"] = ago(1)
    return {
        "metadata": meta,
        "spec": {"nodeName": node_name, "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": c}} for c in claims] + [{"name": "tok"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def guard(assessment, name):
    return next(g for g in assessment["guards"] if g["guard"] == name)


def test_unreachable_node_with_stale_lease_is_eligible():
    result = fencing.assess_node(node("w2", "Unknown", since=50), lease(70), NOW, 40)
    assert result["eligible"] is True
    assert result["refusal"] is None
    assert result["unreachable_seconds"] == 50
    assert result["lease_age_seconds"] == 70
    assert [g["guard"] for g in result["guards"]] == ["not_ready", "unreachable_for", "lease_stale"]
    assert all(g["passed"] for g in result["guards"])


@pytest.mark.parametrize(
    "ready, since, lease_age, failed_guard, words",
    [
        ("True", 500, 2, "not_ready", "is Ready"),
        ("False", 500, 2, "not_ready", "reports Ready=False"),
        ("Unknown", 20, 60, "unreachable_for", "only 20 s, less than 40 s"),
        ("Unknown", 90, 5, "lease_stale", "renewed 5 s ago"),
    ],
)
def test_each_node_guard_refuses_with_its_message(ready, since, lease_age, failed_guard, words):
    result = fencing.assess_node(node("w2", ready, since=since), lease(lease_age), NOW, 40)
    assert result["eligible"] is False
    assert guard(result, failed_guard)["passed"] is False
    assert words in guard(result, failed_guard)["detail"]
    assert "w2" in result["refusal"] and words in result["refusal"]


def test_ready_node_with_fresh_lease_reports_both_refusals():
    result = fencing.assess_node(node("w1", "True"), lease(3), NOW, 40)
    assert [g["guard"] for g in result["guards"] if not g["passed"]] == ["not_ready", "lease_stale"]
    assert result["unreachable_seconds"] is None


def test_missing_lease_and_missing_condition_count_as_silent():
    result = fencing.assess_node(node("w3", ready=None), None, NOW, 40)
    assert result["ready"] == "Missing"
    assert result["eligible"] is True
    assert "no heartbeat Lease" in guard(result, "lease_stale")["detail"]


@pytest.mark.parametrize(
    "states, fraction, passed",
    [
        (["True", "True", "Unknown"], 0.5, True),
        (["True", "Unknown", "Unknown"], 0.5, False),
        (["True", "Unknown"], 0.5, True),
        (["True", "False", "Unknown"], 0.5, True),
        (["Unknown", "Unknown", "Unknown"], 1.0, True),
        ([], 0.5, True),
    ],
)
def test_fraction_guard(states, fraction, passed):
    nodes = [node(f"n{i}", s) for i, s in enumerate(states)]
    result = fencing.fraction_guard(nodes, fraction)
    assert result["guard"] == "max_unreachable_fraction"
    assert result["passed"] is passed
    if not passed:
        assert "partition" in result["detail"] and "n1, n2" in result["detail"]


def test_order_candidates_longest_silent_first_and_only_eligible():
    assessed = [
        fencing.assess_node(node("a", "Unknown", since=50), lease(90), NOW, 40),
        fencing.assess_node(node("b", "Unknown", since=300), lease(320), NOW, 40),
        fencing.assess_node(node("c", "True"), lease(1), NOW, 40),
    ]
    assert [a["name"] for a in fencing.order_candidates(assessed)] == ["b", "a"]


def test_select_pods_only_statefulset_pods_of_that_node_pinned_by_uid():
    pods = [
        pod("kubia-1", uid="u-1"),
        pod("web-abc", kind="ReplicaSet"),
        pod("kindnet-x", kind="DaemonSet", namespace="kube-system"),
        pod("static", kind="Node", namespace="kube-system", annotations={fencing.MIRROR_ANNOTATION: "x"}),
        pod("kubia-0", node_name="w1"),
        pod("bare", kind=None),
    ]
    delete, skipped = fencing.select_pods(pods, "w2", delete_other_pods=False)
    assert delete == [{"namespace": "pets", "name": "kubia-1", "uid": "u-1", "owner": "StatefulSet/kubia", "claims": ["data-x"], "node": "w2"}]
    assert sorted(p["name"] for p in skipped) == ["bare", "kindnet-x", "static", "web-abc"]
    assert all(p["reason"] for p in skipped)


def test_select_pods_other_pods_on_request_but_never_mirror_pods():
    pods = [pod("kubia-1"), pod("web-abc", kind="ReplicaSet"), pod("static", kind="Node", annotations={fencing.MIRROR_ANNOTATION: "x"})]
    delete, skipped = fencing.select_pods(pods, "w2", delete_other_pods=True)
    assert [p["name"] for p in delete] == ["kubia-1", "web-abc"]
    assert [p["name"] for p in skipped] == ["static"]


def test_taint_helpers_keep_other_taints():
    other = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
    tainted = node("w2", taints=[other, dict(fencing.OUT_OF_SERVICE_TAINT)])
    assert fencing.taints_with_out_of_service(node("w2", taints=[other])) == [other, fencing.OUT_OF_SERVICE_TAINT]
    assert fencing.taints_with_out_of_service(tainted) == [other, fencing.OUT_OF_SERVICE_TAINT]
    assert fencing.taints_without_out_of_service(tainted) == [other]
    assert fencing.node_state(tainted) == {"unschedulable": False, "out_of_service_taint": True}


@pytest.mark.parametrize(
    "n, fenced",
    [
        (node("w2"), False),
        (node("w2", unschedulable=True), False),
        (node("w2", annotations={fencing.FENCED_ANNOTATION: "t"}), True),
        (node("w2", taints=[dict(fencing.OUT_OF_SERVICE_TAINT)]), True),
    ],
)
def test_is_fenced_by_us(n, fenced):
    assert fencing.is_fenced_by_us(n) is fenced


OLD = {"namespace": "pets", "name": "kubia-1", "uid": "old", "claims": ["data-x"]}


@pytest.mark.parametrize(
    "current, done, words",
    [
        (None, False, "not been recreated"),
        (pod("kubia-1", uid="old"), False, "still the old instance"),
        (pod("kubia-1", uid="new", deleting=True, node_name="w1"), False, "terminating"),
        (pod("kubia-1", uid="new", node_name=None), False, "not scheduled"),
        (pod("kubia-1", uid="new", node_name="w2"), False, "fenced node w2"),
        (pod("kubia-1", uid="new", node_name="w1", ready=False), False, "not Ready yet"),
        (pod("kubia-1", uid="new", node_name="w1", claims=("other",)), False, "not ['data-x']"),
        (pod("kubia-1", uid="new", node_name="w1"), True, "Ready on w1"),
    ],
)
def test_pet_recovered(current, done, words):
    result, detail = fencing.pet_recovered(OLD, current, {"w2"})
    assert result is done
    assert words in detail


@pytest.mark.parametrize(
    "status, passed",
    [("True", True), ("Unknown", False), ("False", False)],
)
def test_unfence_guard(status, passed):
    result = fencing.unfence_guard("w2", status)
    assert result["passed"] is passed
    assert "w2" in result["detail"]


def test_budget_guard_names_the_limit():
    result = fencing.budget_guard("w3", 1)
    assert result == {"guard": "max_nodes", "passed": False, "detail": result["detail"]}
    assert "at most 1 node(s)" in result["detail"]


PARAMS = {"unreachable_for": 40, "max_unreachable_fraction": 0.5, "max_nodes": 1, "wait_timeout": 300, "silence_timeout": 0, "settle_time": 11,
          "cooldown": 0, "detach_timeout": 60, "levels": [], "fenced_confirmed": False, "lease_duration": 120}
LEVEL = {"actions": [{"command": ["true"], "timeout": 60}]}


@pytest.mark.parametrize(
    "change, words",
    [
        ({}, None),
        ({"unreachable_for": 5}, "unreachable_for must be at least 10"),
        ({"max_unreachable_fraction": 0}, "max_unreachable_fraction must be greater than 0"),
        ({"max_unreachable_fraction": 1.5}, "at most 1"),
        ({"max_nodes": 0}, "max_nodes must be at least 1"),
        ({"wait_timeout": 0}, "wait_timeout must be at least 1"),
        ({"silence_timeout": -1}, "silence_timeout must not be negative"),
        ({"settle_time": 10}, "settle_time must be at least 11 seconds"),
        ({"cooldown": -1}, "cooldown must not be negative"),
        ({"detach_timeout": -5}, "detach_timeout must not be negative"),
        ({"levels": [LEVEL], "fenced_confirmed": True}, "Give either levels"),
        ({"lease_duration": 10}, "lease_duration must be at least 15 seconds"),
        ({"levels": [LEVEL], "lease_duration": 60}, "longer than the longest fence action timeout (60 s)"),
        ({"levels": [LEVEL]}, None),
    ],
)
def test_invalid_params(change, words):
    problems = fencing.invalid_params(dict(PARAMS, **change))
    if words is None:
        assert problems == []
    else:
        assert len(problems) == 1 and words in problems[0]


@pytest.mark.parametrize(
    "statefulset, expected, words",
    [
        (None, False, "no longer exists"),
        ({"spec": {"replicas": 1}}, False, "scaled to 1 replica(s)"),
        ({"spec": {"replicas": 2}}, True, "expected back"),
    ],
)
def test_pet_expected(statefulset, expected, words):
    old = {"namespace": "pets", "name": "kubia-1", "owner": "StatefulSet/kubia"}
    result, detail = fencing.pet_expected(old, statefulset)
    assert result is expected
    assert words in detail and "pets/kubia-1" in detail


@pytest.mark.parametrize(
    "ready, since, lease_age, extra_failed, awaiting",
    [
        # Right after a fence action: the node renewed its Lease on the way down.
        ("Unknown", 50, 2, None, True),
        ("Unknown", 5, 70, None, True),
        # A node that reports again is not silent either; only time (or the timeout) tells.
        ("True", 300, 1, None, True),
        ("Unknown", 50, 70, None, False),
        # A partition is no silence problem: waiting would not help.
        ("Unknown", 50, 2, "max_unreachable_fraction", False),
    ],
)
def test_awaiting_silence(ready, since, lease_age, extra_failed, awaiting):
    assessment = fencing.assess_node(node("w2", ready, since=since), lease(lease_age), NOW, 40)
    if extra_failed:
        assessment["guards"].append({"guard": extra_failed, "passed": False, "detail": "refused"})
    assert fencing.awaiting_silence(assessment) is awaiting
