# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _volumes as volumes


def node(name, ready="True", unschedulable=False, taints=None, hostname=None):
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": hostname or name}},
            "spec": {"unschedulable": unschedulable, "taints": taints or []}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}


CONTROL_PLANE = node("cp", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
NODES = [CONTROL_PLANE, node("w1"), node("w2")]


def pinned(*hostnames):
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": list(hostnames)}]}]}}


def pv(ordinal, affinity=None, template="data", recreated=False):
    name = f"pets-kubia-{ordinal}" + ("" if template == "data" else f"-{template}") + ("-ab12cd34" if recreated else "")
    labels = {"stateful.pets/statefulset": "kubia", "stateful.pets/namespace": "pets", "stateful.pets/ordinal": str(ordinal),
              "stateful.pets/claim-template": template}
    if recreated:
        labels["stateful.pets/recreated-from"] = f"pets-kubia-{ordinal}"
    spec = {"hostPath": {"path": f"/var/lib/stateful-pets/pets/kubia-{ordinal}"}}
    if affinity:
        spec["nodeAffinity"] = affinity
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def place(live=(), count=3, requested=None, nodes=None):
    return volumes.place(list(live), NODES if nodes is None else nodes, count, requested or {}, "kubia", "pets")


@pytest.mark.parametrize("candidate, schedulable", [
    (node("w"), True),
    (node("w", ready="Unknown"), False),
    (node("w", ready="False"), False),
    (node("w", unschedulable=True), False),
    (CONTROL_PLANE, False),
    (node("w", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]), False),
    (node("w", taints=[{"key": "dedicated", "effect": "PreferNoSchedule"}]), True),
    ({"metadata": {"name": "bare"}}, False),
])
def test_is_schedulable(candidate, schedulable):
    assert volumes.is_schedulable(candidate) is schedulable


