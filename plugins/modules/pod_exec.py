#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pod_exec
short_description: Run a command in a container of a pod, as C(kubectl exec) does
version_added: 0.2.0
description:
  - Runs O(command) in a container of a pod through the API server's C(exec) subresource and returns its exit code and
    output, the way M(kubernetes.core.k8s_exec) does.
  - Like M(ansible.builtin.command), a command that exits with another code than V(0) fails the task (the result still
    holds RV(rc), RV(stdout) and RV(stderr)), and the task reports a change; use C(changed_when) and C(failed_when) to
    say otherwise.
  - A command that cannot start (no such executable, no such container) fails with the API server's reason.
  - A plain local task runs the module inside the controller process; any other task runs it as a module process, as
    the collection's C(docs/architecture.md) explains.
author:
  - stateful.pets contributors (@stateful-pets)
requirements:
  - kubernetes >= 24.2.0 (Python library)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - stateful.pets._attributes
  - stateful.pets._attributes.actiongroup_pets
attributes:
  check_mode:
    support: partial
    details:
      - The module cannot know what a command does, so in check mode it does not run it and reports the task as skipped.
        Set C(check_mode=false) on a task whose command only reads.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - It runs the command every time.
options:
  namespace:
    description: The pod's namespace.
    type: str
    required: true
  pod:
    description: The pod's name.
    type: str
    required: true
  container:
    description: The container to run the command in. Defaults to the pod's first container.
    type: str
  command:
    description:
      - The command, as a list of arguments, or as a string that is split like a shell splits words (no pipes, no
        redirections; use V(sh -c) for those).
    type: raw
    required: true
  timeout:
    description:
      - Seconds the command may run. A command still running then is left running and the task fails.
    type: int
    default: 60
seealso:
  - module: kubernetes.core.k8s_exec
    description: Runs a command in a pod, and does not fail on another exit code.
notes:
  - The identity needs C(get) on C(pods) (to find the first container) and C(create) on C(pods/exec).
"""

EXAMPLES = r"""
- name: Ask pet kubia-0 for its host name
  stateful.pets.pod_exec:
    namespace: pets
    pod: kubia-0
    command: [cat, /etc/hostname]
  register: pet_hostname
  changed_when: false

- name: Store a greeting in the pet's data directory, with a shell
  stateful.pets.pod_exec:
    namespace: pets
    pod: kubia-1
    container: kubia
    command:
      - sh
      - -c
      - printf '%s' "$1" > /var/data/greeting
      - sh
      - hello from Ansible
"""

RETURN = r"""
rc:
  description: The command's exit code.
  returned: when the command ran
  type: int
  sample: 0
stdout:
  description: What the command wrote to its standard output.
  returned: when the command ran
  type: str
  sample: kubia-0
stderr:
  description: What the command wrote to its standard error.
  returned: when the command ran
  type: str
  sample: ""
stdout_lines:
  description: RV(stdout) split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: [kubia-0]
stderr_lines:
  description: RV(stderr) split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: []
cmd:
  description: The command as the list of arguments that ran.
  returned: always
  type: list
  elements: str
  sample: [cat, /etc/hostname]
container:
  description: The container the command ran in.
  returned: when the command ran
  type: str
  sample: kubia
"""

import shlex  # noqa: E402 (imports follow the documentation blocks)

from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster, K8sError, ref  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module  # noqa: E402


def argument_spec():
    spec = dict(
        namespace=dict(type="str", required=True),
        pod=dict(type="str", required=True),
        container=dict(type="str"),
        command=dict(type="raw", required=True),
        timeout=dict(type="int", default=60),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def command_argv(command, where):
    """The command as a list of strings: a list as it is, a string split as a shell splits words."""
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise K8sError(f"Cannot run the command in pod {where}: it does not split into words ({exc}). Nothing was run.") from exc
    elif isinstance(command, list):
        argv = [str(part) for part in command]
    else:
        raise K8sError(f"Cannot run the command in pod {where}: command must be a list or a string, got {type(command).__name__}. Nothing was run.")
    if not argv:
        raise K8sError(f"Cannot run the command in pod {where}: command is empty. Nothing was run.")
    return argv


def first_container(cluster, namespace, name):
    pod = cluster.find_pod(namespace, name)
    if pod is None:
        raise K8sError(f"Pod {ref(namespace, name)} does not exist, so no command can run in it. Check the name and the namespace.", status=404)
    return pod["spec"]["containers"][0]["name"]


def run(params, check_mode, diff, reporter):
    """Run the command: the result dict, or K8sError (with the output when the command ran and failed)."""
    del diff, reporter  # one command, no steps
    where = ref(params["namespace"], params["pod"])
    argv = command_argv(params["command"], where)  # bad input fails before any connection is made
    if params["timeout"] <= 0:
        raise K8sError(f"Cannot run the command in pod {where}: timeout must be more than 0 seconds, got {params['timeout']}. Nothing was run.")
    if check_mode:
        return {"changed": False, "skipped": True, "cmd": argv, "msg": f"Check mode: the command was not run in pod {where}."}
    cluster = Cluster.from_params(params)
    container = params["container"] or first_container(cluster, params["namespace"], params["pod"])
    rc, stdout, stderr = cluster.exec_in_pod(params["namespace"], params["pod"], container, argv, params["timeout"])
    result = {"changed": True, "rc": rc, "stdout": stdout, "stderr": stderr, "stdout_lines": stdout.splitlines(),
              "stderr_lines": stderr.splitlines(), "cmd": argv, "container": container}
    if rc != 0:
        raise K8sError(f"The command in pod {where} (container {container}) exited with {rc}: {stderr.strip()[-500:] or 'no output on stderr'}",
                       details=result)
    return result


def main():
    run_as_module(argument_spec(), run)


if __name__ == "__main__":
    main()
