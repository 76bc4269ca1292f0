# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._apply import (
    Applier,
    checked_objects,
    diff_of,
    parse_definitions,
    plan_change,
    project,
    run_apply,
)
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pets"}}
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubia", "namespace": "pets"},
       "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 80}]}}
PARAMS = {"field_manager": "stateful.pets", "force_conflicts": True}


def served(obj, **spec_extra):
    """`obj` as the server would return it: with status, volatile metadata and defaulted fields."""
    live = copy.deepcopy(obj)
    live["metadata"].update(resourceVersion="7", uid="u-1", managedFields=[{"manager": "stateful.pets"}])
    live.setdefault("spec", {}).update(spec_extra)
    live["status"] = {"phase": "Active"}
    return live


class FakeCluster:
    """Records every call; `live` maps (kind, name) to the stored object."""

    def __init__(self, live=None, apply_error=None):
        self.live = dict(live or {})
        self.apply_error = apply_error
        self.calls = []

    def check_kind(self, obj):
        self.calls.append(("kind", obj["kind"]))
        if obj["kind"] == "Kennel":
            raise K8sError("The API server serves no kind Kennel in apiVersion pets.example.com/v1.")

    def read_object(self, obj):
        self.calls.append(("read", obj["kind"], obj["metadata"]["name"]))
        return copy.deepcopy(self.live.get((obj["kind"], obj["metadata"]["name"])))

    def server_side_apply(self, obj, field_manager, force_conflicts, dry_run=False):
        self.calls.append(("dry-run" if dry_run else "apply", obj["kind"], obj["metadata"]["name"], field_manager, force_conflicts))
        if self.apply_error:
            raise self.apply_error
        after = served(obj, sessionAffinity="None") if obj["kind"] == "Service" else served(obj)
        if not dry_run:
            self.live[(obj["kind"], obj["metadata"]["name"])] = after
        return after


@pytest.mark.parametrize(
    "definition, names",
    [
        (NS, ["pets"]),
        ([NS, SVC], ["pets", "kubia"]),
        ("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: pets\n---\n---\n", ["pets"]),
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n", ["a", "b"]),
    ],
)
def test_parse_definitions_accepts_a_mapping_a_list_and_multi_document_yaml(definition, names):
    assert [obj["metadata"]["name"] for obj in parse_definitions(definition)] == names


@pytest.mark.parametrize(
    "definition, fragment",
    [
        ("---\n---\n", "holds no object"),
        ("a: [1", "not valid YAML"),
        (42, "got int"),
        (["text"], "Document 1 of the definition is a str"),
        ([NS, {"kind": "Service", "metadata": {"name": "x"}}], "Document 2 of the definition (Service) lacks apiVersion"),
        ([{"apiVersion": "v1", "kind": "Service", "metadata": {}}], "lacks metadata.name"),
        ([NS, copy.deepcopy(NS)], "names Namespace pets twice"),
    ],
)
def test_bad_definitions_fail_with_a_sentence_that_says_nothing_was_applied(definition, fragment):
    with pytest.raises(K8sError) as caught:
        checked_objects(definition)
    assert fragment in caught.value.msg
    assert caught.value.msg.endswith(("Nothing was applied.", "Give at least one. Nothing was applied."))


@pytest.mark.parametrize(
    "live, desired, expected",
    [
        ({"a": 1, "b": 2}, {"a": 0}, {"a": 1}),
        ({"spec": {"x": 1, "defaulted": True}}, {"spec": {"x": 2}}, {"spec": {"x": 1}}),
        ({"ports": [{"port": 80, "protocol": "TCP"}]}, {"ports": [{"port": 80}]}, {"ports": [{"port": 80}]}),
        ({"ports": [{"port": 80}, {"port": 81}]}, {"ports": [{"port": 80}]}, {"ports": [{"port": 80}, {"port": 81}]}),
        ({"a": 1}, {"a": 1, "missing": 3}, {"a": 1}),
    ],
)
def test_project_keeps_only_the_paths_the_definition_sets(live, desired, expected):
    assert project(live, desired) == expected


@pytest.mark.parametrize(
    "before, after, action",
    [
        (None, served(SVC), "created"),
        (served(SVC), served(SVC, sessionAffinity="None"), "unchanged"),
        (served(dict(SVC, spec={"clusterIP": "None", "ports": [{"name": "http", "port": 8080}]})), served(SVC), "updated"),
    ],
)
def test_plan_change_compares_the_managed_fields_only(before, after, action):
    assert plan_change(before, after, SVC)[0] == action


def test_diff_leaves_objects_that_did_not_exist_out_of_before():
    rows = [{"key": "Namespace pets", "before": None, "after": {"a": 1}}, {"key": "Service pets/kubia", "before": {"b": 1}, "after": {"b": 2}}]
    assert diff_of(rows) == {"before": {"Service pets/kubia": {"b": 1}}, "after": {"Namespace pets": {"a": 1}, "Service pets/kubia": {"b": 2}}}


def test_check_mode_dry_runs_every_object_and_never_writes():
    cluster = FakeCluster()
    result = run_apply(cluster, [NS, SVC], PARAMS, check_mode=True)
    writes = [call for call in cluster.calls if call[0] == "apply"]
    assert writes == []
    assert [call[0] for call in cluster.calls] == ["kind", "kind", "read", "dry-run", "read", "dry-run"]
    assert result["changed"] is True
    assert [o["action"] for o in result["objects"]] == ["created", "created"]


def test_a_real_run_applies_then_a_second_run_reports_unchanged():
    cluster = FakeCluster()
    first = run_apply(cluster, [NS, SVC], PARAMS, check_mode=False)
    second = run_apply(cluster, [NS, SVC], PARAMS, check_mode=False)
    assert first["changed"] is True and second["changed"] is False
    assert [o["action"] for o in second["objects"]] == ["unchanged", "unchanged"]
    assert second["diff"]["before"] == second["diff"]["after"]
    assert ("apply", "Service", "kubia", "stateful.pets", True) in cluster.calls


def test_check_mode_reports_an_object_in_a_namespace_that_does_not_exist_yet_as_created():
    cluster = FakeCluster(apply_error=K8sError('namespaces "pets" not found', status=404))
    rows = Applier(cluster, "stateful.pets").apply_all([SVC], check_mode=True)
    assert rows[0]["action"] == "created"
    assert rows[0]["after"] == SVC


@pytest.mark.parametrize("check_mode, live", [(False, {}), (True, {("Service", "kubia"): served(SVC)})])
def test_a_404_is_only_forgiven_for_a_dry_run_create(check_mode, live):
    cluster = FakeCluster(live=live, apply_error=K8sError("Cannot apply Service pets/kubia: it was not found.", status=404))
    with pytest.raises(K8sError, match="pets/kubia"):
        Applier(cluster, "stateful.pets").apply_all([SVC], check_mode=check_mode)


def test_an_unknown_kind_fails_before_the_first_write():
    cluster = FakeCluster()
    kennel = {"apiVersion": "pets.example.com/v1", "kind": "Kennel", "metadata": {"name": "k", "namespace": "pets"}}
    with pytest.raises(K8sError, match="no kind Kennel in apiVersion pets.example.com/v1. Nothing was applied."):
        Applier(cluster, "stateful.pets").apply_all([NS, kennel], check_mode=False)
    assert [call for call in cluster.calls if call[0] == "apply"] == []
