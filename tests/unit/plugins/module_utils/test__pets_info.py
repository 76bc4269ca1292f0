# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._pets_info import (
    missing_message,
    not_ready_pets,
    pet_rows,
    pets_by_ordinal,
    rollout_complete,
    statefulset_summary,
    status_lag,
    timeout_message,
    why_missing,
    why_not_ready,
)


def pod(name, ready=True, since="2026-11-27T12:00:00Z", node="pets-worker", phase="Running", deleting=None, owner="kubia", uid=None, containers=None,
        scheduled=None):
    meta = {"name": name, "uid": uid or f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"kind": "StatefulSet", "name": owner, "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = deleting
    conditions = [scheduled or {"type": "PodScheduled", "status": "True"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since,
                           "reason": None if ready else "ContainersNotReady", "message": None if ready else "containers with unready status: [kubia]"})
    return {"metadata": meta, "spec": {"nodeName": node}, "status": {"phase": phase, "conditions": conditions, "containerStatuses": containers or []}}


def sts(replicas=2, generation=2, status=None, templates=("data",), policy=None, strategy=None, **spec):
    body = {
        "metadata": {"name": "kubia", "namespace": "pets", "generation": generation},
        "spec": {"replicas": replicas, "serviceName": "kubia", "volumeClaimTemplates": [{"metadata": {"name": t}} for t in templates], **spec},
        "status": status if status is not None else {"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                                                     "updatedReplicas": replicas, "currentRevision": "kubia-1", "updateRevision": "kubia-1"},
    }
    if policy:
        body["spec"]["podManagementPolicy"] = policy
    if strategy:
        body["spec"]["updateStrategy"] = strategy
    return body


def pvc(name, volume, phase="Bound"):
    return {"metadata": {"name": name}, "spec": {"volumeName": volume}, "status": {"phase": phase}}


READY_PODS = [pod("kubia-0"), pod("kubia-1")]


def with_status(**fields):
    body = sts()
    body["status"].update(fields)
    for key in [k for k, v in fields.items() if v is None]:
        del body["status"][key]
    return body


@pytest.mark.parametrize(
    "statefulset, pods, complete",
    [
        pytest.param(sts(), READY_PODS, True, id="all-ready"),
        pytest.param(sts(status={}), READY_PODS, False, id="no-status-yet"),
        pytest.param(sts(replicas=0, status={"observedGeneration": 2}), [], True, id="zero-replicas-missing-counts"),
        pytest.param(with_status(observedGeneration=1), READY_PODS, False, id="generation-lag"),
        pytest.param(with_status(observedGeneration=None), READY_PODS, False, id="observed-generation-missing"),
        pytest.param(with_status(readyReplicas=None), READY_PODS, False, id="ready-replicas-missing"),
        pytest.param(with_status(updatedReplicas=1), READY_PODS, False, id="update-in-progress"),
        pytest.param(with_status(updateRevision="kubia-2"), READY_PODS, False, id="revisions-differ"),
        pytest.param(with_status(currentRevision=None), READY_PODS, True, id="one-revision-missing"),
        pytest.param(with_status(replicas=3), READY_PODS, False, id="scale-down-in-progress"),
        pytest.param(sts(), [pod("kubia-0")], False, id="pod-missing"),
        pytest.param(sts(), [pod("kubia-0"), pod("kubia-1", ready=False)], False, id="pod-not-ready"),
        pytest.param(sts(), [pod("kubia-0"), pod("kubia-1", deleting="2026-11-27T12:00:05Z")], False, id="terminating-pod"),
        pytest.param(sts(), [*READY_PODS, pod("kubia-2", ready=False)], True, id="extra-ordinal-above-replicas-ignored"),
        pytest.param(sts(), [pod("kubia-0"), pod("kubia-web-1", owner="kubia-web")], False, id="other-set-similar-prefix-ignored"),
        pytest.param(sts(), [pod("kubia-0"), pod("kubia-1", owner=None)], True, id="pod-without-owner-counts"),
        pytest.param(sts(), [pod("kubia-0"), pod("kubia-1", owner="other")], False, id="pod-of-other-controller-ignored"),
        pytest.param(sts(strategy={"type": "OnDelete"},
                         status={"observedGeneration": 2, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 0,
                                 "currentRevision": "kubia-1", "updateRevision": "kubia-2"}),
                     READY_PODS, True, id="ondelete-not-held-to-revision"),
        pytest.param(sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
                         status={"observedGeneration": 2, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 1,
                                 "currentRevision": "kubia-1", "updateRevision": "kubia-2"}),
                     READY_PODS, True, id="partition-above-updated"),
    ],
)
def test_rollout_complete(statefulset, pods, complete):
    assert rollout_complete(statefulset, pods) is complete


def test_spec_replicas_unset_defaults_to_one():
    body = sts(status={"observedGeneration": 2, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1})
    del body["spec"]["replicas"]
    assert rollout_complete(body, [pod("kubia-0")])
    assert statefulset_summary(body)["replicas"] == 1


@pytest.mark.parametrize(
    "names, expected",
    [
        (["kubia-0", "kubia-1", "kubia-10"], [0, 1, 10]),
        (["kubia-web-0", "kubia-1-0", "kubia-01", "kubia-", "xkubia-0", "kubia-0x"], []),
    ],
)
def test_pets_by_ordinal_selects_only_this_sets_names(names, expected):
    pods = [pod(name, owner=None) for name in names]
    assert sorted(pets_by_ordinal(sts(), pods)) == expected


@pytest.mark.parametrize(
    "statefulset, lag",
    [
        (sts(), []),
        (sts(status={}), ["the controller has not yet seen generation 2 of its spec (status.observedGeneration is 0)",
                          "status.replicas is 0, not 2", "status.readyReplicas is 0, not 2", "status.updatedReplicas is 0 of 2"]),
        (with_status(updatedReplicas=1, updateRevision="kubia-2"),
         ["status.updatedReplicas is 1 of 2", "the rolling update from revision kubia-1 to kubia-2 has not finished"]),
        (sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}, status={"observedGeneration": 2, "replicas": 2,
                                                                                            "readyReplicas": 2, "updatedReplicas": 0}),
         ["status.updatedReplicas is 0 of 2 (partition 1)"]),
    ],
)
def test_status_lag_phrases(statefulset, lag):
    assert status_lag(statefulset) == lag


