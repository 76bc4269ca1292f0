# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy
import datetime

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _fence_lease as fence_lease
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)  # noqa: UP017 - matches the modules' style


def ago(seconds):
    return fence_lease.micro_time(NOW - datetime.timedelta(seconds=seconds))


def lease(holder="run-a", renewed=5, acquired=30, duration=120, version="3", transitions=0, annotations=None):
    spec = {"leaseDurationSeconds": duration, "leaseTransitions": transitions}
    if holder:
        spec.update(holderIdentity=holder, renewTime=ago(renewed), acquireTime=ago(acquired))
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "stateful-pets-fence-w2", "namespace": "default", "resourceVersion": version,
                         "annotations": dict({fence_lease.NODE_ANNOTATION: "w2"}, **(annotations or {}))},
            "spec": spec}


class FakeApi:
    """Leases as the API server keeps them: a create of an existing one and a stale replace answer 409."""

    def __init__(self, *leases, interfere=None):
        self.items = {item["metadata"]["name"]: copy.deepcopy(item) for item in leases}
        self.version = 10
        self.interfere = interfere  # called before a write, as another run writing first
        self.writes = []

    def find_lease(self, namespace, name):
        return copy.deepcopy(self.items.get(name))

    def list_leases(self, namespace, label_selector=None):
        assert label_selector == "stateful.pets/fence-lease=true"
        return [copy.deepcopy(item) for item in self.items.values()]

    def _store(self, body):
        self.version += 1
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(self.version)
        self.items[stored["metadata"]["name"]] = stored
        self.writes.append(copy.deepcopy(stored))
        return copy.deepcopy(stored)

    def create_lease(self, namespace, body):
        if self.interfere:
            self.interfere(self)
        if body["metadata"]["name"] in self.items:
            raise K8sError("Cannot create Lease default/stateful-pets-fence-w2: it already exists (409).", status=409)
        return self._store(body)

    def replace_lease(self, namespace, body):
        if self.interfere:
            self.interfere(self)
        current = self.items[body["metadata"]["name"]]
        if current["metadata"]["resourceVersion"] != body["metadata"]["resourceVersion"]:
            raise K8sError("Cannot update Lease default/stateful-pets-fence-w2: it changed on the server meanwhile (409).", status=409)
        return self._store(body)


def leases(api, holder="run-b", clock=lambda: NOW):
    return fence_lease.FenceLeases(api, "default", holder, 120, clock)


def test_lease_name_is_prefixed_and_stays_a_valid_name_for_long_nodes():
    assert fence_lease.lease_name("pets-worker2") == "stateful-pets-fence-pets-worker2"
    long_name = fence_lease.lease_name("n" * 253)
    assert len(long_name) == 253 and long_name != fence_lease.lease_name("n" * 252 + "m")


@pytest.mark.parametrize("existing, held, stale, holder", [
    (None, False, False, None),
    (lease(holder=None), False, False, None),
    (lease(renewed=5), True, False, "run-a"),
    (lease(renewed=119), True, False, "run-a"),
    (lease(renewed=121), False, True, "run-a"),
])
def test_lease_view_tells_free_held_and_stale(existing, held, stale, holder):
    view = fence_lease.lease_view(existing, NOW)
    assert (view["held"], view["stale"], view["holder"]) == (held, stale, holder)


def test_holder_text_names_the_holder_and_both_ages():
    view = fence_lease.lease_view(lease(renewed=5, acquired=30), NOW)
    assert fence_lease.holder_text(view) == "run-a, which took it 30 s ago and renewed it 5 s ago"


def test_acquire_creates_the_lease_with_holder_duration_and_labels():
    api = FakeApi()
    before = leases(api).acquire("w2")
    assert before["exists"] is False
    (written,) = api.writes
    assert written["metadata"]["name"] == "stateful-pets-fence-w2"
    assert written["metadata"]["labels"][fence_lease.FENCE_LEASE_LABEL] == "true"
    assert written["metadata"]["annotations"][fence_lease.NODE_ANNOTATION] == "w2"
    assert written["spec"]["holderIdentity"] == "run-b"
    assert written["spec"]["leaseDurationSeconds"] == 120
    assert written["spec"]["acquireTime"] == written["spec"]["renewTime"] == fence_lease.micro_time(NOW)


