# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _node_local as node_local
from ansible_collections.stateful.pets.plugins.module_utils._predicates import node_matches_terms


def node(name, labels=None, ready="True", unschedulable=False):
    return {"metadata": {"name": name, "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
            "spec": {"unschedulable": unschedulable}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}


NODES = [node("cp", {"node-role.kubernetes.io/control-plane": ""}), node("w1", {"zone": "a", "disk": "3"}), node("w2", {"zone": "a"})]


def pv(terms=None, path="/var/lib/stateful-pets/pets/kubia-1"):
    spec = {"capacity": {"storage": "1Mi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
            "claimRef": {"namespace": "pets", "name": "data-kubia-1", "uid": "claim-uid", "resourceVersion": "4"},
            "hostPath": {"path": path, "type": "DirectoryOrCreate"}}
    if terms is not None:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": terms}}
    return {"metadata": {"name": "pets-kubia-1", "labels": {"stateful.pets/namespace": "pets"}}, "spec": spec}


def hostname_is(*names):
    return [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": list(names)}]}]


@pytest.mark.parametrize("terms, matching", [
    (hostname_is("w2"), {"w2"}),
    (hostname_is("w1", "w2"), {"w1", "w2"}),
    ([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}], {"w1", "w2"}),
    ([{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}], {"cp"}),
    ([{"matchExpressions": [{"key": "disk", "operator": "Exists"}]}], {"w1"}),
    ([{"matchExpressions": [{"key": "disk", "operator": "DoesNotExist"}]}], {"cp", "w2"}),
    ([{"matchExpressions": [{"key": "disk", "operator": "Gt", "values": ["2"]}]}], {"w1"}),
    ([{"matchExpressions": [{"key": "disk", "operator": "Lt", "values": ["2"]}]}], set()),
    ([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w2"]}]}], {"w2"}),
    (hostname_is("w1") + hostname_is("w2"), {"w1", "w2"}),
    ([{}], set()),
    ([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}, {"key": "disk", "operator": "Exists"}]}], {"w1"}),
])
def test_node_matches_terms(terms, matching):
    assert {n["metadata"]["name"] for n in NODES if node_matches_terms(n, terms)} == matching


@pytest.mark.parametrize("volume, pinned", [
    (pv(hostname_is("w2")), True),
    (pv(hostname_is("w1", "w2")), False),
    (pv(hostname_is("w1")), False),
    (pv(None), False),
])
def test_pinned_to_only_when_no_other_node_can_mount_it(volume, pinned):
    assert node_local.pinned_to(volume, "w2", NODES) is pinned


def test_fresh_pv_is_empty_pinned_elsewhere_and_prebound_by_name():
    fresh = node_local.fresh_pv(pv(hostname_is("w2")), "w1", "ab12cd34")
    assert fresh["metadata"] == {"name": "pets-kubia-1-ab12cd34",
                                 "labels": {"stateful.pets/namespace": "pets", node_local.RECREATED_FROM_LABEL: "pets-kubia-1"}}
    spec = fresh["spec"]
    assert spec["claimRef"] == {"namespace": "pets", "name": "data-kubia-1"}
    assert spec["hostPath"] == {"path": "/var/lib/stateful-pets/pets/kubia-1-ab12cd34", "type": "DirectoryOrCreate"}
    assert spec["nodeAffinity"] == {"required": {"nodeSelectorTerms": hostname_is("w1")}}
    assert (spec["capacity"], spec["accessModes"], spec["storageClassName"]) == ({"storage": "1Mi"}, ["ReadWriteOnce"], "")


def test_target_node_prefers_the_candidate_with_fewest_pets():
    pods = [{"spec": {"nodeName": "w1"}}, {"spec": {"nodeName": "w1"}}, {"spec": {"nodeName": "w3"}}]
    nodes = NODES + [node("w3")]
    assert node_local.target_node(nodes, pods, {"w2"}, lambda n: "node-role.kubernetes.io/control-plane" not in n["metadata"]["labels"]) == "w3"
    assert node_local.target_node(nodes, pods, {"w2", "w3"}, lambda n: n["metadata"]["name"] != "cp") == "w1"
    assert node_local.target_node(nodes, pods, {"w1", "w2", "w3"}, lambda n: n["metadata"]["name"] != "cp") is None


def test_the_notes_say_where_the_data_is():
    pet = {"namespace": "pets", "name": "kubia-1"}
    volumes = [node_local.pinned_volume(pet, "data-kubia-1", pv(hostname_is("w2")), "w2")]
    assert volumes == [{"claim": "data-kubia-1", "pv": "pets-kubia-1", "node": "w2", "path": "/var/lib/stateful-pets/pets/kubia-1", "pet": "pets/kubia-1"}]
    assert node_local.waits_for_node_note(pet, volumes, "w2").startswith(
        "Pod pets/kubia-1 waits for node w2: its data lives only on that node (PersistentVolume pets-kubia-1 is pinned to it by nodeAffinity),"
        " so it comes back when the node returns and is unfenced.")
    assert node_local.abandoned_note(pet, volumes, "w1").startswith(
        "Pod pets/kubia-1 starts empty on node w1 (node_local_pets=recreate_empty): the data of PersistentVolume pets-kubia-1"
        " (/var/lib/stateful-pets/pets/kubia-1 on node w2) is abandoned")
