# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.modules import delete
from ansible_collections.stateful.pets.plugins.modules.delete import Deleter


def pod(uid="u0", finalizers=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kubia-0", "namespace": "pets", "uid": uid, "finalizers": finalizers}}


def params(**overrides):
    base = {name: spec.get("default") for name, spec in delete.argument_spec().items()}
    base.update(kind="Pod", name="kubia-0", namespace="pets")
    base.update(overrides)
    return base


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


def deleter(cluster, check_mode=False, reporter=None, **overrides):
    clock = Clock()
    return Deleter(cluster, params(**overrides), check_mode, reporter or Reporter(run_id="run12345"), clock=clock, sleep=clock.sleep)


def test_a_pod_is_deleted_and_the_delete_is_an_event_on_it():
    cluster = mock.Mock()
    cluster.read_object.return_value = pod()
    result = deleter(cluster, grace_period=0).run()
    assert result["changed"] is True
    assert result["deleted"] == {"kind": "Pod", "api_version": "v1", "namespace": "pets", "name": "kubia-0", "uid": "u0"}
    cluster.delete_object.assert_called_once_with(pod(), dry_run=False, grace_period=0, propagation_policy=None)
    (event,) = cluster.create_event.call_args.args
    assert (event["action"], event["reason"], event["regarding"]["uid"]) == ("Delete", "Deleted", "u0")
    assert event["note"] == "Deleted Pod pets/kubia-0 (UID u0). (stateful.pets run run12345)"


def test_check_mode_is_a_server_side_dry_run_and_records_no_event():
    cluster = mock.Mock()
    cluster.read_object.return_value = pod()
    result = deleter(cluster, check_mode=True, wait=True).run()
    assert result["changed"] is True
    assert cluster.delete_object.call_args.kwargs["dry_run"] is True
    cluster.create_event.assert_not_called()
    assert cluster.read_object.call_count == 1  # no wait in check mode


def test_a_missing_object_is_no_change():
    cluster = mock.Mock()
    cluster.read_object.return_value = None
    result = deleter(cluster).run()
    assert (result["changed"], result["deleted"]) == (False, None)
    cluster.delete_object.assert_not_called()


def test_an_object_gone_meanwhile_is_fine():
    cluster = mock.Mock()
    cluster.read_object.return_value = pod()
    cluster.delete_object.side_effect = K8sError("Cannot delete Pod pets/kubia-0: it was not found.", status=404)
    assert deleter(cluster).run()["changed"] is True


def test_other_kinds_record_no_event():
    cluster = mock.Mock()
    cluster.read_object.return_value = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "pets", "uid": "x"}}
    deleter(cluster, kind="ConfigMap", name="c").run()
    cluster.create_event.assert_not_called()


def test_wait_until_gone_or_replaced_by_a_new_instance():
    cluster = mock.Mock()
    cluster.read_object.side_effect = [pod(), pod(), pod(), pod(uid="u1")]  # the StatefulSet made a new kubia-0
    reporter = Reporter()
    result = deleter(cluster, reporter=reporter, wait=True).run()
    assert result["waited"] == 1.0
    assert reporter.progress_lines == ["Pod pets/kubia-0 is gone after 1.0 s."]


def test_wait_times_out_naming_the_finalizers():
    cluster = mock.Mock()
    cluster.read_object.return_value = pod(finalizers=["example.com/hold"])
    with pytest.raises(K8sError, match=r"Pod pets/kubia-0 was deleted but is still there after 3 s \(finalizers: example.com/hold\)"):
        deleter(cluster, wait=True, wait_timeout=3).run()


def test_an_event_that_cannot_be_recorded_is_a_warning():
    cluster = mock.Mock()
    cluster.read_object.return_value = pod()
    cluster.create_event.side_effect = K8sError("Cannot create Event: forbidden (403).", status=403)
    reporter = Reporter()
    deleter(cluster, reporter=reporter).run()
    assert reporter.warnings == ["Could not record the Event Deleted on Pod pets/kubia-0, which is otherwise done: Cannot create Event: forbidden (403)."]


def test_a_wait_timeout_of_zero_is_refused_before_connecting():
    with mock.patch.object(delete.Cluster, "from_params") as connect, pytest.raises(K8sError, match="wait_timeout must be more than 0"):
        delete.run(params(wait=True, wait_timeout=0), False, False, Reporter())
    connect.assert_not_called()


@pytest.mark.parametrize(
    "found, diff, expected",
    [
        (pod(), True, {"before": {"kind": "Pod", "api_version": "v1", "namespace": "pets", "name": "kubia-0", "uid": "u0"}, "after": {}}),
        (None, True, {"before": {}, "after": {}}),
        (pod(), False, None),
    ],
)
def test_the_diff_is_the_object_before_and_nothing_after_only_when_asked(found, diff, expected):
    cluster = mock.Mock()
    cluster.read_object.return_value = found
    with mock.patch.object(delete.Cluster, "from_params", return_value=cluster):
        result = delete.run(params(), False, diff, Reporter())
    assert result.get("diff") == expected


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_delete_options_are_passed_on(check_mode):
    cluster = mock.Mock()
    cluster.read_object.return_value = pod()
    deleter(cluster, check_mode=check_mode, grace_period=30, propagation_policy="Foreground").run()
    cluster.delete_object.assert_called_once_with(pod(), dry_run=check_mode, grace_period=30, propagation_policy="Foreground")


def test_a_refused_delete_fails_and_records_nothing():
    cluster = mock.Mock()
    cluster.read_object.return_value = pod()
    cluster.delete_object.side_effect = K8sError("Cannot delete Pod pets/kubia-0: forbidden (403).", status=403)
    with pytest.raises(K8sError, match="forbidden"):
        deleter(cluster, wait=True).run()
    cluster.create_event.assert_not_called()
    assert cluster.read_object.call_count == 1
