# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from datetime import datetime, timezone
from unittest import mock

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._events import build_event, record_event
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter

NOW = datetime(2026, 11, 27, 12, 0, 0, 250000, tzinfo=timezone.utc)  # noqa: UP017
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kubia-1", "namespace": "pets", "uid": "u1", "resourceVersion": "9"}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "pets-worker2", "uid": "n2"}}


def test_an_event_is_an_events_k8s_io_event_about_the_object():
    event = build_event(POD, "NodeFenced", "ForceDelete", "Force-deleted pod pets/kubia-1.", "Warning", "run12345", NOW, "stateful.pets-host")
    assert event == {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": f"kubia-1.{int(NOW.timestamp() * 1e9):x}", "namespace": "pets", "labels": {"stateful.pets/run": "run12345"}},
        "eventTime": "2026-11-27T12:00:00.250000Z",
        "reportingController": "stateful.pets",
        "reportingInstance": "stateful.pets-host",
        "action": "ForceDelete",
        "reason": "NodeFenced",
        "type": "Warning",
        "note": "Force-deleted pod pets/kubia-1. (stateful.pets run run12345)",
        "regarding": {"apiVersion": "v1", "kind": "Pod", "name": "kubia-1", "namespace": "pets", "uid": "u1"},
    }


def test_an_event_about_a_node_lives_in_the_default_namespace():
    event = build_event(NODE, "NodeUnreachable", "Cordon", "Cordoned.", "Warning", "run12345", NOW, "i")
    assert event["metadata"]["namespace"] == "default"
    assert event["regarding"] == {"apiVersion": "v1", "kind": "Node", "name": "pets-worker2", "uid": "n2"}


def test_a_long_note_is_cut_to_what_the_api_server_accepts():
    event = build_event(POD, "R", "A", "x" * 2000, "Normal", "run12345", NOW, "i")
    assert len(event["note"]) == 1024 and event["note"].endswith("...")


def test_record_event_writes_through_the_cluster_with_the_run_id():
    cluster = mock.Mock()
    reporter = Reporter(run_id="abcd0123")
    record_event(cluster, reporter, POD, "NodeFenced", "ForceDelete", "Gone.", "Warning")
    (event,) = cluster.create_event.call_args.args
    assert event["note"] == "Gone. (stateful.pets run abcd0123)"
    assert event["reportingInstance"].startswith("stateful.pets-")
    assert reporter.warnings == []


@pytest.mark.parametrize("regarding, what", [(POD, "Pod pets/kubia-1"), (NODE, "Node pets-worker2")])
def test_an_event_that_cannot_be_written_becomes_a_warning(regarding, what):
    cluster = mock.Mock()
    cluster.create_event.side_effect = K8sError("Cannot create Event: forbidden (403).", status=403)
    reporter = Reporter()
    record_event(cluster, reporter, regarding, "R", "A", "Note.")
    assert reporter.warnings == [f"Could not record the Event R on {what}, which is otherwise done: Cannot create Event: forbidden (403)."]
