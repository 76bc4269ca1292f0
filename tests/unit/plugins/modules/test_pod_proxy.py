# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
from unittest import mock
from unittest.mock import MagicMock

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError, Urllib3HTTPError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.modules import pod_proxy

GREETING = b"You've hit kubia-1\nData stored on this pod: No data posted yet\n"


def ready_pod(name="kubia-1", ready="True"):
    return {
        "metadata": {"name": name, "namespace": "pets"},
        "spec": {"containers": [{"name": "kubia", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]},
    }


def fake_cluster(pod=None, answer=(200, {"Content-Type": "text/plain"}, GREETING)):
    cluster = MagicMock(name="Cluster")
    cluster.find_pod.return_value = pod
    cluster.proxy.return_value = answer
    return cluster


def params(**overrides):
    base = {
        "kind": "pod",
        "name": "kubia-1",
        "namespace": "pets",
        "port": None,
        "scheme": "http",
        "path": "",
        "query": None,
        "method": "GET",
        "body": None,
        "headers": {},
        "expected_status": None,
        "require_ready": True,
        "timeout": 30,
        "max_body_size": 1048576,
    }
    base.update(overrides)
    return base


def run(args, check_mode, cluster=None):
    """pod_proxy.run with Cluster.from_params giving `cluster`; the patched factory stays in run.factory."""
    with mock.patch.object(pod_proxy.Cluster, "from_params", return_value=cluster) as factory:
        run.factory = factory
        return pod_proxy.run(args, check_mode, False, Reporter())


def test_get_pod_by_port_name():
    cluster = fake_cluster(ready_pod())
    result = run(params(port="http"), False, cluster)
    cluster.proxy.assert_called_once_with("/api/v1/namespaces/pets/pods/kubia-1:8080/proxy/", "GET", None, {}, 30, 1048576)
    assert result == {
        "changed": False,
        "url": "/api/v1/namespaces/pets/pods/kubia-1:8080/proxy/",
        "status": 200,
        "body": GREETING.decode(),
        "json": None,
        "headers": {"Content-Type": "text/plain"},
    }


def test_post_to_service_sends_json_and_reports_change():
    cluster = fake_cluster(answer=(201, {"Content-Type": "application/json"}, b'{"stored": true}'))
    args = params(kind="service", name="kubia-public", port="80", method="POST", body={"a": 1}, expected_status=[201])
    result = run(args, False, cluster)
    cluster.find_pod.assert_not_called()
    cluster.proxy.assert_called_once_with(
        "/api/v1/namespaces/pets/services/kubia-public:80/proxy/", "POST", {"a": 1}, {"Content-Type": "application/json"}, 30, 1048576
    )
    assert result["changed"] is True
    assert result["json"] == {"stored": True}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_check_mode_does_not_send_writes(method):
    result = run(params(method=method, body="x"), True)
    run.factory.assert_not_called()
    assert result == {"changed": True, "url": "/api/v1/namespaces/pets/pods/kubia-1/proxy/", "msg": f"Check mode: the {method} request was not sent."}


def test_check_mode_still_sends_get():
    cluster = fake_cluster(ready_pod())
    result = run(params(), True, cluster)
    cluster.proxy.assert_called_once()
    assert result["changed"] is False
    assert result["status"] == 200


def test_check_mode_validates_before_skipping():
    with pytest.raises(K8sError) as err:
        run(params(method="POST", path="a?b"), True)
    assert err.value.details["failure"] == "invalid_request"


def test_pod_not_found_is_reported_before_sending():
    cluster = fake_cluster(None)
    with pytest.raises(K8sError) as err:
        run(params(), False, cluster)
    assert err.value.details["failure"] == "pod_not_found"
    assert err.value.msg == "Pod pets/kubia-1 was not found. Check the name and the namespace."
    cluster.proxy.assert_not_called()


def test_pod_not_ready_is_reported_before_sending():
    cluster = fake_cluster(ready_pod(ready="False"))
    with pytest.raises(K8sError) as err:
        run(params(), False, cluster)
    assert err.value.details["failure"] == "pod_not_ready"
    assert err.value.msg == (
        "Pod pets/kubia-1 is Running but its Ready condition is False. Wait for it to become Ready, or set require_ready=false to send anyway."
    )
    cluster.proxy.assert_not_called()


def test_require_ready_false_sends_to_unready_pod():
    cluster = fake_cluster(ready_pod(ready="False"))
    result = run(params(require_ready=False), False, cluster)
    assert result["status"] == 200


def test_api_server_503_from_the_proxy_means_not_ready_and_keeps_the_answer():
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "ServiceUnavailable", "code": 503,
              "message": "error trying to reach service: dial tcp 10.244.2.3:8080: connect: connection refused"}
    cluster = fake_cluster(ready_pod(), answer=(503, {"Content-Type": "application/json"}, json.dumps(status).encode()))
    with pytest.raises(K8sError) as err:
        run(params(), False, cluster)
    assert err.value.details["failure"] == "pod_not_ready"
    assert "connection refused" in err.value.msg
    assert err.value.details["status"] == 503
    assert err.value.details["json"] == status


