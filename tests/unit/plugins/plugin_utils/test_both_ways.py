# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every API-only module gives the same result in both ways of running: as a module process (AnsibleModule's real
exit_json and fail_json) and inside the controller (ControllerCall), for the same arguments and the same cluster."""

from __future__ import annotations

import datetime
import json
import pathlib
from unittest import mock

import pytest
import yaml
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.stateful.pets.plugins.module_utils import _fence_run as fence_run
from ansible_collections.stateful.pets.plugins.module_utils import _reporter
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._module import running_in_controller
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.modules import (
    apply,
    delete,
    node_fence,
    objects_info,
    pod_exec,
    pod_proxy,
    statefulset_info,
    statefulset_rollout,
    statefulset_scale,
)
from ansible_collections.stateful.pets.plugins.plugin_utils._in_process import ControllerCall

SECRET = "s3cr3t-token"
KUBECONFIG = "/etc/pets/admin.kubeconfig"
NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)  # noqa: UP017
# Connection options as a user sets them: a token (no_log) and a kubeconfig file name, which stays readable.
CONNECTION = {"api_key": SECRET, "kubeconfig": KUBECONFIG}
# Text the cluster answers with, holding both: the token must be masked and the file name kept.
LEAKY = f"token {SECRET} from {KUBECONFIG}"


def leaky_configmap():
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "greeting", "namespace": "pets"}, "data": {"hello": LEAKY}}


def statefulset(replicas=3, retention=None):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "kubia", "namespace": "pets", "uid": "u-sts", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "kubia"}}, "persistentVolumeClaimRetentionPolicy": retention,
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
            "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas}}


def pod(n, ready=True, node_name="w1"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"kubia-{n}", "namespace": "pets", "uid": f"u{n}",
                         "ownerReferences": [{"kind": "StatefulSet", "name": "kubia", "controller": True}]},
            "spec": {"nodeName": node_name, "containers": [{"name": "kubia", "ports": [{"name": "http", "containerPort": 8080}]}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": f"data-kubia-{n}"}}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "2026-11-27T11:00:00Z"}]}}


def node(name, ready="True"):
    since = (NOW - datetime.timedelta(seconds=120)).isoformat()
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": f"u-{name}", "resourceVersion": "7", "annotations": {}},
            "spec": {}, "status": {"conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": since}]}}


def fake_cluster(**surface):
    cluster = mock.MagicMock(name="Cluster")
    for name, value in surface.items():
        setattr(getattr(cluster, name), "side_effect" if callable(value) or isinstance(value, Exception) else "return_value", value)
    return cluster


def apply_cluster():
    return fake_cluster(read_object=None, server_side_apply=lambda obj, *args, **kwargs: leaky_configmap())


def refusing_scale_cluster():
    pods = [pod(0), pod(1, ready=False), pod(2)]
    return fake_cluster(namespace_exists=True, get_statefulset=statefulset(), list_pods=pods, events_for=[f"Warning Probe: {LEAKY}"])


def stored_lease(namespace, lease):
    return dict(lease, metadata=dict(lease["metadata"], resourceVersion="1"))


def fence_cluster():
    return fake_cluster(list_nodes=[node("cp"), node("w1"), node("w2", "Unknown")], get_node_lease={"spec": {"renewTime": "2026-11-27T11:00:00Z"}},
                        list_pods=lambda field_selector=None, **kw: [pod(1, node_name="w2")] if field_selector == "spec.nodeName=w2" else [],
                        find_lease=None, list_leases=[], create_lease=stored_lease, replace_lease=stored_lease, list_volume_attachments=[])


def rollout_cluster(ready_one=True):
    """Three pets on revision kubia-1, kubia-1 Ready or not."""
    sts = statefulset()
    sts["spec"]["template"] = {"metadata": {"labels": {"app": "kubia"}}, "spec": {"containers": [{"name": "kubia", "image": "pets/kubia:1.0.0"}]}}
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    sts["status"].update(currentRevision="kubia-1", updateRevision="kubia-1")
    pods = [pod(0), pod(1, ready=ready_one), pod(2)]
    for found in pods:
        found["metadata"]["labels"] = {"app": "kubia", "controller-revision-hash": "kubia-1"}
        found["metadata"]["ownerReferences"][0]["uid"] = "u-sts"
    return fake_cluster(get_statefulset=sts, list_pods=pods, list_controller_revisions=[], events_for=[f"Warning Probe: {LEAKY}"])


def unrecorded_fence_cluster():
    cluster = fence_cluster()
    cordoned = node("w2", "Unknown")
    # As the API server has it once cordoned and tainted: each force action reads the node live first.
    cordoned["spec"].update(unschedulable=True, taints=[{"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}])
    cluster.get_node.return_value = cordoned
    cluster.create_event.side_effect = K8sError(f"Cannot create Event: {LEAKY}.", status=403)
    return cluster


SCENARIOS = {
    "apply, a change in check mode with --diff": (apply, {"definition": leaky_configmap()}, True, True, apply_cluster),
    "apply, a definition without a name (fails before connecting)": (
        apply, {"definition": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}}, False, False, apply_cluster),
    "apply, an unsupported option": (apply, {"definition": {}, "colour": "red"}, False, False, apply_cluster),
    "objects_info, a read": (objects_info, {"kind": "ConfigMap", "namespace": "pets"}, False, False,
                             lambda: fake_cluster(list_objects=[leaky_configmap()])),
    "objects_info, a missing required option": (objects_info, {"namespace": "pets"}, False, False, fake_cluster),
    "statefulset_info, a report": (statefulset_info, {"name": "kubia", "namespace": "pets"}, False, False,
                                   lambda: fake_cluster(get_statefulset=statefulset(), list_pods=[pod(0), pod(1), pod(2)], list_pvcs=[])),
    "statefulset_info, an API error": (statefulset_info, {"name": "kubia", "namespace": "pets"}, False, False,
                                       lambda: fake_cluster(get_statefulset=K8sError(f"Cannot get StatefulSet pets/kubia: {LEAKY}.", status=403))),
    "statefulset_scale, a plan with a warning in check mode": (
        statefulset_scale, {"name": "kubia", "namespace": "pets", "replicas": 1}, True, True,
        lambda: fake_cluster(namespace_exists=True, get_statefulset=statefulset(retention={"whenScaled": "Delete"}),
                             list_pods=[pod(0), pod(1), pod(2)], find_pvc=None, list_pvcs=[])),
    "statefulset_scale, a refusal with the partial result": (
        statefulset_scale, {"name": "kubia", "namespace": "pets", "replicas": 1}, False, False, refusing_scale_cluster),
    "statefulset_rollout, a plan with a warning in check mode with --diff": (
        statefulset_rollout, {"name": "kubia", "namespace": "pets", "image": "pets/kubia:1.1.0", "allow_unhealthy": True}, True, True,
        lambda: rollout_cluster(ready_one=False)),
    "statefulset_rollout, a refusal with the partial result": (
        statefulset_rollout, {"name": "kubia", "namespace": "pets", "image": "pets/kubia:1.1.0"}, False, False,
        lambda: rollout_cluster(ready_one=False)),
    "statefulset_rollout, image and images together": (
        statefulset_rollout, {"name": "kubia", "namespace": "pets", "image": "pets/kubia:1.1.0", "images": {"kubia": "pets/kubia:1.1.0"}},
        False, False, rollout_cluster),
    "node_fence, a fence in check mode with --diff": (node_fence, {"fenced_confirmed": True}, True, True, fence_cluster),
    "node_fence, bad options": (node_fence, {"max_nodes": 0}, False, False, fence_cluster),
    "node_fence, a fence whose Events cannot be recorded": (node_fence, {"fenced_confirmed": True}, False, False, unrecorded_fence_cluster),
    "pod_proxy, a GET": (pod_proxy, {"name": "kubia-1", "namespace": "pets", "port": "http"}, False, False,
                         lambda: fake_cluster(find_pod=pod(1), proxy=(200, {"Content-Type": "text/plain"}, LEAKY.encode()))),
    "pod_proxy, an upstream error keeps the answer": (
        pod_proxy, {"name": "kubia-1", "namespace": "pets"}, False, False,
        lambda: fake_cluster(find_pod=pod(1), proxy=(503, {"Content-Type": "text/plain"}, LEAKY.encode()))),
    "delete, a delete in check mode with --diff": (
        delete, {"kind": "Pod", "name": "kubia-1", "namespace": "pets"}, True, True, lambda: fake_cluster(read_object=pod(1))),
    "delete, a refused delete": (delete, {"kind": "Pod", "name": "kubia-1", "namespace": "pets"}, False, False,
                                 lambda: fake_cluster(read_object=pod(1), delete_object=K8sError(f"Cannot delete Pod pets/kubia-1: {LEAKY}.", status=403))),
    "pod_exec, a command": (pod_exec, {"namespace": "pets", "pod": "kubia-1", "command": ["cat", "/etc/hostname"]}, False, False,
                            lambda: fake_cluster(find_pod=pod(1), exec_in_pod=(0, LEAKY, ""))),
    "pod_exec, a command that fails": (pod_exec, {"namespace": "pets", "pod": "kubia-1", "command": "false"}, False, False,
                                       lambda: fake_cluster(find_pod=pod(1), exec_in_pod=(1, "", LEAKY))),
}


@pytest.fixture(autouse=True)
def steady(monkeypatch):
    """The same run id and clock in both runs, so that the results can be compared whole."""
    monkeypatch.setattr(_reporter, "new_run_id", lambda: "run12345")
    monkeypatch.setattr(fence_run, "now", lambda: NOW)
    monkeypatch.setattr(module_warnings, "_global_warnings", {})  # a module process starts with none


def as_module_process(module, args, check_mode, diff, cluster, capsys):
    """The module's main() in a module process: AnsibleModule's own JSON on stdout."""
    name = f"stateful.pets.{module.__name__.rpartition('.')[2]}"
    with (
        # A real module process is no controller: its warnings go into its result, not to a display.
        mock.patch.object(module_utils_internal, "is_controller", False),
        patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_module_name=name)),
        mock.patch.object(module.Cluster, "from_params", return_value=cluster),
        pytest.raises(SystemExit),
    ):
        module.main()
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    if "warnings" in result:  # the module sends structured warnings; the controller turns both forms into the same ones
        result["warnings"] = [warning["event"]["msg"] for warning in result["warnings"]]
    return result


def in_controller(module, args, check_mode, diff, cluster):
    """The module's main() inside the controller, as the action plugin runs it."""
    call = ControllerCall(f"stateful.pets.{module.__name__.rpartition('.')[2]}", args, check_mode, diff, Reporter())
    with mock.patch.object(module.Cluster, "from_params", return_value=cluster), running_in_controller(call):
        module.main()
    return json.loads(json.dumps(call.result))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_both_ways_give_the_same_result(scenario, capsys):
    module, args, check_mode, diff, make_cluster = SCENARIOS[scenario]
    args = dict(args, **CONNECTION)
    process = as_module_process(module, args, check_mode, diff, make_cluster(), capsys)
    controller = in_controller(module, args, check_mode, diff, make_cluster())
    assert controller == process
    # Both show what they should: the invocation, the file name, and never the token.
    text = json.dumps(controller)
    assert "invocation" in controller
    assert SECRET not in text
    assert controller["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    # AnsibleModule rejects bad options before the module can unmask the kubeconfig file name; then both mask it.
    rejected = controller.get("msg", "").startswith(("Unsupported parameters", "missing required arguments", "parameters are mutually exclusive"))
    assert controller["invocation"]["module_args"]["kubeconfig"] == ("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" if rejected else KUBECONFIG)


def test_the_matrix_covers_every_module_with_a_success_and_a_failure():
    covered = {}
    for module, *_rest in SCENARIOS.values():
        covered[module.__name__] = covered.get(module.__name__, 0) + 1
    # Every module of the action group, which is every API-only module (meta/runtime.yml).
    runtime = yaml.safe_load((pathlib.Path(__file__).parents[4] / "meta" / "runtime.yml").read_text())
    assert set(covered) == {f"ansible_collections.stateful.pets.plugins.modules.{name}" for name in runtime["action_groups"]["pets"]}
    assert all(count >= 2 for count in covered.values())


@pytest.mark.parametrize(
    "scenario, key, expected",
    [
        ("statefulset_scale, a plan with a warning in check mode", "warnings", 1),
        ("statefulset_scale, a plan with a warning in check mode", "progress", 1),
        ("node_fence, a fence whose Events cannot be recorded", "warnings", 3),
        ("statefulset_scale, a refusal with the partial result", "replicas_after", 3),
        ("statefulset_rollout, a plan with a warning in check mode with --diff", "steps", 3),
        ("statefulset_rollout, a plan with a warning in check mode with --diff", "warnings", 1),
        ("statefulset_rollout, a refusal with the partial result", "msg", "Refusing to roll out StatefulSet pets/kubia"),
        ("statefulset_rollout, image and images together", "msg", "parameters are mutually exclusive: image|images"),
        ("pod_proxy, an upstream error keeps the answer", "status", 503),
        ("apply, an unsupported option", "msg", "Unsupported parameters for (stateful.pets.apply) module: colour."),
    ],
)
def test_the_compared_results_hold_what_the_scenario_is_about(scenario, key, expected, capsys):
    # A guard against a matrix that compares two empty results: each scenario really produced its case.
    module, args, check_mode, diff, make_cluster = SCENARIOS[scenario]
    result = in_controller(module, dict(args, **CONNECTION), check_mode, diff, make_cluster())
    value = result[key]
    assert (len(value) if isinstance(value, list) else value) == expected or (isinstance(value, str) and value.startswith(expected))