def test_not_ready_pets_names_missing_and_unready_in_order():
    pods = [pod("kubia-1", ready=False), pod("kubia-3")]
    found = not_ready_pets(sts(replicas=3), pods)
    assert [(name, p is not None) for name, p in found] == [("kubia-0", False), ("kubia-1", True), ("kubia-2", False)]


def test_rows_with_claims_bound_missing_and_pending():
    pods = [pod("kubia-1", since="2026-11-27T12:00:09Z", node="pets-worker2"), pod("kubia-0", node="pets-worker")]
    pvcs = [pvc("data-kubia-0", "pets-kubia-0"), pvc("data-kubia-1", None, phase="Pending"), pvc("logs-kubia-0", "pv-logs-0"),
            pvc("data-other-0", "pv-other")]
    rows = pet_rows(sts(replicas=3, templates=("data", "logs")), pods, pvcs)
    assert rows == [
        {"ordinal": 0, "name": "kubia-0", "uid": "uid-kubia-0", "node": "pets-worker", "phase": "Running", "ready": True,
         "ready_since": "2026-11-27T12:00:00Z",
         "claims": [{"name": "data-kubia-0", "volume": "pets-kubia-0", "phase": "Bound"}, {"name": "logs-kubia-0", "volume": "pv-logs-0", "phase": "Bound"}]},
        {"ordinal": 1, "name": "kubia-1", "uid": "uid-kubia-1", "node": "pets-worker2", "phase": "Running", "ready": True,
         "ready_since": "2026-11-27T12:00:09Z",
         "claims": [{"name": "data-kubia-1", "volume": None, "phase": "Pending"}, {"name": "logs-kubia-1", "volume": None, "phase": None}]},
        {"ordinal": 2, "name": "kubia-2", "uid": None, "node": None, "phase": None, "ready": False, "ready_since": None,
         "claims": [{"name": "data-kubia-2", "volume": None, "phase": None}, {"name": "logs-kubia-2", "volume": None, "phase": None}]},
    ]


def test_rows_without_claim_templates_and_with_a_leftover_higher_ordinal():
    pods = [pod("kubia-0"), pod("kubia-1", deleting="2026-11-27T12:00:05Z")]
    rows = pet_rows(sts(replicas=1, templates=()), pods, [])
    assert [(r["ordinal"], r["ready"], r["ready_since"], r["claims"]) for r in rows] == [(0, True, "2026-11-27T12:00:00Z", []), (1, False, None, [])]


