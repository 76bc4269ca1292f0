# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._rollout import (
    desired_template,
    first_partition,
    image_has_tag,
    merge_into,
    missing_message,
    owned_by,
    param_errors,
    partition_of,
    plan_ordinals,
    pod_done,
    pod_revision,
    pod_waiting_on,
    pods_by_ordinal,
    ready_floor,
    refuse_message,
    revision_template,
    revision_with_template,
    short_revision,
    statefulset_errors,
    status_agrees,
    status_shortfall,
    step_failure,
    step_line,
    strategy_of,
)

NOW = datetime(2026, 12, 1, 12, 0, 10, tzinfo=timezone.utc)  # noqa: UP017


def params(**overrides):
    base = dict(name="kubia", namespace="pets", images=None, image=None, template_patch=None, partition=0, on_failure="rollback",
                step_timeout=300, timeout=1800, allow_unhealthy=False)
    base.update(overrides)
    return base


def template(*containers, init=()):
    spec = {"containers": [{"name": name, "image": image} for name, image in containers]}
    if init:
        spec["initContainers"] = [{"name": name, "image": image} for name, image in init]
    return {"metadata": {"labels": {"app": "kubia"}}, "spec": spec}


def statefulset(replicas=3, strategy=None, tmpl=None):
    spec = {"replicas": replicas, "template": tmpl or template(("kubia", "pets/kubia:1.0.0"))}
    if strategy is not None:
        spec["updateStrategy"] = strategy
    return {"metadata": {"name": "kubia", "uid": "set-uid"}, "spec": spec}


def pod(ordinal, revision="kubia-old", ready="True", phase="Running", since="2026-12-01T12:00:00Z", deleting=None):
    meta = {"name": f"kubia-{ordinal}", "labels": {"controller-revision-hash": revision}, "resourceVersion": "5"}
    if deleting:
        meta["deletionTimestamp"] = deleting
    return {"metadata": meta, "spec": {"nodeName": "pets-worker"},
            "status": {"phase": phase, "conditions": [{"type": "PodScheduled", "status": "True"},
                                                      {"type": "Ready", "status": ready, "lastTransitionTime": since}]}}


@pytest.mark.parametrize("reference, expected", [
    ("pets/kubia:1.0.0", True),
    ("pets/kubia", False),
    ("kubia:", False),
    ("localhost:5000/pets/kubia", False),
    ("localhost:5000/pets/kubia:1.1", True),
    ("pets/kubia@sha256:0123abcd", True),
])
def test_image_has_tag(reference, expected):
    assert image_has_tag(reference) is expected


@pytest.mark.parametrize("overrides, expected", [
    ({}, []),
    ({"image": "pets/kubia:2"}, []),
    ({"timeout": 0}, ["timeout must be more than 0 seconds, got 0."]),
    ({"step_timeout": 0}, ["step_timeout must be more than 0 seconds, got 0."]),
    ({"step_timeout": 60, "timeout": 30}, ["step_timeout (60 s) must not be greater than timeout (30 s)."]),
    ({"partition": -1}, ["partition must be 0 or more, got -1."]),
    ({"images": {}}, ["images is empty; name at least one container, or leave images out to resume a rollout."]),
    ({"image": "pets/kubia"}, ["image 'pets/kubia' for container (the only one) has no tag; name a tag or a digest (never an implied latest)."]),
    ({"images": {"side": "busybox"}}, ["image 'busybox' for container side has no tag; name a tag or a digest (never an implied latest)."]),
])
def test_param_errors(overrides, expected):
    assert param_errors(params(**overrides)) == expected


