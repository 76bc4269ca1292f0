# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._scale import (
    claim_names,
    claims_above,
    deletes_claims_on_scale_down,
    down_timeout_message,
    health_problems,
    input_errors,
    missing_namespace_message,
    not_a_statefulset_message,
    plan_steps,
    refuse_message,
    retention_warning,
    selector_string,
    unhealthy_pods,
    up_timeout_message,
    waiting_on,
)

NOW = datetime(2026, 11, 27, 12, 0, 10, tzinfo=timezone.utc)  # noqa: UP017


def pod(name="kubia-0", phase="Running", ready="True", since="2026-11-27T12:00:00Z", node="pets-worker", deleting=None, containers=None, extra=None):
    conditions = [{"type": "PodScheduled", "status": "True"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "lastTransitionTime": since,
                           "reason": None if ready == "True" else "ContainersNotReady",
                           "message": None if ready == "True" else "containers with unready status: [kubia]"})
    conditions.extend(extra or [])
    meta = {"name": name, "resourceVersion": "7"}
    if deleting:
        meta["deletionTimestamp"] = deleting
    return {"metadata": meta, "spec": {"nodeName": node}, "status": {"phase": phase, "conditions": conditions, "containerStatuses": containers or []}}


STS = {
    "metadata": {"name": "kubia"},
    "spec": {"selector": {"matchLabels": {"app": "kubia", "tier": "pets"}}, "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
}


def pvc(name, volume="pv-x", phase="Bound"):
    return {"metadata": {"name": name}, "spec": {"volumeName": volume}, "status": {"phase": phase}}


@pytest.mark.parametrize(
    "current, desired, expected",
    [
        (2, 2, []),
        (0, 0, []),
        (2, 4, [("add", 2, 3), ("add", 3, 4)]),
        (0, 1, [("add", 0, 1)]),
        (4, 1, [("remove", 3, 3), ("remove", 2, 2), ("remove", 1, 1)]),
        (1, 0, [("remove", 0, 0)]),
    ],
)
def test_plan_steps_one_ordinal_at_a_time(current, desired, expected):
    assert [(s["action"], s["ordinal"], s["replicas"]) for s in plan_steps(current, desired)] == expected


@pytest.mark.parametrize(
    "args, fragments",
    [
        ((-1, 600, 120, None), ["replicas must be 0 or more, got -1."]),
        ((1, 0, 120, None), ["timeout must be more than 0 seconds, got 0."]),
        ((1, -5, 120, None), ["timeout must be more than 0 seconds, got -5."]),
        ((1, 600, 0, None), ["step_timeout must be more than 0 seconds, got 0."]),
        ((1, 60, 120, None), ["step_timeout (120 s) must not be greater than timeout (60 s)"]),
        ((1, 600, 120, -1), ["min_ready_seconds must be 0 or more, got -1."]),
        ((-2, 0, 120, None), ["replicas must be 0 or more", "timeout must be more than 0"]),
    ],
)
def test_input_errors(args, fragments):
    errors = input_errors(*args)
    assert len(errors) == len(fragments)
    for error, fragment in zip(errors, fragments, strict=True):
        assert fragment in error


def test_input_errors_accepts_good_values():
    assert input_errors(0, 600, 600, 0) == []


def test_claim_names_and_selector():
    assert claim_names(STS, 3) == ["data-kubia-3"]
    assert claim_names({"metadata": {"name": "x"}, "spec": {}}, 0) == []
    assert selector_string(STS) == "app=kubia,tier=pets"


def test_claims_above_keeps_only_higher_ordinals_of_this_set():
    pvcs = [pvc("data-kubia-0"), pvc("data-kubia-10", "pv-10"), pvc("data-kubia-2", "pv-2"),
            pvc("data-kubiax-5"), pvc("other-kubia-3"), pvc("data-kubia-1", None, "Pending")]
    assert claims_above(STS, pvcs, 1) == [
        {"name": "data-kubia-1", "pv": None, "phase": "Pending"},
        {"name": "data-kubia-2", "pv": "pv-2", "phase": "Bound"},
        {"name": "data-kubia-10", "pv": "pv-10", "phase": "Bound"},
    ]


@pytest.mark.parametrize("policy, expected", [(None, False), ({"whenScaled": "Retain"}, False), ({"whenScaled": "Delete", "whenDeleted": "Retain"}, True)])
def test_deletes_claims_on_scale_down(policy, expected):
    sts = {"metadata": {"name": "kubia"}, "spec": {"persistentVolumeClaimRetentionPolicy": policy}}
    assert deletes_claims_on_scale_down(sts) is expected


def test_health_problems_explain_each_reason():
    sick = pod(ready="False", deleting="2026-11-27T12:00:05Z", containers=[
        {"name": "kubia", "ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}},
        {"name": "side", "ready": False, "restartCount": 1, "state": {"running": {}}},
    ])
    assert health_problems(sick) == [
        "it is terminating (deletion requested at 2026-11-27T12:00:05Z)",
        "Ready=False (ContainersNotReady: containers with unready status: [kubia])",
        "container kubia is waiting (CrashLoopBackOff: back-off 40s)",
        "container side is not ready (restarts: 1)",
    ]
    assert health_problems(None) == ["it does not exist"]
    assert health_problems(pod()) == []
    assert health_problems(pod(phase="Pending", ready=None)) == ["its phase is Pending"]


def test_unhealthy_pods_checks_every_ordinal_below_count():
    pods = [pod("kubia-0"), pod("kubia-2", ready="False"), pod("kubia-3", ready="False")]
    found = unhealthy_pods("kubia", pods, 3)
    assert [name for name, _problems in found] == ["kubia-1", "kubia-2"]
    assert found[0][1] == ["it does not exist"]
    assert unhealthy_pods("kubia", [pod("kubia-0")], 1) == []


@pytest.mark.parametrize(
    "candidate, min_ready, expected",
    [
        (None, 0, "the StatefulSet controller to create it"),
        (pod(phase="Pending", ready=None, node=None, extra=[]), 0, "scheduling (no node chosen yet)"),
        (pod(ready="False"), 0, "becoming Running and Ready: Ready=False (ContainersNotReady: containers with unready status: [kubia])"),
        (pod(), 30, "staying Ready for 30 s (minReadySeconds)"),
        (pod(), 5, "the StatefulSet status to count it as ready"),
    ],
)
def test_waiting_on(candidate, min_ready, expected):
    assert waiting_on(candidate, min_ready, NOW) == expected


def test_waiting_on_names_the_scheduler_reason():
    unschedulable = pod(phase="Pending", ready=None, node=None)
    unschedulable["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]
    assert waiting_on(unschedulable, 0, NOW) == "scheduling (0/3 nodes are available)"


def test_refuse_message_names_each_pod_reason_and_events():
    unhealthy = [("kubia-1", ["Ready=False (probe failed)"], ["Warning Unhealthy: Readiness probe failed"]), ("kubia-2", ["it does not exist"], [])]
    msg = refuse_message("pets", "kubia", 3, 1, unhealthy)
    assert msg.startswith("Refusing to scale StatefulSet pets/kubia down from 3 to 1:")
    assert "2 are not. Nothing was changed." in msg
    assert "Pod pets/kubia-1: Ready=False (probe failed). Last events: Warning Unhealthy: Readiness probe failed." in msg
    assert "Pod pets/kubia-2: it does not exist. No events were recorded." in msg
    assert msg.endswith("or set allow_unhealthy_scale_down=true to scale down anyway.")


def test_refuse_message_after_earlier_steps_says_where_it_stopped():
    msg = refuse_message("pets", "kubia", 4, 1, [("kubia-0", ["it is not Ready"], [])], stopped_at=3)
    assert "1 is not. The StatefulSet stays at 3 replicas; no further steps were taken." in msg
    assert "Nothing was changed" not in msg


def test_up_timeout_message():
    msg = up_timeout_message("pets", "kubia", "kubia-2", 20, "scheduling (0/3 nodes are available)", ["Warning FailedScheduling: 0/3 nodes"], 2)
    assert msg == (
        "Scaling StatefulSet pets/kubia up stopped: pod pets/kubia-2 was not Running and Ready within 20 s. It waits on scheduling (0/3 nodes are available)."
        " Last events: Warning FailedScheduling: 0/3 nodes. The StatefulSet was set back to 2 replicas, its last healthy count; no further steps were taken."
        " Fix what the pod waits on and run the task again, or raise step_timeout."
    )


def test_down_timeout_message():
    msg = down_timeout_message("pets", "kubia", "kubia-3", 60, [], 3)
    assert msg.startswith("Scaling StatefulSet pets/kubia down stopped: pod pets/kubia-3 was still present 60 s after replicas was set to 3.")
    assert "No events were recorded. No further steps were taken." in msg


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("Deployment", "Deployment pets/kubia is not a StatefulSet: this module only scales StatefulSets. Use kubernetes.core.k8s_scale for a Deployment"),
        (None, "StatefulSet pets/kubia does not exist. Check the name and the namespace"),
    ],
)
def test_not_a_statefulset_message(kind, expected):
    assert not_a_statefulset_message("pets", "kubia", kind).startswith(expected)


def test_namespace_and_retention_messages():
    assert missing_namespace_message("gone", "kubia") == "Namespace gone does not exist, so StatefulSet gone/kubia cannot be scaled. Check the namespace name."
    assert "pets/kubia has persistentVolumeClaimRetentionPolicy.whenScaled=Delete" in retention_warning("pets", "kubia")