@pytest.mark.parametrize("volume, expected", [
    (pv(0, pinned("w1")), "w1"),
    (pv(0, pinned("gone")), "gone"),  # its node left the cluster; the data is still there
    (pv(0, pinned("w1", "w2")), None),
    (pv(0), None),
    (pv(0, {"required": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w2"]}]}]}}), "w2"),
])
def test_pinned_node(volume, expected):
    assert volumes.pinned_node(volume, NODES) == expected


def test_a_volume_is_pinned_by_the_hostname_label_which_may_differ_from_the_name():
    nodes = [node("ip-10-0-0-1.ec2.internal", hostname="ip-10-0-0-1")]
    assert volumes.pinned_node(pv(0, pinned("ip-10-0-0-1")), nodes) == "ip-10-0-0-1.ec2.internal"
    assert volumes.hostname_of(nodes[0]) == "ip-10-0-0-1"
    assert volumes.hostname_of({"metadata": {"name": "plain"}}) == "plain"


@pytest.mark.parametrize("volume, mode", [(pv(0, pinned("w1")), "node_local"), (pv(0, pinned("w1", "w2")), "node_local"), (pv(0), "shared")])
def test_storage_mode(volume, mode):
    assert volumes.storage_mode(volume) == mode


@pytest.mark.parametrize("count, nodes, expected", [
    (3, NODES, {0: "w1", 1: "w2", 2: "w1"}),
    (1, NODES, {0: "w1"}),
    (4, NODES + [node("w3")], {0: "w1", 1: "w2", 2: "w3", 3: "w1"}),
    (2, [CONTROL_PLANE, node("w1"), node("w2", unschedulable=True)], {0: "w1", 1: "w1"}),
    (2, [node("solo")], {0: "solo", 1: "solo"}),  # a single untainted node takes every ordinal
])
def test_new_ordinals_are_spread_over_the_schedulable_nodes(count, nodes, expected):
    assert place(count=count, nodes=nodes) == (expected, [])


def test_existing_volumes_keep_their_node_and_count_toward_the_spread():
    # Ordinal 0 lives on w2 already: the next ones go to the emptier node first.
    placement, problems = place([pv(0, pinned("w2"))], count=4)
    assert placement == {0: "w2", 1: "w1", 2: "w1", 3: "w2"}
    assert problems == []


def test_a_scale_up_moves_nothing_and_a_rerun_places_the_same():
    first = place(count=2)[0]
    live = [pv(ordinal, pinned(node)) for ordinal, node in first.items()]
    again, problems = place(live, count=2)
    more = place(live, count=4)[0]
    assert again == first and problems == []
    assert {ordinal: more[ordinal] for ordinal in first} == first


def test_an_existing_volume_keeps_its_node_even_when_that_node_is_cordoned_or_gone():
    nodes = [CONTROL_PLANE, node("w1", unschedulable=True), node("w2")]
    assert place([pv(0, pinned("w1")), pv(1, pinned("gone"))], count=3, nodes=nodes) == ({0: "w1", 1: "gone", 2: "w2"}, [])


def test_every_template_of_an_ordinal_follows_the_pinned_one():
    placement, problems = place([pv(0, pinned("w2"), "logs")], count=1)
    assert placement == {0: "w2"} and problems == []


def test_the_users_map_places_the_ordinals_it_names():
    assert place(count=3, requested={"1": "w1", 2: "cp"}) == ({0: "w2", 1: "w1", 2: "cp"}, [])


def test_volumes_beyond_the_count_are_not_placed_but_count_toward_the_spread():
    assert place([pv(5, pinned("w1"))], count=1) == ({0: "w2"}, [])


def test_a_recreated_pets_volume_does_not_move_the_roles_own():
    live = [pv(1, pinned("w1")), pv(1, pinned("w2"), recreated=True)]
    assert place(live, count=2) == ({0: "w2", 1: "w1"}, [])


def test_an_unpinned_volume_is_pinned_where_the_user_says():
    assert place([pv(0)], count=1, requested={0: "w2"}) == ({0: "w2"}, [])


@pytest.mark.parametrize("live, requested, nodes, problem", [
    ([], {1: "nope"}, NODES,
     'replica_volumes_node_affinity pins ordinal 1 to node "nope", which is not a node of this cluster (its nodes: cp, w1, w2). Name one of them.'),
    ([pv(0, pinned("w1"))], {0: "w2"}, NODES,
     'replica_volumes_node_affinity pins ordinal 0 to node "w2", but its PersistentVolume pets-kubia-0 already lives on node w1, with its data.'
     " A volume never moves: pin ordinal 0 to w1 or leave it out of the map"),
    ([pv(0)], {}, NODES,
     "PersistentVolume pets-kubia-0 of ordinal 0 of pets/kubia is pinned to no node (it was made with replica_volumes_storage=shared,"
     " or before storage modes existed), so its data is on the node where pod kubia-0 ran. Name that node for ordinal 0 in"
     " replica_volumes_node_affinity"),
    ([pv(0, pinned("w1")), pv(0, pinned("w2"), "logs")], {}, NODES,
     "The PersistentVolumes pets-kubia-0 (node w1), pets-kubia-0-logs (node w2) of ordinal 0 of pets/kubia are pinned to different nodes,"
     " so pod kubia-0 can never mount them all."),
    ([pv(0, pinned("w1", "w2"))], {}, NODES, "PersistentVolume pets-kubia-0 of ordinal 0 of pets/kubia has a nodeAffinity that names no single node"),
    ([], {}, [CONTROL_PLANE, node("w1", unschedulable=True), node("w2", ready="Unknown")],
     "No node can take the node-local volumes of ordinal 0, 1, 2 of pets/kubia: every node is cordoned, not Ready or tainted"),
])
def test_problems_are_sentences_that_say_what_to_do(live, requested, nodes, problem):
    _placement, problems = place(live, count=3, requested=requested, nodes=nodes)
    assert len(problems) == 1
    assert problem in problems[0]


def test_keys_that_are_not_ordinals_are_left_to_the_roles_rules():
    assert place(count=1, requested={"x": "w1"}) == ({0: "w1"}, [])
