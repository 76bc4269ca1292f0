# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import sys
import types
from unittest import mock

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.template import Templar, trust_as_template

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module
from ansible_collections.stateful.pets.plugins.plugin_utils import _in_process
from ansible_collections.stateful.pets.plugins.plugin_utils._in_process import (
    ControllerCall,
    InProcessModuleAction,
    module_process_reason,
    same_python,
    task_environment,
)

CONTROLLER = sys.executable
PLAIN = dict(connection="local", become=False, async_seconds=0, interpreter=CONTROLLER, controller_python=CONTROLLER, kubernetes_importable=True)


@pytest.mark.parametrize(
    "change, reason",
    [
        ({}, None),
        ({"become": True}, "the task uses become"),
        ({"async_seconds": 30}, "the task runs with async"),
        ({"connection": "ssh"}, "the task's connection is ssh, not local"),
        ({"connection": "ssh", "interpreter": "/usr/bin/python3", "delegated_to": "db1"}, "the task is delegated to db1, and connection is ssh, not local"),
        ({"delegated_to": "localhost"}, None),
        ({"interpreter": "/usr/bin/python3"}, f"the task's ansible_python_interpreter /usr/bin/python3 is not the controller's Python {CONTROLLER}"),
        ({"interpreter": None}, "the task's ansible_python_interpreter is not set, so Ansible would discover one"),
        ({"kubernetes_importable": False}, "the controller's Python cannot import the kubernetes library"),
    ],
)
def test_the_dispatcher_runs_in_the_controller_only_a_plain_local_task(change, reason):
    assert module_process_reason(**dict(PLAIN, **change)) == reason


