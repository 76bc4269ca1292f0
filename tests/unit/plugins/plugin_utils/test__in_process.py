# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import gc
import os

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.plugin_utils._in_process import can_run_in_process, run_in_process, task_environment


class FakeModule:
    """A module with the two entry points the action plugins need."""

    __name__ = "ansible_collections.stateful.pets.plugins.modules.fake"

    def __init__(self, error=None):
        self.error = error
        self.calls = []

    @staticmethod
    def argument_spec():
        return {"name": {"type": "str", "required": True}, "wait": {"type": "bool", "default": False},
                "kubeconfig": {"type": "raw", "no_log": True, "fallback": (lambda: os.environ.get("FAKE_KUBECONFIG"),)},
                "api_key": {"type": "str", "no_log": True}}

    def run_module(self, params, check_mode, diff):
        self.calls.append((params, check_mode, diff))
        if self.error:
            raise self.error
        return {"changed": False, "seen": params}


@pytest.mark.parametrize(
    "transport, async_val, has_kubernetes, expected",
    [("local", 0, True, True), ("ssh", 0, True, False), ("local", 30, True, False), ("local", 0, False, False)],
)
def test_in_process_only_for_a_synchronous_local_task_with_the_library(transport, async_val, has_kubernetes, expected):
    assert can_run_in_process(transport, async_val, has_kubernetes) is expected


def test_arguments_are_validated_and_defaulted_like_a_module():
    module = FakeModule()
    result = run_in_process(module, {"name": "kubia", "wait": "yes"}, check_mode=True, diff=False)
    assert result["seen"]["wait"] is True
    assert module.calls[0][1:] == (True, False)


@pytest.mark.parametrize(
    "args, fragment",
    [({}, "missing required arguments: name"), ({"name": "kubia", "colour": "red"}, "Unsupported parameters for (stateful.pets.fake) module: colour")],
)
def test_bad_arguments_fail_without_running_the_module(args, fragment):
    module = FakeModule()
    result = run_in_process(module, args, check_mode=False, diff=False)
    assert result["failed"] is True and fragment in result["msg"]
    assert module.calls == []


def test_a_k8s_error_becomes_a_failed_result_with_its_details():
    error = K8sError("Cannot apply Service pets/kubia: it was not found.", status=404, details={"pets": []})
    result = run_in_process(FakeModule(error), {"name": "kubia"}, check_mode=False, diff=False)
    assert result == {"failed": True, "msg": error.msg, "pets": []}


def test_the_task_environment_applies_during_the_run_and_is_restored(monkeypatch):
    monkeypatch.delenv("FAKE_KUBECONFIG", raising=False)
    monkeypatch.setenv("FAKE_OTHER", "kept")
    with task_environment({"FAKE_KUBECONFIG": "/tmp/kc", "FAKE_OTHER": "changed"}):
        result = run_in_process(FakeModule(), {"name": "kubia"}, check_mode=False, diff=False)
    assert result["seen"]["kubeconfig"] == "/tmp/kc"
    assert "FAKE_KUBECONFIG" not in os.environ and os.environ["FAKE_OTHER"] == "kept"


def test_no_log_values_never_reach_the_result():
    error = K8sError("Cannot build a Kubernetes client: token s3cr3t-token was refused.")
    result = run_in_process(FakeModule(error), {"name": "kubia", "api_key": "s3cr3t-token"}, check_mode=False, diff=False)
    assert result["msg"] == "Cannot build a Kubernetes client: token ******** was refused."


@pytest.mark.parametrize(
    "kubeconfig, expected",
    [
        ("/tmp/missing.kubeconfig", "The kubeconfig file /tmp/missing.kubeconfig does not exist."),
        ({"users": [{"user": {"token": "inline-s3cr3t"}}]}, "The kubeconfig file ******** does not exist."),
    ],
)
def test_a_kubeconfig_file_name_stays_readable_but_an_inline_config_is_masked(kubeconfig, expected):
    secret = kubeconfig if isinstance(kubeconfig, str) else "inline-s3cr3t"
    error = K8sError(f"The kubeconfig file {secret} does not exist.")
    result = run_in_process(FakeModule(error), {"name": "kubia", "kubeconfig": kubeconfig}, check_mode=False, diff=False)
    assert result["msg"] == expected


def test_loading_the_plugin_util_froze_the_objects_alive_then():
    # The controller imports it once, with ansible-core and kubernetes; those objects must not be walked again.
    assert gc.get_freeze_count() > 0
