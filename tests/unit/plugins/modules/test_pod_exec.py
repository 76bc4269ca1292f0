# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.modules import pod_exec


def params(**overrides):
    base = {name: spec.get("default") for name, spec in pod_exec.argument_spec().items()}
    base.update(namespace="pets", pod="kubia-0", command="cat /etc/hostname")
    base.update(overrides)
    return base


def run(cluster, check_mode=False, **overrides):
    with mock.patch.object(pod_exec.Cluster, "from_params", return_value=cluster) as connect:
        run.connect = connect
        return pod_exec.run(params(**overrides), check_mode, False, Reporter())


def cluster_with(rc=0, stdout="kubia-0\n", stderr=""):
    cluster = mock.Mock()
    cluster.find_pod.return_value = {"spec": {"containers": [{"name": "kubia"}, {"name": "sidecar"}]}}
    cluster.exec_in_pod.return_value = (rc, stdout, stderr)
    return cluster


@pytest.mark.parametrize(
    "command, argv",
    [
        ("cat /etc/hostname", ["cat", "/etc/hostname"]),
        ("sh -c 'echo \"$1\"' sh 'two words'", ["sh", "-c", 'echo "$1"', "sh", "two words"]),
        (["printf", "%s", 42], ["printf", "%s", "42"]),
    ],
)
def test_the_command_runs_as_a_list_of_arguments_in_the_first_container(command, argv):
    cluster = cluster_with()
    result = run(cluster, command=command)
    cluster.exec_in_pod.assert_called_once_with("pets", "kubia-0", "kubia", argv, 60)
    assert result == {"changed": True, "rc": 0, "stdout": "kubia-0\n", "stderr": "", "stdout_lines": ["kubia-0"], "stderr_lines": [],
                      "cmd": argv, "container": "kubia"}


def test_a_named_container_needs_no_read_of_the_pod():
    cluster = cluster_with()
    run(cluster, container="sidecar")
    cluster.find_pod.assert_not_called()
    assert cluster.exec_in_pod.call_args.args[2] == "sidecar"


def test_another_exit_code_fails_with_the_output():
    cluster = cluster_with(rc=2, stdout="partial", stderr="cat: /nope: No such file or directory\n")
    with pytest.raises(K8sError) as err:
        run(cluster, command="cat /nope")
    assert err.value.msg == "The command in pod pets/kubia-0 (container kubia) exited with 2: cat: /nope: No such file or directory"
    assert (err.value.details["rc"], err.value.details["stdout"]) == (2, "partial")


def test_check_mode_runs_nothing_and_is_skipped():
    cluster = cluster_with()
    result = run(cluster, check_mode=True)
    assert result["skipped"] is True and result["changed"] is False
    run.connect.assert_not_called()
    cluster.exec_in_pod.assert_not_called()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"command": ""}, "command is empty"),
        ({"command": "sh -c 'unclosed"}, "it does not split into words"),
        ({"command": {"not": "a command"}}, "command must be a list or a string, got dict"),
        ({"timeout": 0}, "timeout must be more than 0 seconds"),
    ],
)
def test_bad_input_fails_before_connecting(overrides, message):
    with pytest.raises(K8sError, match=message):
        run(cluster_with(), **overrides)
    run.connect.assert_not_called()


def test_a_missing_pod_is_named():
    cluster = cluster_with()
    cluster.find_pod.return_value = None
    with pytest.raises(K8sError, match="Pod pets/kubia-0 does not exist, so no command can run in it"):
        run(cluster)


@pytest.mark.parametrize(
    "stderr, reason",
    [
        ("", "no output on stderr"),
        ("x" * 600 + "the end\n", "x" * 493 + "the end"),  # the last 500 characters, so a long trace still ends where it failed
    ],
)
def test_the_failure_message_ends_with_the_tail_of_stderr(stderr, reason):
    with pytest.raises(K8sError) as err:
        run(cluster_with(rc=1, stdout="", stderr=stderr))
    assert err.value.msg == f"The command in pod pets/kubia-0 (container kubia) exited with 1: {reason}"
    assert err.value.details["stderr_lines"] == stderr.splitlines()


def test_an_exec_error_reaches_main_unchanged():
    cluster = cluster_with()
    cluster.exec_in_pod.side_effect = K8sError("The command in pod pets/kubia-0 (container kubia) did not finish within 60 s, so it was left running.")
    with pytest.raises(K8sError, match="did not finish within 60 s"):
        run(cluster)
