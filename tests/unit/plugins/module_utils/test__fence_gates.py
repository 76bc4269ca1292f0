# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _fence_gates as gates
from ansible_collections.stateful.pets.plugins.module_utils._fence_lease import lease_view, micro_time

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)  # noqa: UP017 - matches the modules' style
PARAMS = {"allow_control_plane": False, "cooldown": 0}


def node(name="w2", labels=None, annotations=None):
    return {"metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}}, "spec": {}, "status": {}}


def view(holder="run-a", renewed=5, acquired=30, last_fence=None):
    spec = {"leaseDurationSeconds": 120}
    if holder:
        spec.update(holderIdentity=holder, renewTime=micro_time(NOW - datetime.timedelta(seconds=renewed)),
                    acquireTime=micro_time(NOW - datetime.timedelta(seconds=acquired)))
    annotations = {"stateful.pets/last-fence": micro_time(NOW - datetime.timedelta(seconds=last_fence))} if last_fence is not None else {}
    return lease_view({"metadata": {"annotations": annotations}, "spec": spec}, NOW)


FREE = lease_view(None, NOW)


@pytest.mark.parametrize("labels, passed, words", [
    ({}, True, "does not carry the label stateful.pets/exclude-from-fencing"),
    ({"stateful.pets/exclude-from-fencing": ""}, False, "carries the label stateful.pets/exclude-from-fencing, so it is never fenced"),
    ({"stateful.pets/exclude-from-fencing": "true"}, False, "remove the label to allow it"),
])
def test_exclude_gate(labels, passed, words):
    gate = gates.exclude_gate(node(labels=labels))
    assert gate["guard"] == "excluded" and gate["passed"] is passed and words in gate["detail"]


@pytest.mark.parametrize("until, passed, words", [
    (None, True, "is not paused"),
    ("2026-11-27T13:00:00Z", False, "paused until 2026-11-27T13:00:00Z"),
    ("2026-11-27T11:00:00+00:00", True, "ended at"),
    ("tomorrow", False, "not an RFC 3339 time"),
    ("2026-11-27T13:00:00", False, "with a time zone"),
])
def test_pause_gate(until, passed, words):
    annotations = {gates.PAUSE_ANNOTATION: until} if until else {}
    gate = gates.pause_gate(node(annotations=annotations), NOW)
    assert gate["guard"] == "paused" and gate["passed"] is passed and words in gate["detail"]


@pytest.mark.parametrize("labels, allow, passed, words", [
    ({}, False, True, "is not a control-plane node"),
    ({"node-role.kubernetes.io/control-plane": ""}, False, False, "refused unless allow_control_plane is set"),
    ({"node-role.kubernetes.io/master": ""}, False, False, "is a control-plane node"),
    ({"node-role.kubernetes.io/control-plane": ""}, True, True, "allow_control_plane allows"),
])
def test_control_plane_gate(labels, allow, passed, words):
    gate = gates.control_plane_gate(node(labels=labels), allow)
    assert gate["guard"] == "control_plane" and gate["passed"] is passed and words in gate["detail"]


@pytest.mark.parametrize("lease, holder, passed, words", [
    (FREE, "run-b", True, "is free for this run"),
    (view(holder="run-a", renewed=5), "run-b", False, "Another run is fencing node w2: its fence Lease is held by run-a, which took it 30 s ago"),
    (view(holder="run-b", renewed=5), "run-b", True, "is free for this run"),
    (view(holder="run-a", renewed=200), "run-b", True, "is stale (held by run-a"),
])
def test_lease_gate(lease, holder, passed, words):
    gate = gates.lease_gate("w2", lease, holder)
    assert gate["guard"] == "fence_lease" and gate["passed"] is passed and words in gate["detail"]


@pytest.mark.parametrize("views, passed, words", [
    ({}, True, "No other run is fencing"),
    ({"w1": view(holder="run-a")}, False, "Another run is fencing node w1 (its fence Lease is held by run-a"),
    ({"w1": view(holder="run-a", renewed=500)}, True, "No other run"),
    ({"w1": view(holder="run-b")}, True, "No other run"),
    ({"w2": view(holder="run-a")}, True, "No other run"),
])
def test_other_fence_gate(views, passed, words):
    gate = gates.other_fence_gate("w2", views, "run-b")
    assert gate["guard"] == "no_other_fence" and gate["passed"] is passed and words in gate["detail"]


@pytest.mark.parametrize("views, cooldown, passed, words", [
    ({}, 600, True, "No other node of this cluster has been fenced before"),
    ({"w1": view(holder=None, last_fence=100)}, 600, False, "Node w1 was fenced 100 s ago, less than the cooldown of 600 s"),
    ({"w1": view(holder=None, last_fence=100)}, 60, True, "(node w1) was 100 s ago (cooldown 60 s)"),
    ({"w1": view(holder=None, last_fence=900), "w3": view(holder=None, last_fence=30)}, 60, False, "Node w3 was fenced 30 s ago"),
    # The node's own last fence does not hold it back: a second run on a fenced node must stay a no-op.
    ({"w2": view(holder=None, last_fence=10)}, 600, True, "No other node"),
    ({"w1": view(holder=None, last_fence=10)}, 0, True, "cooldown 0 s"),
])
def test_cooldown_gate(views, cooldown, passed, words):
    gate = gates.cooldown_gate("w2", views, cooldown, NOW)
    assert gate["guard"] == "cooldown" and gate["passed"] is passed and words in gate["detail"]


def test_gates_come_in_the_reported_order():
    chain = gates.gates(node(), FREE, {}, "run-b", PARAMS, NOW)
    assert [g["guard"] for g in chain] == ["excluded", "paused", "control_plane", "cooldown", "fence_lease", "no_other_fence"]
    assert all(g["passed"] for g in chain)


@pytest.mark.parametrize("failed, busy", [
    ([], False),
    (["fence_lease"], True),
    (["fence_lease", "no_other_fence"], True),
    (["fence_lease", "excluded"], False),
    (["cooldown"], False),
])
def test_only_busy(failed, busy):
    assert gates.only_busy(failed) is busy
