# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._predicates import (
    condition,
    controller_of,
    is_node_ready,
    is_running_ready,
    is_terminating,
    node_readiness,
    parse_time,
    ready_for,
    seconds_since,
)

NOW = datetime(2026, 11, 27, 12, 0, 10, tzinfo=timezone.utc)  # noqa: UP017


def pod(phase="Running", ready="True", since="2026-11-27T12:00:00Z", deleting=None):
    conditions = [{"type": "PodScheduled", "status": "True"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "lastTransitionTime": since})
    meta = {"name": "kubia-0"}
    if deleting:
        meta["deletionTimestamp"] = deleting
    return {"metadata": meta, "status": {"phase": phase, "conditions": conditions}}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-27T12:00:10Z", NOW),
        ("2026-11-27T12:00:10+00:00", NOW),
        ("2026-11-27T12:00:09.500000Z", NOW - timedelta(seconds=0.5)),
        (NOW, NOW),
        (None, None),
        ("", None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("stamp, expected", [("2026-11-27T12:00:00Z", 10.0), ("2026-11-27T12:00:30Z", 0.0), (None, None)])
def test_seconds_since_is_never_negative(stamp, expected):
    assert seconds_since(stamp, NOW) == expected


@pytest.mark.parametrize(
    "candidate, healthy, held",
    [
        (pod(), True, 10.0),
        (pod(ready="False"), False, None),
        (pod(phase="Pending", ready=None), False, None),
        (pod(phase="Pending"), False, None),
        (pod(deleting="2026-11-27T12:00:05Z"), False, None),
        (pod(since="2026-11-27T12:00:20Z"), True, 0.0),  # clock skew never gives a negative hold time
        (pod(since=None), True, 0.0),
    ],
)
def test_ready_predicates(candidate, healthy, held):
    assert is_running_ready(candidate) is healthy
    assert ready_for(candidate, NOW) == held


def test_condition_and_terminating():
    assert condition(pod(), "PodScheduled") == {"type": "PodScheduled", "status": "True"}
    assert condition(pod(), "Initialized") is None
    assert condition({"metadata": {}}, "Ready") is None
    assert is_terminating(pod(deleting="2026-11-27T12:00:05Z")) is True
    assert is_terminating({}) is False


@pytest.mark.parametrize(
    "conditions, expected, ready",
    [
        ([{"type": "Ready", "status": "True", "lastTransitionTime": "t0"}], ("True", "t0"), True),
        ([{"type": "Ready", "status": "Unknown", "lastTransitionTime": "t1"}], ("Unknown", "t1"), False),
        ([{"type": "Ready"}], ("Unknown", None), False),
        ([{"type": "MemoryPressure", "status": "False"}], ("Missing", None), False),
        (None, ("Missing", None), False),
    ],
)
def test_node_readiness(conditions, expected, ready):
    node = {"metadata": {"name": "w1"}, "status": {"conditions": conditions}}
    assert node_readiness(node) == expected
    assert is_node_ready(node) is ready


@pytest.mark.parametrize(
    "owners, expected",
    [
        ([{"kind": "ReplicaSet", "name": "a"}, {"kind": "StatefulSet", "name": "kubia", "controller": True}], "StatefulSet"),
        ([{"kind": "ReplicaSet", "name": "a", "controller": False}], None),
        (None, None),
    ],
)
def test_controller_of(owners, expected):
    owner = controller_of({"metadata": {"ownerReferences": owners}})
    assert (owner or {}).get("kind") == expected