def test_summary():
    assert statefulset_summary(with_status(readyReplicas=None, updatedReplicas=1)) == {
        "name": "kubia", "namespace": "pets", "replicas": 2, "ready_replicas": 0, "updated_replicas": 1,
        "pod_management_policy": "OrderedReady", "service_name": "kubia", "claim_templates": ["data"],
    }


NEVER_PULL = {"name": "kubia", "ready": False, "restartCount": 0,
              "state": {"waiting": {"reason": "ErrImageNeverPull",
                                    "message": 'Container image "pets/absent:0.0.1" is not present with pull policy of Never'}}}
UNSCHEDULABLE = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity."}


@pytest.mark.parametrize(
    "the_pod, phrase",
    [
        (pod("kubia-0", ready=False, phase="Pending", containers=[NEVER_PULL]),
         'container kubia is waiting (ErrImageNeverPull: Container image "pets/absent:0.0.1" is not present with pull policy of Never)'),
        (pod("kubia-0", ready=None, phase="Pending", node=None, scheduled=UNSCHEDULABLE),
         "it is not scheduled (Unschedulable: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity.)"),
        (pod("kubia-0", deleting="2026-11-27T12:00:05Z"), "it is terminating (deletion requested at 2026-11-27T12:00:05Z)"),
        (pod("kubia-0", ready=False, containers=[{"name": "kubia", "ready": False, "restartCount": 2, "state": {"running": {}}}]),
         "container kubia runs but is not ready (its readiness probe fails; restarts: 2)"),
        (dict(pod("kubia-0", ready=False, phase="Pending"), status={"phase": "Pending", "initContainerStatuses": [
            {"name": "seed", "ready": False, "state": {"running": {}}}], "containerStatuses": [
            {"name": "kubia", "ready": False, "state": {"waiting": {"reason": "PodInitializing"}}}]}),
         "init container seed is still running; container kubia is waiting (PodInitializing)"),
        (pod("kubia-0", ready=False), "Ready=False (ContainersNotReady: containers with unready status: [kubia])"),
        (pod("kubia-0", ready=None, phase="Pending"), "its phase is Pending"),
    ],
)
def test_why_not_ready(the_pod, phrase):
    assert why_not_ready(the_pod) == phrase


@pytest.mark.parametrize(
    "policy, pods, phrase",
    [
        ("OrderedReady", [pod("kubia-0", ready=False)], "with podManagementPolicy OrderedReady the controller creates it only after kubia-0 is Ready"),
        ("Parallel", [pod("kubia-0", ready=False)], "the StatefulSet controller has not created it"),
        ("OrderedReady", [pod("kubia-0")], "the StatefulSet controller has not created it"),
    ],
)
def test_why_missing(policy, pods, phrase):
    assert phrase in why_missing(sts(policy=policy), "kubia-1", pods)


def test_timeout_message_names_each_waiting_pod_and_says_nothing_changed():
    msg = timeout_message(sts(status={}), [pod("kubia-0", ready=False, phase="Pending", containers=[NEVER_PULL])], 20)
    assert msg.startswith("StatefulSet pets/kubia did not finish rolling out within 20 s: 0 of 2 pods are Ready.")
    assert "Pod pets/kubia-0: container kubia is waiting (ErrImageNeverPull:" in msg
    assert "Pod pets/kubia-1: it does not exist yet: with podManagementPolicy OrderedReady" in msg
    assert "This module only reads, so nothing was changed." in msg
    assert "raise wait_timeout" in msg
    assert "status does not show" not in msg


def test_timeout_message_when_only_the_status_lags():
    msg = timeout_message(with_status(updatedReplicas=1), READY_PODS, 30)
    assert "2 of 2 pods are Ready." in msg
    assert "Every pod is Ready, but the StatefulSet's status does not show a finished rollout: status.updatedReplicas is 1 of 2." in msg


def test_missing_message():
    assert missing_message("pets", "kubia") == (
        "StatefulSet pets/kubia does not exist. Check the name and the namespace,"
        " or create the StatefulSet first (for example with the stateful.pets.statefulset role)."
    )


def test_inputs_are_not_modified():
    body, pods = sts(), copy.deepcopy(READY_PODS)
    before = copy.deepcopy((body, pods))
    pet_rows(body, pods, [])
    timeout_message(body, pods, 5)
    assert (body, pods) == before