@pytest.mark.parametrize("overrides, sts, expected", [
    ({"partition": 3}, statefulset(replicas=3), []),
    ({"partition": 4}, statefulset(replicas=3), ["partition 4 is above the replica count 3; use 0 to 3."]),
    ({"image": "x:1"}, statefulset(tmpl=template(("a", "a:1"), ("b", "b:1"))),
     ["image needs a template with exactly one container, and this one has a, b; use images to name them."]),
    ({"images": {"nope": "x:1", "kubia": "y:1"}}, statefulset(), ["the template has no container named nope; its containers are kubia."]),
    ({"images": {"setup": "x:1"}}, statefulset(tmpl=template(("kubia", "k:1"), init=[("setup", "s:1")])), []),
])
def test_statefulset_errors(overrides, sts, expected):
    assert statefulset_errors(params(**overrides), sts) == expected


def test_merge_into_merges_maps_and_named_lists_and_leaves_its_inputs_alone():
    base = {"metadata": {"labels": {"app": "kubia"}, "annotations": {"old": "1"}},
            "spec": {"containers": [{"name": "kubia", "image": "k:1", "env": [{"name": "A", "value": "1"}]}, {"name": "side", "image": "s:1"}],
                     "tolerations": [{"key": "a"}]}}
    patch = {"metadata": {"annotations": {"old": None, "new": "2"}},
             "spec": {"containers": [{"name": "kubia", "env": [{"name": "B", "value": "2"}]}, {"name": "extra", "image": "e:1", "args": None}],
                      "tolerations": [{"key": "b"}]}}
    kept_base, kept_patch = copy.deepcopy(base), copy.deepcopy(patch)
    merged = merge_into(base, patch)
    assert merged == {
        "metadata": {"labels": {"app": "kubia"}, "annotations": {"new": "2"}},
        "spec": {"containers": [{"name": "kubia", "image": "k:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                                {"name": "side", "image": "s:1"}, {"name": "extra", "image": "e:1"}],
                 "tolerations": [{"key": "b"}]},
    }
    assert (base, patch) == (kept_base, kept_patch)


@pytest.mark.parametrize("overrides, containers, init", [
    ({"image": "pets/kubia:2"}, ["pets/kubia:2"], []),
    ({"images": {"kubia": "pets/kubia:2"}}, ["pets/kubia:2"], []),
    ({"images": {"setup": "s:2"}}, ["pets/kubia:1.0.0"], ["s:2"]),
    ({"template_patch": {"spec": {"containers": [{"name": "kubia", "image": "p:9"}]}}, "image": "i:3"}, ["i:3"], []),
])
def test_desired_template_sets_the_named_images(overrides, containers, init):
    base = template(("kubia", "pets/kubia:1.0.0"), init=[("setup", "s:1")]) if "setup" in str(overrides) else template(("kubia", "pets/kubia:1.0.0"))
    desired = desired_template(base, params(**overrides))
    assert [c["image"] for c in desired["spec"]["containers"]] == containers
    assert [c["image"] for c in desired["spec"].get("initContainers", [])] == init


def test_desired_template_with_nothing_asked_is_the_same_template():
    base = template(("kubia", "pets/kubia:1.0.0"))
    assert desired_template(base, params()) == base


def revision(name, number, tmpl, owner="set-uid"):
    data_template = dict(tmpl, **{"$patch": "replace"})
    return {"metadata": {"name": name, "ownerReferences": [{"controller": True, "uid": owner}]}, "revision": number,
            "data": {"spec": {"template": data_template}}}


def test_revision_template_drops_the_replace_directive():
    tmpl = template(("kubia", "k:1"))
    assert revision_template(revision("kubia-a", 1, tmpl)) == tmpl


def test_revision_with_template_finds_the_newest_equal_one_or_none():
    one, two = template(("kubia", "k:1")), template(("kubia", "k:2"))
    revisions = [revision("kubia-b", 4, one), revision("kubia-a", 2, one), revision("kubia-c", 3, two)]
    assert revision_with_template(revisions, one) == "kubia-b"
    assert revision_with_template(revisions, two) == "kubia-c"
    assert revision_with_template(revisions, template(("kubia", "k:3"))) is None


def test_owned_by_checks_the_controller_uid():
    sts = statefulset()
    assert owned_by(revision("kubia-a", 1, {}), sts)
    assert not owned_by(revision("kubia-a", 1, {}, owner="other"), sts)


@pytest.mark.parametrize("strategy, expected_type, expected_partition", [
    (None, "RollingUpdate", 0),
    ({"type": "RollingUpdate"}, "RollingUpdate", 0),
    ({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}, "RollingUpdate", 2),
    ({"type": "OnDelete"}, "OnDelete", None),
])
def test_strategy_and_partition(strategy, expected_type, expected_partition):
    sts = statefulset(strategy=strategy)
    assert (strategy_of(sts), partition_of(sts)) == (expected_type, expected_partition)


def test_pods_by_ordinal_keeps_only_this_sets_pods():
    pods = [pod(0), pod(2), {"metadata": {"name": "kubia-canary-0"}}, {"metadata": {"name": "kubiax-1"}}]
    assert sorted(pods_by_ordinal("kubia", pods)) == [0, 2]


@pytest.mark.parametrize("replicas, partition, revisions, target, expected", [
    (3, 0, {0: "old", 1: "old", 2: "old"}, None, [2, 1, 0]),
    (3, 0, {0: "old", 1: "old", 2: "old"}, "new", [2, 1, 0]),
    (3, 1, {0: "old", 1: "old", 2: "old"}, "new", [2, 1]),
    (3, 0, {0: "old", 1: "new", 2: "new"}, "new", [0]),
    (3, 0, {0: "new", 1: "old", 2: "new"}, "new", [1]),
    (3, 3, {0: "old", 1: "old", 2: "old"}, "new", []),
    (3, 0, {0: "old", 2: "old"}, "new", [2, 1, 0]),
    (0, 0, {}, "new", []),
])
def test_plan_ordinals_highest_first(replicas, partition, revisions, target, expected):
    pods = {n: pod(n, revision=rev) for n, rev in revisions.items()}
    assert plan_ordinals(replicas, partition, pods, target) == expected


@pytest.mark.parametrize("plan, partition, expected", [([2, 1, 0], 0, 2), ([1], 0, 1), ([], 2, 2)])
def test_first_partition(plan, partition, expected):
    assert first_partition(plan, partition) == expected


@pytest.mark.parametrize("unhealthy, plan, ordinal, expected", [
    (set(), [2, 1, 0], 2, 3),
    ({1}, [2, 1, 0], 2, 2),
    ({1}, [2, 1, 0], 1, 3),
    ({0}, [2, 1], 1, 2),
])
def test_ready_floor(unhealthy, plan, ordinal, expected):
    assert ready_floor(3, unhealthy, plan, ordinal) == expected


def sts_status(**status):
    return {"status": status}


@pytest.mark.parametrize("status, expected", [
    (dict(observedGeneration=4, updateRevision="new", readyReplicas=3, availableReplicas=3, updatedReplicas=1), True),
    (dict(observedGeneration=3, updateRevision="new", readyReplicas=3, availableReplicas=3, updatedReplicas=1), False),
    (dict(observedGeneration=4, updateRevision="old", readyReplicas=3, availableReplicas=3, updatedReplicas=1), False),
    (dict(observedGeneration=4, updateRevision="new", readyReplicas=2, availableReplicas=2, updatedReplicas=1), False),
    (dict(observedGeneration=4, updateRevision="new", readyReplicas=3, availableReplicas=2, updatedReplicas=1), False),
    (dict(observedGeneration=4, updateRevision="new", readyReplicas=3, availableReplicas=3), False),
])
def test_status_agrees(status, expected):
    assert status_agrees(sts_status(**status), 4, "new", 3, 1) is expected


@pytest.mark.parametrize("status, expected", [
    (dict(observedGeneration=3), "the StatefulSet controller to observe generation 4"),
    (dict(observedGeneration=4, updateRevision="old"), "the StatefulSet status to name revision new (it names old)"),
    (dict(observedGeneration=4, updateRevision="new", readyReplicas=2, availableReplicas=2, updatedReplicas=1),
     "the StatefulSet status to count 3 pods ready and available and 1 updated (it counts 2, 2 and 1)"),
])
def test_status_shortfall(status, expected):
    assert status_shortfall(sts_status(**status), 4, "new", 3, 1) == expected


@pytest.mark.parametrize("the_pod, min_ready, expected", [
    (pod(0, revision="new"), 0, True),
    (pod(0, revision="new"), 10, True),
    (pod(0, revision="new"), 11, False),
    (pod(0, revision="old"), 0, False),
    (pod(0, revision="new", ready="False"), 0, False),
    (pod(0, revision="new", deleting="2026-12-01T12:00:05Z"), 0, False),
    (None, 0, False),
])
def test_pod_done(the_pod, min_ready, expected):
    assert pod_done(the_pod, "new", min_ready, NOW) is expected


@pytest.mark.parametrize("the_pod, expected", [
    (None, "the StatefulSet controller to create it"),
    (pod(0, revision="new", deleting="2026-12-01T12:00:05Z"), "the old pod to terminate"),
    (pod(0, revision="old"), "the StatefulSet controller to replace it (it runs revision old)"),
    (pod(0, revision="new", ready="False", phase="Pending"), "becoming Running and Ready: its phase is Pending; Ready=False"),
    (pod(0, revision="new"), "staying Ready for 30 s (minReadySeconds)"),
])
def test_pod_waiting_on(the_pod, expected):
    assert pod_waiting_on(the_pod, "new", 30, NOW) == expected


def test_pod_revision_and_short_revision():
    assert pod_revision(pod(0, revision="kubia-5c7d8f9b4")) == "kubia-5c7d8f9b4"
    assert pod_revision(None) is None
    assert short_revision("kubia", "kubia-5c7d8f9b4") == "5c7d8f9b4"
    assert short_revision("kubia", None) == "(new)"
    assert short_revision("kubia", "other-1") == "other-1"


def test_messages_name_the_objects_and_say_what_to_do():
    refused = refuse_message("pets", "kubia", [("kubia-1", ["its phase is Pending"], ["Warning BackOff: pulling"])])
    assert refused.startswith("Refusing to roll out StatefulSet pets/kubia: a rollout is only safe while every pet is healthy, and 1 is not.")
    assert "Nothing was changed. Pod pets/kubia-1: its phase is Pending. Last events: Warning BackOff: pulling." in refused
    assert refused.endswith("or set allow_unhealthy=true to replace them in the rollout anyway.")
    assert step_failure("pets", "kubia", "kubia-2", "kubia-new", 60, "scheduling", []) == (
        "the step of pod pets/kubia-2 to revision kubia-new did not finish within 60 s: it waits on scheduling.")
    assert step_failure("pets", "kubia", None, None, 60, "the controller", ["Normal X: y"]) == (
        "StatefulSet pets/kubia did not take the new template within 60 s: it waits on the controller. Last events: Normal X: y.")
    assert step_line("kubia-2", "5c7d8f9b4", "pets-worker", 3.44) == "kubia-2 → rev 5c7d8f9b4 Ready on pets-worker in 3.4 s"


@pytest.mark.parametrize("kind, namespace_exists, expected", [
    (None, False, "Namespace pets does not exist, so StatefulSet pets/kubia cannot be rolled out."),
    ("Deployment", True, "Deployment pets/kubia is not a StatefulSet: this module only rolls out StatefulSets."),
    (None, True, "StatefulSet pets/kubia does not exist. Check the name and the namespace. Nothing was changed."),
])
def test_missing_message(kind, namespace_exists, expected):
    assert missing_message("pets", "kubia", kind, namespace_exists).startswith(expected)