def test_a_lease_held_by_another_run_is_not_taken():
    api = FakeApi(lease(holder="run-a", renewed=5))
    with pytest.raises(fence_lease.LeaseBusy) as busy:
        leases(api).acquire("w2")
    assert busy.value.view["holder"] == "run-a"
    assert api.writes == []


def test_a_stale_lease_is_taken_over_and_the_transition_counted():
    api = FakeApi(lease(holder="run-a", renewed=200, transitions=2, annotations={fence_lease.LAST_FENCE_ANNOTATION: ago(500)}))
    before = leases(api).acquire("w2")
    assert before["stale"] is True and before["holder"] == "run-a"
    (written,) = api.writes
    assert written["spec"]["holderIdentity"] == "run-b"
    assert written["spec"]["leaseTransitions"] == 3
    # The record of the last fence stays on the Lease.
    assert written["metadata"]["annotations"][fence_lease.LAST_FENCE_ANNOTATION] == ago(500)


def test_a_free_lease_is_taken_without_a_transition():
    api = FakeApi(lease(holder=None, transitions=1))
    leases(api).acquire("w2")
    assert api.writes[0]["spec"]["leaseTransitions"] == 1


@pytest.mark.parametrize("existing", [None, lease(holder="run-a", renewed=500)])
def test_of_two_runs_racing_for_the_lease_the_second_writer_loses(existing):
    def other_run_wins(api):
        api.interfere = None
        if existing is None:
            api.create_lease("default", dict(lease(holder="run-a", renewed=0, acquired=0), metadata=dict(lease()["metadata"])))
        else:
            api.replace_lease("default", dict(lease(holder="run-a", renewed=0, acquired=0), metadata=dict(api.items["stateful-pets-fence-w2"]["metadata"])))

    api = FakeApi(*([existing] if existing else []), interfere=other_run_wins)
    with pytest.raises(fence_lease.LeaseBusy) as busy:
        leases(api).acquire("w2")
    assert busy.value.view["holder"] == "run-a"
    assert [w["spec"]["holderIdentity"] for w in api.writes] == ["run-a"]


def test_renew_records_the_last_fence_and_release_frees_the_lease_but_keeps_it():
    api = FakeApi()
    held = leases(api)
    held.acquire("w2")
    held.renew("w2", last_fence=True)
    assert api.writes[-1]["metadata"]["annotations"][fence_lease.LAST_FENCE_ANNOTATION] == fence_lease.micro_time(NOW)
    held.release("w2")
    released = api.items["stateful-pets-fence-w2"]
    assert "holderIdentity" not in released["spec"] and "renewTime" not in released["spec"]
    assert released["metadata"]["annotations"][fence_lease.LAST_FENCE_ANNOTATION] == fence_lease.micro_time(NOW)
    assert held.held == {}
    assert fence_lease.lease_view(released, NOW)["held"] is False


def test_keep_alive_renews_only_leases_a_third_of_their_duration_old():
    api = FakeApi()
    # The clock as the calls read it: three in acquire, then one look at 0 s, one at 30 s, and a look and a renewal at 41 s.
    times = iter([NOW] * 4 + [NOW + datetime.timedelta(seconds=30)] + [NOW + datetime.timedelta(seconds=41)] * 3)
    held = leases(api, clock=lambda: next(times))
    held.acquire("w2")
    held.keep_alive()
    held.keep_alive()
    assert len(api.writes) == 1
    held.keep_alive()
    assert len(api.writes) == 2
    assert api.writes[-1]["spec"]["renewTime"] == fence_lease.micro_time(NOW + datetime.timedelta(seconds=41))


def test_release_stale_frees_a_dead_runs_lease_and_refuses_a_live_one():
    api = FakeApi(lease(holder="run-a", renewed=500))
    assert leases(api).release_stale("w2") is True
    assert "holderIdentity" not in api.items["stateful-pets-fence-w2"]["spec"]
    assert leases(api).release_stale("w2") is False
    busy = FakeApi(lease(holder="run-a", renewed=3))
    with pytest.raises(fence_lease.LeaseBusy):
        leases(busy).release_stale("w2")


def test_read_all_maps_the_leases_to_their_nodes():
    api = FakeApi(lease())
    assert list(leases(api).read_all()) == ["w2"]