def test_upstream_5xx():
    cluster = fake_cluster(ready_pod(), answer=(500, {"Content-Type": "text/plain"}, b"EIO writing /var/data/kubia.txt"))
    with pytest.raises(K8sError) as err:
        run(params(method="POST", body="x"), False, cluster)
    assert err.value.details["failure"] == "upstream_error"
    assert err.value.msg.endswith("EIO writing /var/data/kubia.txt")


def test_unexpected_status():
    cluster = fake_cluster(ready_pod(), answer=(404, {}, b"no such page"))
    with pytest.raises(K8sError) as err:
        run(params(path="missing", expected_status=[200]), False, cluster)
    assert err.value.details["failure"] == "unexpected_status"
    assert err.value.msg == "Pod pets/kubia-1 answered 404, expected 200: no such page"


def test_unknown_port_name_on_pod():
    cluster = fake_cluster(ready_pod())
    with pytest.raises(K8sError) as err:
        run(params(port="grpc"), False, cluster)
    assert "has no container port named 'grpc'" in err.value.msg
    cluster.proxy.assert_not_called()


def unreachable(msg):
    try:
        raise Urllib3HTTPError("Max retries exceeded with url: /version (Connection refused)")
    except Urllib3HTTPError as cause:
        try:
            raise K8sError(msg) from cause
        except K8sError as exc:
            return exc


@pytest.mark.parametrize(
    "exc, failure, needle",
    [
        (
            unreachable("Cannot reach the Kubernetes API server at https://x:6443: boom. Check..."),
            "api_unreachable",
            "Cannot reach the Kubernetes API server at https://x:6443",
        ),
        (unreachable("Cannot build a Kubernetes client from the connection options: boom"), "api_unreachable", "Cannot reach the Kubernetes API server: "),
        (K8sError("Cannot get Pod pets/kubia-1: the API server refused it (403).", status=403), "api_error", "refused it (403)"),
        (K8sError("Cannot build a Kubernetes client from the connection options: no kubeconfig"), "api_error", "no kubeconfig"),
    ],
)
def test_describe_k8s_error(exc, failure, needle):
    got_failure, msg = pod_proxy.describe_k8s_error(exc)
    assert got_failure == failure
    assert needle in msg


class Exit(Exception):
    pass


@pytest.fixture
def module_exits(mocker):
    def exit_json(self, **kwargs):
        raise Exit(dict(kwargs, failed=False))

    def fail_json(self, msg, **kwargs):
        raise Exit(dict(kwargs, msg=msg, failed=True))

    mocker.patch.object(basic.AnsibleModule, "exit_json", exit_json)
    mocker.patch.object(basic.AnsibleModule, "fail_json", fail_json)


def run_main(args, mocker, cluster):
    mocker.patch.object(pod_proxy.Cluster, "from_params", side_effect=cluster)
    with patch_module_args(args), pytest.raises(Exit) as done:
        pod_proxy.main()
    return done.value.args[0]


def test_main_success(module_exits, mocker):
    cluster = fake_cluster(ready_pod())
    result = run_main({"name": "kubia-1", "namespace": "pets", "port": 8080}, mocker, lambda p: cluster)
    assert result["failed"] is False
    assert result["status"] == 200
    assert result["url"] == "/api/v1/namespaces/pets/pods/kubia-1:8080/proxy/"


def test_main_unreachable(module_exits, mocker):
    def factory(p):
        raise unreachable("Cannot build a Kubernetes client from the connection options: refused")

    result = run_main({"name": "kubia-1", "namespace": "pets"}, mocker, factory)
    assert result["failed"] is True
    assert result["failure"] == "api_unreachable"
    assert result["msg"].startswith("Cannot reach the Kubernetes API server")


def test_main_failure_keeps_answer(module_exits, mocker):
    cluster = fake_cluster(ready_pod(), answer=(502, {}, b"bad gateway"))
    result = run_main({"name": "kubia-1", "namespace": "pets"}, mocker, lambda p: cluster)
    assert result["failed"] is True
    assert result["failure"] == "upstream_error"
    assert result["status"] == 502
    assert result["body"] == "bad gateway"


def test_main_check_mode_post_never_builds_a_client(module_exits, mocker):
    factory = MagicMock()
    result = run_main({"name": "kubia-1", "namespace": "pets", "method": "POST", "body": "x", "_ansible_check_mode": True}, mocker, factory)
    factory.assert_not_called()
    assert result["changed"] is True
    assert "status" not in result


def test_max_body_size_is_passed_on_and_checked_before_the_cluster_is_touched():
    cluster = fake_cluster(pod=ready_pod())
    run(params(max_body_size=10), False, cluster)
    assert cluster.proxy.call_args.args[-1] == 10
    with pytest.raises(K8sError) as err:
        run(params(max_body_size=0), False, cluster)
    assert err.value.details["failure"] == "invalid_request"
    assert run.factory.call_count == 0
