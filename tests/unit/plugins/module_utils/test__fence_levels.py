# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _fence_levels as fence_levels

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)  # noqa: UP017 - matches the modules' style


def at(seconds):
    """NOW plus `seconds` (negative: before)."""
    return NOW + datetime.timedelta(seconds=seconds)


def stamp(seconds):
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node(ready="Unknown", heartbeat=-60):
    return {"metadata": {"name": "w2", "resourceVersion": "5"},
            "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": stamp(heartbeat)}]}}


def node_lease(renewed, version="9"):
    return {"metadata": {"name": "w2", "resourceVersion": version}, "spec": {"renewTime": stamp(renewed)}}


@pytest.mark.parametrize("levels, words", [
    ([], None),
    ([{"actions": [{"command": ["true"], "timeout": 5}]}], None),
    ([{"actions": []}], "Fence level 1 has no actions"),
    ([{"actions": [{"command": ["true"], "timeout": 5}]}, {"actions": [{"command": [], "timeout": 5}]}], "Action 1 of fence level 2 has no command"),
    ([{"actions": [{"command": ["true"], "timeout": 0}]}], "needs a timeout of at least 1 second, not 0"),
])
def test_invalid_levels(levels, words):
    problems = fence_levels.invalid_levels(levels)
    assert problems == [] if words is None else (len(problems) == 1 and words in problems[0])


def test_plan_names_each_level_and_fills_in_the_node():
    levels = [{"name": "bmc", "actions": [{"command": ["ipmitool", "-H", "bmc-{node}", "off"]}]},
              {"actions": [{"command": ["pdu", "{node}"]}, {"command": ["pdu", "check", "{node}"]}]}]
    assert fence_levels.plan(levels, "w2") == ["run fence level 1 (bmc): ipmitool -H bmc-w2 off", "run fence level 2: pdu w2; pdu check w2"]


@pytest.mark.parametrize("command, rc, timed_out, failure", [
    (["sh", "-c", "echo off $0", "{node}"], 0, False, None),
    (["sh", "-c", "echo no answer from $0 >&2; exit 3", "{node}"], 3, False,
     "'sh -c echo no answer from $0 >&2; exit 3 w2' exited with rc 3: no answer from w2"),
    (["sleep", "5"], None, True, "'sleep 5' did not finish within its timeout and was killed."),
    (["/nonexistent/fence-agent", "{node}"], 127, False, "'/nonexistent/fence-agent w2' exited with rc 127"),
])
def test_run_action_runs_the_real_command_with_its_timeout(command, rc, timed_out, failure):
    done = fence_levels.run_action(command, "w2", timeout=1)
    assert (done["rc"], done["timed_out"]) == (rc, timed_out)
    assert done["command"] == [part.replace("{node}", "w2") for part in command]
    found = fence_levels.action_failure(done)
    assert found == failure if failure is None or timed_out else found.startswith(failure)
    if rc == 0:
        assert done["stdout"] == "off w2"


@pytest.mark.parametrize("ready, heartbeat, renewed, expected", [
    ("Unknown", -5, -40, -40),          # Ready not True: its old heartbeat is the node controller's, not the node's
    ("True", -5, -40, -5),              # a Ready=True heartbeat is the kubelet speaking
    ("True", -50, -40, -40),
])
def test_last_sign_of_life(ready, heartbeat, renewed, expected):
    assert fence_levels.last_sign_of_life(node(ready, heartbeat), node_lease(renewed)) == at(expected)


def test_a_node_without_lease_or_ready_true_never_spoke():
    assert fence_levels.last_sign_of_life(node(), None) is None


@pytest.mark.parametrize("last, ended, now, state, words", [
    (-20, -1, 0, "silent", "has been silent for 20.0 s"),
    (-10.3, 0, 0, "wait", "silent for 10.3 s; waiting for 11 s"),   # docker stop: the Lease renewed as the node went down
    (-11, 0, 0, "silent", "at least the settle time of 11 s"),
    (0.5, 0, 1, "alive", "spoke 0.5 s after the fence actions ended"),
    (None, 0, 0, "silent", "silent for ever"),
])
def test_silence_verdict(last, ended, now, state, words):
    verdict, detail = fence_levels.silence_verdict("w2", None if last is None else at(last), at(ended), at(now), 11)
    assert verdict == state and words in detail


class WatchingCluster:
    """get_node, get_node_lease and a Lease watch that replays `events` and moves the clock to the watch's end."""

    def __init__(self, clock, leases, events=()):
        self.clock = clock
        self.leases = list(leases)
        self.events = list(events)
        self.watches = []

    def get_node(self, name):
        return node()

    def get_node_lease(self, name):
        return self.leases.pop(0) if len(self.leases) > 1 else self.leases[0]

    def watch_named(self, kind, namespace, name, timeout, resource_version=None):
        self.watches.append((kind, namespace, name, timeout, resource_version))
        for offset, lease in self.events:
            self.clock.now = at(offset)
            yield "MODIFIED", lease
        self.clock.now = self.clock.now + datetime.timedelta(seconds=timeout)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_verify_silence_waits_by_watch_for_the_rest_of_the_settle_time():
    clock = Clock(at(0))
    cluster = WatchingCluster(clock, [node_lease(-1.6)])
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        clock.now = clock.now + datetime.timedelta(seconds=seconds)

    silent, detail = fence_levels.verify_silence(cluster, "w2", at(0), 11, clock, sleep=sleep)
    # 9.4 s were left: a watch of 9 whole seconds, then the last 0.4 s asleep, then one more read.
    assert silent is True and "silent for 11.0 s" in detail
    assert cluster.watches == [("Lease", "kube-node-lease", "w2", 9, "9")]
    assert slept == [0.4]


def test_verify_silence_fails_at_once_when_the_lease_is_renewed_during_the_watch():
    clock = Clock(at(0))
    cluster = WatchingCluster(clock, [node_lease(-5)], events=[(2, node_lease(-5, "10")), (3, node_lease(2.9, "11"))])
    silent, detail = fence_levels.verify_silence(cluster, "w2", at(0), 11, clock)
    assert silent is False and "spoke 2.9 s after the fence actions ended" in detail


def test_verify_silence_passes_at_once_for_a_node_silent_long_before():
    clock = Clock(at(0))
    cluster = WatchingCluster(clock, [node_lease(-45)])
    assert fence_levels.verify_silence(cluster, "w2", at(0), 11, clock)[0] is True
    assert cluster.watches == []
