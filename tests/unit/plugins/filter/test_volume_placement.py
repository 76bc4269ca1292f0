# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stateful.pets.plugins.filter.storage_mode import FilterModule as StorageModeFilters
from ansible_collections.stateful.pets.plugins.filter.storage_mode import storage_mode
from ansible_collections.stateful.pets.plugins.filter.volume_placement import FilterModule as PlacementFilters
from ansible_collections.stateful.pets.plugins.filter.volume_placement import volume_placement


def node(name, hostname=None):
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": hostname or name}}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def pinned_pv(ordinal, hostname):
    terms = [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [hostname]}]}]
    return {"metadata": {"name": f"pets-kubia-{ordinal}", "labels": {"stateful.pets/ordinal": str(ordinal)}},
            "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": terms}}}}


def test_the_placement_is_keyed_by_ordinal_strings_with_the_hostname_to_pin_by():
    nodes = [node("a.example", "a"), node("b.example", "b")]
    assert volume_placement([pinned_pv(0, "b")], nodes, 2, {}, "kubia", "pets") == {
        "nodes": {"0": "b.example", "1": "a.example"}, "hostnames": {"0": "b", "1": "a"}, "problems": []}


def test_the_placement_reports_problems():
    result = volume_placement([], [node("a")], "1", {"0": "zz"}, "kubia", "pets")
    assert result["problems"] == ['replica_volumes_node_affinity pins ordinal 0 to node "zz", which is not a node of this cluster (its nodes: a).'
                                  " Name one of them."]


@pytest.mark.parametrize("pv, expected", [
    (pinned_pv(0, "a"), {"mode": "node_local", "node": "a"}),
    ({"metadata": {"name": "nfs"}, "spec": {"nfs": {"path": "/export"}}}, {"mode": "shared", "node": None}),
])
def test_storage_mode(pv, expected):
    assert storage_mode(pv, [node("a"), node("b")]) == expected


def test_the_filters_are_registered():
    assert PlacementFilters().filters() == {"volume_placement": volume_placement}
    assert StorageModeFilters().filters() == {"storage_mode": storage_mode}
