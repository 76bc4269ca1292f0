# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a stateful.pets module inside the controller when the task would run it on the controller anyway.

Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

A Kubernetes module spends about half a second starting Python and importing the kubernetes library before its first
request. When the task is a plain local task (connection local, no become, no async, the host's Python is the
controller's own), the action plugin calls the module's main() in the worker process instead, and the module's progress
lines reach the display while it runs. Any other task runs the ordinary module process. docs/architecture.md has the design.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.stateful.pets.plugins.module_utils._k8s import HAS_KUBERNETES, K8sError
from ansible_collections.stateful.pets.plugins.module_utils._module import keep_kubeconfig_name_readable, no_log_values, running_in_controller
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter

display = Display()

DISCOVERY_MODES = ("auto", "auto_legacy", "auto_silent", "auto_legacy_silent")


# The dispatcher -----------------------------------------------------------------------------------

def same_python(interpreter, controller_python):
    """True when `interpreter` is the controller's Python: the same program in the same virtual environment.

    Symlinks are followed only inside one environment: a venv's python links to the system's, which lacks the venv's
    libraries, so the two are different Pythons.
    """
    if not interpreter or not controller_python:
        return False

    def environment(path):
        # The environment is the directory above bin/ where the interpreter's name lives, found through any symlinked
        # directory (a worktree's .venv that links to a shared one is that same environment).
        path = os.path.abspath(os.path.expanduser(path))
        root = os.path.realpath(os.path.dirname(os.path.dirname(path)))
        return os.path.realpath(path), root if os.path.exists(os.path.join(root, "pyvenv.cfg")) else None

    return environment(interpreter) == environment(controller_python)


def module_process_reason(connection, become, async_seconds, interpreter, controller_python, kubernetes_importable, delegated_to=None):
    """Why the task must run the ordinary module process, or None when the module may run inside the controller."""
    where = f"the task is delegated to {delegated_to}, and " if delegated_to else "the task's "
    if connection != "local":
        return f"{where}connection is {connection}, not local"
    if become:
        return "the task uses become"
    if async_seconds:
        return "the task runs with async"
    if not interpreter:
        return f"{where}ansible_python_interpreter is not set, so Ansible would discover one"
    if not same_python(interpreter, controller_python):
        return f"{where}ansible_python_interpreter {interpreter} is not the controller's Python {controller_python}"
    if not kubernetes_importable:
        return "the controller's Python cannot import the kubernetes library"
    return None


# A module run inside the controller ---------------------------------------------------------------

class ControllerCall:
    """One module run inside the controller; run_as_module() calls execute(), which leaves the result in `result`.

    It does what AnsibleModule does for a module process, so that both results are the same: validate and default
    the arguments, fail on the first invalid one, return the warnings and `invocation`, and mask no_log values.
    """

    def __init__(self, module_name, args, check_mode, diff, reporter):
        self.module_name = module_name
        self.args = args
        self.check_mode = check_mode
        self.diff = diff
        self.reporter = reporter
        self.result = None

    def execute(self, argument_spec, run, ansible_module_kwargs):
        # In the controller the validator's own warnings (an option set with its alias) go to the task's warnings
        # through the display, as a module process's go through its result.
        validated = ModuleArgumentSpecValidator(argument_spec, **ansible_module_kwargs).validate(self.args)
        params = validated.validated_parameters
        masked = no_log_values(argument_spec, params)
        if validated.error_messages:
            # AnsibleModule fails in its constructor, before run_as_module can unmask a kubeconfig file name.
            msg = validated.errors.msg
            if isinstance(validated.errors.errors[0], UnsupportedError):
                msg = f"Unsupported parameters for ({self.module_name}) module: {msg}"
            self.result = self._formatted({"failed": True, "msg": msg}, params, masked)
            return
        keep_kubeconfig_name_readable(masked, params)
        try:
            result = self.reporter.add_to(run(params, self.check_mode, self.diff, self.reporter))
        except K8sError as exc:
            result = self.reporter.add_to(dict(exc.details, failed=True, msg=exc.msg))
        if self.reporter.warnings:
            result["warnings"] = list(self.reporter.warnings)
        self.result = self._formatted(result, params, masked)

    @staticmethod
    def _formatted(result, params, masked):
        """As AnsibleModule's exit_json and fail_json format a result: invocation added, the `masked` values hidden."""
        result.setdefault("invocation", {"module_args": params})
        preserved = {key: value for key, value in result.items() if value is None or isinstance(value, bool)}
        result = remove_values(result, masked)
        result.update(preserved)
        return result


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


# The action plugin --------------------------------------------------------------------------------

class InProcessModuleAction(ActionBase):
    """Base of the action plugins of the API-only modules: `MODULE` is the module, whose main() is run_as_module()."""

    MODULE = None
    _supports_async = True
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused, as in every action plugin since ansible-core 2.10
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname", "localhost")
        try:
            args, decrypted = self._resolve_kubeconfig(dict(self._task.args))
        except AnsibleError as exc:
            return dict(result, failed=True, msg=f"Cannot read the kubeconfig file {self._task.args.get('kubeconfig')}: {exc}")
        reason = self._module_process_reason(task_vars)
        try:
            if reason is None:
                display.vvv(f"{self._task.action} runs inside the controller process", host=host)
                result.update(self._run_in_controller(args, host))
            else:
                display.vvv(f"{self._task.action} runs as a module process: {reason}", host=host)
                result = merge_hash(result, self._run_module_process(args, task_vars))
                self._show_progress(host, result.get("progress") or [])
        finally:
            if not self._task.async_val:  # an async module may still be reading it; the controller's temp dir goes at exit
                for path in decrypted:
                    self._loader.cleanup_tmp_file(path)
        return result

    def _module_process_reason(self, task_vars):
        host_vars = task_vars
        if self._task.delegate_to:
            host_vars = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        return module_process_reason(
            connection=self._connection.transport,
            become=self._play_context.become,
            async_seconds=self._task.async_val,
            interpreter=self._python_interpreter(host_vars),
            controller_python=sys.executable,
            kubernetes_importable=HAS_KUBERNETES,
            delegated_to=self._task.delegate_to,
        )

    def _python_interpreter(self, host_vars):
        """The Python a module process would run with, or None when Ansible would have to discover it first."""
        configured = C.config.get_config_value("INTERPRETER_PYTHON", variables=host_vars)
        interpreter = self._templar.template(configured) if isinstance(configured, str) else None
        if not interpreter or interpreter in DISCOVERY_MODES:
            interpreter = (host_vars.get("ansible_facts") or {}).get("discovered_interpreter_python")
        return interpreter if isinstance(interpreter, str) and "{{" not in interpreter else None

    def _resolve_kubeconfig(self, args):
        """As kubernetes.core's action plugins do for a local connection: a kubeconfig path is looked up like any file of
        the play (a role's files/, the playbook's directory), and a vault-encrypted one is decrypted to a temporary file.

        Returns the arguments to run with and the temporary files to delete afterwards. A file that is not found is left
        as given, so that the module names it in its own message.
        """
        kubeconfig = args.get("kubeconfig")
        if self._connection.transport != "local" or not isinstance(kubeconfig, str) or not kubeconfig:
            return args, []
        paths, decrypted = [], []
        for path in kubeconfig.split(os.pathsep):
            try:
                found = self._find_needle("files", path)
            except AnsibleFileNotFound:
                paths.append(path)
                continue
            real = self._loader.get_real_file(found, decrypt=True)
            if real != found:
                decrypted.append(real)
            paths.append(real)
        return dict(args, kubeconfig=os.pathsep.join(paths)), decrypted

    def _run_in_controller(self, args, host):
        show = None if self._play_context.no_log else (lambda text: self._show_progress(host, [text]))
        call = ControllerCall(self._task.action, args, self._task.check_mode, self._task.diff, Reporter(on_progress=show))
        env = {}
        self._compute_environment_string(env)
        with task_environment(env), running_in_controller(call):
            self.MODULE.main()
        if call.result is None:
            raise AnsibleError(f"The main() of {self._task.action} did not call run_as_module(), so it cannot run inside the controller.")
        return call.result

    def _run_module_process(self, args, task_vars):
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _show_progress(self, host, lines):
        if self._play_context.no_log:
            return
        for text in lines:
            # stderr, as warnings go: the stdout of machine-readable callbacks (json, yaml) stays parseable.
            display.display(f"[{host}] {text}", stderr=True)
