# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a stateful.pets module inside the controller when the task runs there anyway.

Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

A Kubernetes module spends about half a second starting Python and importing the kubernetes library before
its first request. With connection `local` the module would run on the controller anyway, so the action plugin
calls the module's run_module() in the worker process instead. The linear strategy imports each action plugin
in the parent process, so that import (and the kubernetes library with it) happens once per playbook run.
"""

from __future__ import annotations

import contextlib
import gc
import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.stateful.pets.plugins.module_utils._k8s import HAS_KUBERNETES, K8sError


def freeze_long_lived_objects():
    """Move every object alive now into the garbage collector's permanent generation.

    This runs once, when the controller first loads one of our action plugins: ansible-core and the kubernetes
    library are then imported, and they live until the process ends. The controller forks a worker per task without
    exec; Python's documentation recommends gc.freeze() before such forks, so that the workers' collections neither
    walk nor copy the parent's pages. The controller's own collections, and the last ones at exit, skip them too,
    which shortens every playbook that uses our modules. The cost: the few of these objects that later become
    cyclic garbage stay until the process ends.
    """
    gc.freeze()


freeze_long_lived_objects()


@contextlib.contextmanager
def task_environment(env):
    """os.environ with the task's `environment:` applied, as a module process would see it; restored afterwards."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update({key: str(value) for key, value in env.items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def can_run_in_process(transport, async_val, has_kubernetes):
    """Only a synchronous task on the controller itself, with the library importable here."""
    return transport == "local" and not async_val and has_kubernetes


def run_in_process(module, args, check_mode, diff):
    """Validate `args` like AnsibleModule does, then run the module; a result dict either way."""
    validated = ArgumentSpecValidator(module.argument_spec()).validate(args)
    if validated.error_messages:
        name = f"stateful.pets.{module.__name__.rpartition('.')[2]}"
        messages = [f"Unsupported parameters for ({name}) module: {error.msg}" if isinstance(error, UnsupportedError) else error.msg
                    for error in validated.errors.errors]
        return {"failed": True, "msg": " ".join(messages)}
    try:
        result = module.run_module(validated.validated_parameters, check_mode, diff)
    except K8sError as exc:
        result = dict(exc.details, failed=True, msg=exc.msg)
    # As AnsibleModule does: no value of a no_log option (a token, a password) may appear in the result. kubeconfig is
    # no_log because it may be an inline config with credentials; a file name is no secret, and errors must name it.
    no_log_values = set(validated._no_log_values)
    kubeconfig = validated.validated_parameters.get("kubeconfig")
    if isinstance(kubeconfig, str):
        no_log_values.discard(kubeconfig)
    return remove_values(result, no_log_values)


class InProcessModuleAction(ActionBase):
    """Base of the action plugins of modules that define argument_spec() and run_module(params, check_mode, diff)."""

    MODULE = None
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused, as in every action plugin since ansible-core 2.10
        if not can_run_in_process(self._connection.transport, self._task.async_val, HAS_KUBERNETES):
            # Exactly what the normal action plugin does.
            wrap_async = self._task.async_val and not self._connection.has_native_async
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        env = {}
        self._compute_environment_string(env)
        with task_environment(env):
            result.update(run_in_process(self.MODULE, dict(self._task.args), self._task.check_mode, self._task.diff))
        return result