def test_same_python_is_the_same_program_in_the_same_environment(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    system = tmp_path / "usr" / "bin" / "python3.11"
    system.parent.mkdir(parents=True)
    system.write_text("")
    (venv / "bin" / "python3.11").symlink_to(system)
    (venv / "bin" / "python").symlink_to(venv / "bin" / "python3.11")
    (tmp_path / "usr" / "bin" / "python3").symlink_to(system)
    assert same_python(str(venv / "bin" / "python"), str(venv / "bin" / "python3.11")) is True
    # The venv's python links to the system's, which lacks the venv's libraries: another Python.
    assert same_python(str(tmp_path / "usr" / "bin" / "python3"), str(venv / "bin" / "python3.11")) is False
    assert same_python(None, str(system)) is False
    # A directory that links to the venv (a worktree's .venv) holds the same environment.
    (tmp_path / "worktree").mkdir()
    (tmp_path / "worktree" / ".venv").symlink_to(venv)
    assert same_python(str(tmp_path / "worktree" / ".venv" / "bin" / "python"), str(venv / "bin" / "python3.11")) is True


# ControllerCall: what AnsibleModule does, done in the controller ------------------------------------

def fake_run(result=None, error=None, warnings=(), lines=()):
    calls = []

    def run(params, check_mode, diff, reporter):
        calls.append((params, check_mode, diff))
        for text in warnings:
            reporter.warn(text)
        for text in lines:
            reporter.progress(text)
        if error:
            raise error
        return dict(result or {"changed": False})

    run.calls = calls
    return run


SPEC = {"name": {"type": "str", "required": True}, "wait": {"type": "bool", "default": False},
        "kubeconfig": {"type": "raw", "no_log": True}, "api_key": {"type": "str", "no_log": True}}


def execute(args, run, check_mode=False, diff=False, rules=None):
    reporter = _in_process.Reporter()
    call = ControllerCall("stateful.pets.fake", args, check_mode, diff, reporter)
    call.execute(SPEC, run, rules or {})
    return call.result


def test_arguments_are_validated_and_defaulted_like_a_module():
    run = fake_run()
    result = execute({"name": "kubia", "wait": "yes"}, run, check_mode=True)
    assert run.calls == [({"name": "kubia", "wait": True, "kubeconfig": None, "api_key": None}, True, False)]
    assert result["invocation"] == {"module_args": {"name": "kubia", "wait": True, "kubeconfig": None, "api_key": None}}


@pytest.mark.parametrize(
    "args, rules, msg",
    [
        ({}, {}, "missing required arguments: name"),
        ({"name": "kubia", "colour": "red"}, {}, "Unsupported parameters for (stateful.pets.fake) module: colour."),
        ({"name": "kubia", "wait": True, "api_key": "s3cr3t"}, {"mutually_exclusive": [("wait", "api_key")]},
         "parameters are mutually exclusive: wait|api_key"),
    ],
)
def test_bad_arguments_fail_without_running_the_module(args, rules, msg):
    run = fake_run()
    result = execute(args, run, rules=rules)
    assert result["failed"] is True and result["msg"].startswith(msg)
    assert run.calls == []


def test_a_k8s_error_is_a_failed_result_with_its_details_progress_and_warnings():
    error = K8sError("Cannot scale StatefulSet pets/kubia: refused.", status=403, details={"changed": True, "steps": [1]})
    result = execute({"name": "kubia"}, fake_run(error=error, warnings=["careful"], lines=["step 1"]))
    assert {k: v for k, v in result.items() if k != "invocation"} == {
        "failed": True, "msg": error.msg, "changed": True, "steps": [1], "progress": ["step 1"], "warnings": ["careful"]}


def test_no_log_values_are_masked_but_a_kubeconfig_file_name_is_not():
    run = fake_run({"changed": False, "msg": "token s3cr3t used with /tmp/kc", "ok": True})
    result = execute({"name": "kubia", "api_key": "s3cr3t", "kubeconfig": "/tmp/kc"}, run)
    assert result["msg"] == "token ******** used with /tmp/kc"
    assert result["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert result["invocation"]["module_args"]["kubeconfig"] == "/tmp/kc"
    assert result["ok"] is True


def test_an_inline_kubeconfig_is_masked():
    inline = {"users": [{"name": "admin", "user": {"token": "inline-s3cr3t"}}]}
    result = execute({"name": "kubia", "kubeconfig": inline}, fake_run({"msg": "token inline-s3cr3t"}))
    assert result["msg"] == "token ********"


def test_an_inline_kubeconfig_keeps_its_credentials_masked_but_not_its_names():
    inline = {"apiVersion": "v1", "kind": "Config", "current-context": "pets",
              "clusters": [{"name": "pets", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0EtZGF0YQ=="}}],
              "contexts": [{"name": "pets", "context": {"cluster": "pets", "user": "pets-ci", "namespace": "pets"}}],
              "users": [{"name": "pets-ci", "user": {"token": "inline-s3cr3t", "client-key-data": "a2V5"}}]}
    said = "node pets-worker of pets at https://127.0.0.1:6443 as pets-ci; token inline-s3cr3t, key a2V5, CA Q0EtZGF0YQ=="
    result = execute({"name": "kubia", "kubeconfig": inline}, fake_run({"msg": said}))
    assert result["msg"] == "node pets-worker of pets at https://127.0.0.1:6443 as pets-ci; token ********, key ********, CA ********"


def test_a_kubeconfig_name_that_is_also_a_credential_stays_masked():
    inline = {"clusters": [{"name": "s3cr3t", "cluster": {"server": "https://h"}}], "users": [{"name": "u", "user": {"token": "s3cr3t"}}]}
    result = execute({"name": "kubia", "kubeconfig": inline}, fake_run({"msg": "token s3cr3t"}))
    assert result["msg"] == "token ********"


def test_the_task_environment_applies_during_the_run_and_is_restored(monkeypatch):
    monkeypatch.delenv("FAKE_KUBECONFIG", raising=False)
    monkeypatch.setenv("FAKE_OTHER", "kept")
    with task_environment({"FAKE_KUBECONFIG": "/tmp/kc", "FAKE_OTHER": "changed"}):
        seen = (os.environ["FAKE_KUBECONFIG"], os.environ["FAKE_OTHER"])
    assert seen == ("/tmp/kc", "changed")
    assert "FAKE_KUBECONFIG" not in os.environ and os.environ["FAKE_OTHER"] == "kept"


# The action plugin ------------------------------------------------------------------------------

def fake_module(lines=()):
    """A module whose main() is run_as_module, like every API-only module."""
    module = types.SimpleNamespace(runs=[])

    def run(params, check_mode, diff, reporter):
        module.runs.append(params)
        for text in lines:
            reporter.progress(text)
        return {"changed": False, "seen": params["kubeconfig"]}

    module.main = lambda: run_as_module({"kubeconfig": {"type": "raw", "no_log": True}}, run)
    return module


def action(task_vars, args=None, become=False, transport="local", async_val=0, delegate_to=None, search_path=(), module=None, loader=None):
    task = mock.MagicMock(args=args or {}, action="stateful.pets.fake", async_val=async_val, check_mode=False, diff=False, delegate_to=delegate_to,
                          environment=None)
    task.get_search_path.return_value = list(search_path)
    connection = mock.MagicMock(transport=transport, has_native_async=False)
    connection._shell.tmpdir = None
    play_context = mock.MagicMock(become=become, no_log=False)
    loader = loader or DataLoader()
    plugin = type("ActionModule", (InProcessModuleAction,), {"MODULE": module or fake_module()})(
        task, connection, play_context, loader, Templar(loader=loader, variables=task_vars), None)
    plugin._execute_module = mock.MagicMock(return_value={"changed": False, "progress": ["from the module process"]})
    return plugin


LOCAL_HOST = {"inventory_hostname": "localhost", "ansible_playbook_python": CONTROLLER,
              "ansible_python_interpreter": trust_as_template("{{ ansible_playbook_python }}")}


@pytest.fixture
def shown(monkeypatch):
    lines = []
    monkeypatch.setattr(_in_process.display, "display", lambda msg, **kwargs: lines.append((msg, kwargs.get("stderr"))))
    monkeypatch.setattr(_in_process.display, "vvv", lambda msg, host=None: lines.append((msg, "vvv")))
    return lines


def test_a_plain_local_task_runs_in_the_controller_and_shows_each_line_as_it_comes(shown):
    module = fake_module(lines=["step 1", "step 2"])
    plugin = action(LOCAL_HOST, module=module)
    result = plugin.run(task_vars=LOCAL_HOST)
    plugin._execute_module.assert_not_called()
    assert len(module.runs) == 1
    assert result["progress"] == ["step 1", "step 2"]
    assert shown == [("stateful.pets.fake runs inside the controller process", "vvv"), ("[localhost] step 1", True), ("[localhost] step 2", True)]


@pytest.mark.parametrize(
    "task_vars, options, reason",
    [
        (LOCAL_HOST, {"become": True}, "the task uses become"),
        (LOCAL_HOST, {"async_val": 10}, "the task runs with async"),
        (dict(LOCAL_HOST, ansible_python_interpreter="/usr/bin/python3"), {},
         f"the task's ansible_python_interpreter /usr/bin/python3 is not the controller's Python {CONTROLLER}"),
        ({"inventory_hostname": "localhost", "ansible_playbook_python": CONTROLLER}, {},
         "the task's ansible_python_interpreter is not set, so Ansible would discover one"),
        (dict(LOCAL_HOST, ansible_delegated_vars={"db1": {"ansible_python_interpreter": "/usr/bin/python3"}}),
         {"delegate_to": "db1", "transport": "ssh"}, "the task is delegated to db1, and connection is ssh, not local"),
    ],
)
def test_any_other_task_runs_the_module_process_and_says_why_at_vvv(shown, task_vars, options, reason):
    module = fake_module()
    plugin = action(task_vars, module=module, **options)
    result = plugin.run(task_vars=task_vars)
    plugin._execute_module.assert_called_once()
    assert module.runs == []
    assert shown[0] == (f"stateful.pets.fake runs as a module process: {reason}", "vvv")
    # The module process's lines come with its result; they are shown then.
    assert shown[1:] == [("[localhost] from the module process", True)]
    assert result["progress"] == ["from the module process"]


def test_discovered_interpreter_counts_when_it_is_the_controllers(shown):
    task_vars = {"inventory_hostname": "localhost", "ansible_facts": {"discovered_interpreter_python": CONTROLLER}}
    plugin = action(task_vars)
    plugin.run(task_vars=task_vars)
    plugin._execute_module.assert_not_called()


def test_a_relative_kubeconfig_is_found_beside_the_playbook(tmp_path, shown):
    (tmp_path / "files").mkdir()
    kubeconfig = tmp_path / "files" / "pets.kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    module = fake_module()
    plugin = action(LOCAL_HOST, args={"kubeconfig": "pets.kubeconfig"}, search_path=[str(tmp_path)], module=module)
    result = plugin.run(task_vars=LOCAL_HOST)
    assert result["seen"] == str(kubeconfig)


def test_a_missing_kubeconfig_is_left_for_the_module_to_name(shown):
    module = fake_module()
    plugin = action(LOCAL_HOST, args={"kubeconfig": "nowhere.kubeconfig"}, module=module)
    assert plugin.run(task_vars=LOCAL_HOST)["seen"] == "nowhere.kubeconfig"


def test_a_vault_encrypted_kubeconfig_is_decrypted_for_the_run_and_removed_after(tmp_path, shown):
    secret = [("default", VaultSecret(b"pets-vault-password"))]
    plain = "apiVersion: v1\nkind: Config\nusers: []\n"
    encrypted = tmp_path / "pets.kubeconfig.vault"
    encrypted.write_bytes(VaultLib(secret).encrypt(plain))
    loader = DataLoader()
    loader.set_vault_secrets(secret)
    seen = {}

    def run(params, check_mode, diff, reporter):
        with open(params["kubeconfig"]) as handle:
            seen["content"] = handle.read()
        seen["path"] = params["kubeconfig"]
        return {"changed": False}

    module = types.SimpleNamespace(main=lambda: run_as_module({"kubeconfig": {"type": "raw", "no_log": True}}, run))
    plugin = action(LOCAL_HOST, args={"kubeconfig": str(encrypted)}, module=module, loader=loader)
    result = plugin.run(task_vars=LOCAL_HOST)
    assert result.get("failed") is not True
    assert seen["content"] == plain
    assert seen["path"] != str(encrypted)
    assert not os.path.exists(seen["path"])  # the decrypted copy is gone once the task is done


def test_a_vault_file_without_its_password_fails_naming_the_file(tmp_path, shown):
    encrypted = tmp_path / "pets.kubeconfig.vault"
    encrypted.write_bytes(VaultLib([("default", VaultSecret(b"pw"))]).encrypt("apiVersion: v1\n"))
    plugin = action(LOCAL_HOST, args={"kubeconfig": str(encrypted)})
    result = plugin.run(task_vars=LOCAL_HOST)
    assert result["failed"] is True
    assert result["msg"].startswith(f"Cannot read the kubeconfig file {encrypted}:")


def test_no_log_keeps_progress_off_the_screen(shown):
    plugin = action(LOCAL_HOST, module=fake_module(lines=["secret step"]))
    plugin._play_context.no_log = True
    plugin.run(task_vars=LOCAL_HOST)
    assert [line for line in shown if line[1] != "vvv"] == []
