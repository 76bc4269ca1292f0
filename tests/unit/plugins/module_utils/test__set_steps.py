# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _set_steps
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError


class WatchingCluster:
    """watch_named answers from a script: each call takes the next entry, a list of events or an error to raise."""

    def __init__(self, *script, events=None):
        self.script = list(script)
        self.calls = []
        self.events = events

    def watch_named(self, kind, namespace, name, timeout, resource_version=None):
        self.calls.append((kind, namespace, name, timeout, resource_version))
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        yield from answer

    def events_for(self, namespace, kind, name, limit=5):
        if isinstance(self.events, Exception):
            raise self.events
        return [f"Warning Seen: {kind} {name}"]


def watch(cluster, seconds_left=9.2, version="41"):
    return list(_set_steps.watch_named(cluster, "Pod", "pets", "kubia-0", seconds_left, version))


def test_an_expired_resource_version_watches_again_from_the_current_object():
    cluster = WatchingCluster(K8sError("Expired.", status=410), [("ADDED", {"n": 1})])
    assert watch(cluster) == [("ADDED", {"n": 1})]
    assert cluster.calls == [("Pod", "pets", "kubia-0", 10, "41"), ("Pod", "pets", "kubia-0", 10, None)]


@pytest.mark.parametrize(
    "error, version",
    [
        (K8sError("Forbidden.", status=403), "41"),
        (K8sError("Expired.", status=410), None),  # already from the current object: a second try would fail alike
    ],
)
def test_other_watch_errors_are_not_retried(error, version):
    cluster = WatchingCluster(error, [])
    with pytest.raises(K8sError, match=error.msg):
        watch(cluster, version=version)
    assert len(cluster.calls) == 1


@pytest.mark.parametrize("seconds_left, timeout", [(9.2, 10), (0.3, 1), (-2, 1)])
def test_the_watch_lasts_the_seconds_left_and_at_least_one(seconds_left, timeout):
    cluster = WatchingCluster([])
    watch(cluster, seconds_left=seconds_left)
    assert cluster.calls[0][3] == timeout


@pytest.mark.parametrize(
    "pod, events",
    [
        ("kubia-2", ["Warning Seen: Pod kubia-2"]),
        (None, ["Warning Seen: StatefulSet kubia"]),  # no pod to ask: the controller says why it made none
    ],
)
def test_a_stuck_step_is_explained_by_the_pod_else_by_the_statefulset(pod, events):
    assert _set_steps.stuck_step_events(WatchingCluster(), "pets", "kubia", pod) == events


def test_events_that_cannot_be_read_become_a_line_saying_why():
    cluster = WatchingCluster(events=K8sError("Cannot list Event objects: forbidden.", status=403))
    assert _set_steps.events_of(cluster, "pets", "Pod", "kubia-0") == ["(events could not be read: Cannot list Event objects: forbidden.)"]


@pytest.mark.parametrize(
    "when_no_events, expected",
    [
        ("", " Pod pets/kubia-1: not Ready; restarted 3 times. Last events: Warning Seen: Pod kubia-1. Pod pets/kubia-2: it does not exist."),
        (" No events.",
         " Pod pets/kubia-1: not Ready; restarted 3 times. Last events: Warning Seen: Pod kubia-1. Pod pets/kubia-2: it does not exist. No events."),
    ],
)
def test_each_unhealthy_pod_is_one_sentence_with_its_events(when_no_events, expected):
    unhealthy = _set_steps.with_events(WatchingCluster(), "pets", [("kubia-1", ["not Ready", "restarted 3 times"])])
    unhealthy.append(("kubia-2", ["it does not exist"], []))
    assert _set_steps.unhealthy_pods_text("pets", unhealthy, when_no_events) == expected
