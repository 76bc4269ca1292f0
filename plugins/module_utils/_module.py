# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one main() body of every stateful.pets module that only talks to the Kubernetes API.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

A module defines `argument_spec()` and `run(params, check_mode, diff, reporter)`, which returns the result dict or
raises K8sError, and its main() is `run_as_module(argument_spec(), run)`. In a module process that builds an
AnsibleModule. When the controller runs the module in its own process (see plugins/plugin_utils/_in_process.py), it
calls the same main() inside `running_in_controller(call)`, and run_as_module hands the spec and run over to `call`.
"""

from __future__ import annotations

import contextlib
import contextvars

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.collections import is_iterable
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter

_CONTROLLER_CALL = contextvars.ContextVar("stateful_pets_controller_call", default=None)


@contextlib.contextmanager
def running_in_controller(call):
    """While active, run_as_module() calls `call.execute(argument_spec, run, ansible_module_kwargs)` instead of exiting."""
    token = _CONTROLLER_CALL.set(call)
    try:
        yield call
    finally:
        _CONTROLLER_CALL.reset(token)


def run_as_module(argument_spec, run, **ansible_module_kwargs):
    """Validate the arguments, call `run`, and return its result (or the K8sError's message and details) to Ansible."""
    call = _CONTROLLER_CALL.get()
    if call is not None:
        call.execute(argument_spec, run, ansible_module_kwargs)
        return
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **ansible_module_kwargs)
    # module.no_log_values is AnsibleModule's public set of values it masks in the result.
    keep_kubeconfig_name_readable(module.no_log_values, module.params)
    reporter = Reporter()
    try:
        result = run(module.params, module.check_mode, module._diff, reporter)
    except K8sError as exc:
        _warn_all(module, reporter)
        module.fail_json(msg=exc.msg, **reporter.add_to(dict(exc.details)))
    _warn_all(module, reporter)
    module.exit_json(**reporter.add_to(result))


def _warn_all(module, reporter):
    # AnsibleModule masks no_log values in the result but not in its warnings; ours are masked in both ways of running.
    for text in reporter.warnings:
        module.warn(remove_values(text, module.no_log_values))


def keep_kubeconfig_name_readable(no_log_values, params):
    """Unmask a kubeconfig given as a file name: kubeconfig is no_log because it may be an inline config with
    credentials, but a file name is no secret, and errors must be able to name it. Both ways of running apply this.

    Of an inline kubeconfig only the names and the server stay readable (every other leaf stays masked): masked, a
    cluster named like its nodes ("pets", nodes "pets-worker") would turn every node name in a result into
    "********-worker", and a role that writes what it read (a volume pinned to its node) would write that."""
    kubeconfig = params.get("kubeconfig")
    if isinstance(kubeconfig, str):
        no_log_values.discard(kubeconfig)
    elif isinstance(kubeconfig, dict):
        no_log_values.difference_update(_kubeconfig_names(kubeconfig) - _kubeconfig_secrets(kubeconfig))


def _kubeconfig_names(kubeconfig):
    """The leaves of a kubeconfig that name things or say where the API server is; the others may be credentials."""
    names = {kubeconfig.get("current-context"), kubeconfig.get("kind"), kubeconfig.get("apiVersion")}
    for section in ("clusters", "contexts", "users"):
        names.update(item.get("name") for item in kubeconfig.get(section) or [] if isinstance(item, dict))
    for item in kubeconfig.get("clusters") or []:
        names.add(((item or {}).get("cluster") or {}).get("server") if isinstance(item, dict) else None)
    for item in kubeconfig.get("contexts") or []:
        context = ((item or {}).get("context") or {}) if isinstance(item, dict) else {}
        names.update(context.get(field) for field in ("cluster", "user", "namespace"))
    return {name for name in names if isinstance(name, str) and name}


def _kubeconfig_secrets(kubeconfig):
    """Every leaf of the users' entries and of the clusters' other fields: a name equal to one stays masked."""
    secrets = set()
    for item in kubeconfig.get("users") or []:
        if isinstance(item, dict):
            secrets.update(_leaf_values(item.get("user") or {}))
    for item in kubeconfig.get("clusters") or []:
        if isinstance(item, dict) and isinstance(item.get("cluster"), dict):
            secrets.update(_leaf_values({key: value for key, value in item["cluster"].items() if key != "server"}))
    return secrets


def no_log_values(argument_spec, params):
    """The values of the no_log options in `params` (leaf values of structures too), as AnsibleModule collects them."""
    found = set()
    for name, spec in argument_spec.items():
        value = params.get(name)
        if spec.get("no_log") and value:
            found.update(_leaf_values(value))
        if spec.get("options") and value:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    found.update(no_log_values(spec["options"], item))
    return found


def _leaf_values(value):
    if isinstance(value, (str, bytes)):
        return {value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")} if value else set()
    if isinstance(value, dict):
        return set().union(*(_leaf_values(item) for item in value.values())) if value else set()
    if is_iterable(value):
        return set().union(*(_leaf_values(item) for item in value)) if value else set()
    if value is None or isinstance(value, bool):
        return set()
    return {str(value)}
