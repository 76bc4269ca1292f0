# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
from unittest import mock

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _k8s
from ansible_collections.stateful.pets.plugins.module_utils._k8s import Cluster, K8sError, api_error


def api_exception(status, reason=""):
    """The ApiException _k8s catches: the library's, or its stand-in where the library is missing."""
    exc = _k8s.ApiException()
    exc.status, exc.reason, exc.body = status, reason, None
    return exc


class Response:
    """What the dynamic client's request() returns with serialize=False: the raw response."""

    def __init__(self, data):
        self.data = data


class FakeApi:
    """The API server at the HTTP layer: (method, path) -> JSON body, or an HTTP status that is raised."""

    def __init__(self, answers=None):
        self.answers = dict(answers or {})
        self.requests = []

    def request(self, method, path, body=None, serialize=True, **params):
        assert serialize is False, "the Cluster asks for raw JSON, never for model objects"
        self.requests.append((method, path, body, params))
        answer = self.answers.get((method, path), {})
        if isinstance(answer, int):
            raise api_exception(answer, "Forbidden" if answer == 403 else "")
        return Response(json.dumps(answer).encode())


def cluster(answers=None):
    instance = Cluster.__new__(Cluster)
    instance.dynamic = mock.Mock()
    instance.api = FakeApi(answers)
    instance.dynamic.client.request.side_effect = instance.api.request
    instance.host = "https://127.0.0.1:6443"
    return instance


@pytest.mark.parametrize(
    "call, method, path, params",
    [
        (lambda c: c.get_statefulset("pets", "kubia"), "get", "/apis/apps/v1/namespaces/pets/statefulsets/kubia", {}),
        (lambda c: c.get_pod("pets", "kubia-0"), "get", "/api/v1/namespaces/pets/pods/kubia-0", {}),
        (lambda c: c.get_node("w1"), "get", "/api/v1/nodes/w1", {}),
        (lambda c: c.get_node_lease("w1"), "get", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/w1", {}),
        (lambda c: c.list_nodes(), "get", "/api/v1/nodes", {}),
        (lambda c: c.list_pods("pets", label_selector="app=kubia"), "get", "/api/v1/namespaces/pets/pods", {"label_selector": "app=kubia"}),
        (lambda c: c.list_pods(field_selector="spec.nodeName=w1"), "get", "/api/v1/pods", {"field_selector": "spec.nodeName=w1"}),
        (lambda c: c.list_pvcs("pets"), "get", "/api/v1/namespaces/pets/persistentvolumeclaims", {}),
        (lambda c: c.patch_statefulset_replicas("pets", "kubia", 3), "patch", "/apis/apps/v1/namespaces/pets/statefulsets/kubia/scale",
         {"content_type": "application/merge-patch+json"}),
        (lambda c: c.patch_node("w1", {"spec": {"unschedulable": True}}), "patch", "/api/v1/nodes/w1",
         {"content_type": "application/strategic-merge-patch+json"}),
        (lambda c: c.force_delete_pod("pets", "kubia-0", "u0"), "delete", "/api/v1/namespaces/pets/pods/kubia-0", {"grace_period_seconds": 0}),
        (lambda c: c.create_event({"metadata": {"name": "kubia.1", "namespace": "pets"}}), "post", "/apis/events.k8s.io/v1/namespaces/pets/events", {}),
        (lambda c: c.list_controller_revisions("pets", label_selector="app=kubia"), "get", "/apis/apps/v1/namespaces/pets/controllerrevisions",
         {"label_selector": "app=kubia"}),
        (lambda c: c.json_patch_statefulset("pets", "kubia", []), "patch", "/apis/apps/v1/namespaces/pets/statefulsets/kubia",
         {"content_type": "application/json-patch+json"}),
        (lambda c: c.delete_pod_instance("pets", "kubia-2", "u2"), "delete", "/api/v1/namespaces/pets/pods/kubia-2", {}),
    ],
)
def test_each_call_is_one_request_to_the_object_path_without_discovery(call, method, path, params):
    c = cluster()
    call(c)
    ((sent_method, sent_path, _body, sent_params),) = c.api.requests
    assert (sent_method, sent_path, sent_params) == (method, path, params)  # empty selectors are left out
    c.dynamic.resource.assert_not_called()


def test_bodies_of_the_writes():
    c = cluster()
    c.patch_statefulset_replicas("pets", "kubia", 3)
    c.force_delete_pod("pets", "kubia-0", "u0")
    assert c.api.requests[0][2] == {"spec": {"replicas": 3}}
    assert c.api.requests[1][2] == {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "preconditions": {"uid": "u0"}}


def test_bodies_of_the_rollout_writes():
    c = cluster()
    operations = [{"op": "replace", "path": "/spec/template", "value": {"spec": {}}}]
    c.json_patch_statefulset("pets", "kubia", operations)
    c.delete_pod_instance("pets", "kubia-2", "u2")
    assert c.api.requests[0][2] == operations
    # The pod's own grace period: no gracePeriodSeconds, only the UID it must still have.
    assert c.api.requests[1][2] == {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": "u2"}}


def test_rollout_calls_name_the_object_when_refused():
    c = cluster({("get", "/apis/apps/v1/namespaces/pets/controllerrevisions"): 403,
                 ("delete", "/api/v1/namespaces/pets/pods/kubia-2"): 409})
    with pytest.raises(K8sError) as listed:
        c.list_controller_revisions("pets", label_selector="app=kubia")
    assert "Grant the verb 'list' on the resource 'controllerrevisions' (API group apps)" in listed.value.msg
    with pytest.raises(K8sError) as deleted:
        c.delete_pod_instance("pets", "kubia-2", "u2")
    assert deleted.value.status == 409 and "Cannot delete Pod pets/kubia-2" in deleted.value.msg


def test_answers_are_plain_dicts_and_list_items_carry_their_kind():
    c = cluster({("get", "/api/v1/namespaces/pets/pods"): {"kind": "PodList", "items": [{"metadata": {"name": "kubia-0"}}]},
                 ("get", "/apis/apps/v1/namespaces/pets/statefulsets/kubia"): {"kind": "StatefulSet", "metadata": {"name": "kubia"}}})
    assert c.list_pods("pets") == [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kubia-0"}}]
    assert c.get_statefulset("pets", "kubia") == {"kind": "StatefulSet", "metadata": {"name": "kubia"}}


@pytest.mark.parametrize(
    "call, path",
    [
        (lambda c: c.find_pod("ns", "kubia-0"), "/api/v1/namespaces/ns/pods/kubia-0"),
        (lambda c: c.find_pvc("ns", "data-kubia-0"), "/api/v1/namespaces/ns/persistentvolumeclaims/data-kubia-0"),
        (lambda c: c.get_node_lease("pets-worker"), "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/pets-worker"),
    ],
)
def test_find_returns_none_on_404_and_the_object_otherwise(call, path):
    assert call(cluster({("get", path): 404})) is None
    assert call(cluster({("get", path): {"metadata": {"name": "x"}}})) == {"metadata": {"name": "x"}}


def test_namespace_exists():
    assert cluster({("get", "/api/v1/namespaces/gone"): 404}).namespace_exists("gone") is False
    assert cluster().namespace_exists("here") is True


def test_find_raises_a_sentence_naming_the_object_on_other_errors():
    c = cluster({("get", "/api/v1/namespaces/shop/pods/kubia-1"): 403})
    with pytest.raises(K8sError) as err:
        c.find_pod("shop", "kubia-1")
    assert err.value.status == 403
    assert "Cannot get Pod shop/kubia-1" in err.value.msg
    assert "Grant the verb 'get' on the resource 'pods' (API group core)" in err.value.msg
    assert '{apiGroups: [""], resources: ["pods"], verbs: ["get"]}' in err.value.msg


def test_an_unreachable_server_is_named():
    c = cluster()
    c.dynamic.client.request.side_effect = _k8s.Urllib3HTTPError("Max retries exceeded (Connection refused)")
    with pytest.raises(K8sError, match="Cannot reach the Kubernetes API server at https://127.0.0.1:6443: Max retries exceeded"):
        c.list_nodes()


def test_events_for_gives_the_newest_events_as_sentences():
    items = [{"type": "Normal", "reason": "Pulled", "message": "b", "lastTimestamp": "2026-11-27T12:00:02Z"},
             {"type": "Warning", "reason": "BackOff", "message": "c", "eventTime": "2026-11-27T12:00:03.500000Z"},
             {"type": "Normal", "reason": "Scheduled", "message": "a", "metadata": {"creationTimestamp": "2026-11-27T12:00:01Z"}}]
    c = cluster({("get", "/api/v1/namespaces/pets/events"): {"items": items}})
    assert c.events_for("pets", "Pod", "kubia-0", limit=2) == ["Normal Pulled: b", "Warning BackOff: c"]
    assert c.api.requests[0][3] == {"field_selector": "involvedObject.kind=Pod,involvedObject.name=kubia-0"}


@pytest.mark.parametrize(
    ("kind", "body", "wanted"),
    [
        ("Node", None, "the resource 'nodes' (API group core)"),
        ("Lease", None, "the resource 'leases' (API group coordination.k8s.io)"),
        ("StatefulSet", None, "the resource 'statefulsets' (API group apps)"),
        # The server's Status names the resource, including subresources such as pods/proxy.
        ("Pod", '{"message": "forbidden", "details": {"name": "kubia-0", "kind": "pods/proxy"}}', "the resource 'pods/proxy' (API group core)"),
        ("StatefulSet", '{"details": {"group": "apps", "kind": "statefulsets/scale"}}', "the resource 'statefulsets/scale' (API group apps)"),
    ],
)
def test_forbidden_names_the_rbac_resource_and_group(kind, body, wanted):
    exc = api_exception(403, "Forbidden")
    exc.body = body
    err = api_error(exc, "patch", kind, "shop", "kubia-0")
    assert err.status == 403
    assert f"Grant the verb 'patch' on {wanted}" in err.msg


def test_find_workload_kind_names_the_first_kind_found():
    c = cluster({("get", "/apis/apps/v1/namespaces/ns/deployments/web"): 404})
    assert c.find_workload_kind("ns", "web") == "ReplicaSet"
    assert cluster({("get", f"/apis/apps/v1/namespaces/ns/{kind}/web"): 404 for kind in ("deployments", "replicasets", "daemonsets")}
                   ).find_workload_kind("ns", "web") is None


def dynamic_cluster(namespaced):
    """A cluster whose discovery finds a resource of the given scope; the discovered calls answer raw JSON."""
    c = cluster()
    c.dynamic.resource.return_value = mock.Mock(namespaced=namespaced)
    return c


@pytest.mark.parametrize(
    "namespaced, namespace, scope",
    [(True, "pets", "pets"), (False, "pets", None), (False, None, None)],
)
def test_list_objects_lists_in_the_namespace_only_for_namespaced_kinds(namespaced, namespace, scope):
    c = dynamic_cluster(namespaced)
    c.dynamic.client.get.return_value = Response(b'{"items": [{"metadata": {"name": "a"}}]}')
    assert c.list_objects("v1", "Node", namespace) == [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}}]
    assert c.dynamic.client.get.call_args.kwargs == {"namespace": scope, "serialize": False}


@pytest.mark.parametrize("found, expected", [(b'{"metadata": {"name": "pets"}}', [{"metadata": {"name": "pets"}}]), (None, [])])
def test_list_objects_by_name_is_empty_when_the_object_is_missing(found, expected):
    c = dynamic_cluster(False)
    if found is None:
        c.dynamic.client.get.side_effect = api_exception(404)
    else:
        c.dynamic.client.get.return_value = Response(found)
    assert c.list_objects("v1", "Namespace", name="pets") == expected


def test_an_unknown_kind_names_the_kind_and_the_api_version():
    c = cluster()
    c.dynamic.resource.side_effect = LookupError("No matches found")
    with pytest.raises(K8sError, match="serves no kind Kennel in apiVersion pets.example.com/v1"):
        c.list_objects("pets.example.com/v1", "Kennel")


@pytest.mark.parametrize("dry_run, expected", [(True, {"dry_run": "All"}), (False, {})])
def test_server_side_apply_sends_the_field_manager_and_a_dry_run_only_in_check_mode(dry_run, expected):
    c = dynamic_cluster(True)
    c.dynamic.client.server_side_apply.return_value = Response(b'{"kind": "Service"}')
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubia", "namespace": "pets"}}
    assert c.server_side_apply(obj, "stateful.pets", True, dry_run=dry_run) == {"kind": "Service"}
    kwargs = c.dynamic.client.server_side_apply.call_args.kwargs
    assert kwargs["field_manager"] == "stateful.pets" and kwargs["force_conflicts"] is True and kwargs["serialize"] is False
    assert {k: v for k, v in kwargs.items() if k == "dry_run"} == expected


def test_an_apply_conflict_says_how_to_resolve_it():
    c = dynamic_cluster(True)
    c.dynamic.client.server_side_apply.side_effect = api_exception(409, "Conflict")
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "greeting", "namespace": "pets"}}
    with pytest.raises(K8sError, match="Cannot apply ConfigMap pets/greeting: another field manager owns a field .* force_conflicts"):
        c.server_side_apply(obj, "stateful.pets", False)


@pytest.mark.parametrize(
    "params, environment, wanted",
    [
        ({"kubeconfig": "{missing}"}, None, "The kubeconfig file {missing} does not exist."),
        ({"kubeconfig": "{present}:{missing}"}, None, "The kubeconfig file {missing} does not exist."),
        ({}, "{missing}", "The kubeconfig file {missing} (from K8S_AUTH_KUBECONFIG) does not exist."),
    ],
)
def test_a_kubeconfig_that_does_not_exist_is_named_before_any_client_is_built(tmp_path, monkeypatch, params, environment, wanted):
    built = mock.Mock()
    monkeypatch.setattr(_k8s, "get_api_client", built, raising=False)
    monkeypatch.setattr(_k8s, "HAS_KUBERNETES", True)
    names = {"missing": str(tmp_path / "missing.kubeconfig"), "present": str(tmp_path / "present.kubeconfig")}
    (tmp_path / "present.kubeconfig").write_text("{}")
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    if environment:
        monkeypatch.setenv("K8S_AUTH_KUBECONFIG", environment.format(**names))
    with pytest.raises(K8sError) as err:
        Cluster.from_params({key: value.format(**names) for key, value in params.items()})
    assert err.value.msg.startswith(wanted.format(**names))
    built.assert_not_called()


class FakeWatch:
    """kubernetes.watch.Watch with canned events; remembers what stream() was asked for."""

    def __init__(self, events=(), error=None):
        self.events, self.error, self.func, self.kwargs, self.stopped = list(events), error, None, None, False

    def stream(self, func, **kwargs):
        self.func, self.kwargs = func, kwargs
        yield from self.events
        if self.error is not None:
            raise self.error

    def stop(self):
        self.stopped = True


def watching(monkeypatch, watch):
    fake = mock.Mock()
    fake.watch.Watch.return_value = watch
    monkeypatch.setattr(_k8s, "kubernetes", fake, raising=False)
    return cluster()


@pytest.mark.parametrize(
    "call, path, wanted",
    [
        (lambda c: c.watch_pods("pets", "app=kubia", 30), "/api/v1/namespaces/pets/pods", {"label_selector": "app=kubia"}),
        (lambda c: c.watch_named("StatefulSet", "pets", "kubia", 30), "/apis/apps/v1/namespaces/pets/statefulsets",
         {"field_selector": "metadata.name=kubia"}),
        (lambda c: c.watch_named("Pod", "pets", "kubia-0", 30, resource_version="42"), "/api/v1/namespaces/pets/pods",
         {"field_selector": "metadata.name=kubia-0", "resource_version": "42"}),
    ],
)
def test_watches_yield_json_objects_from_the_collection_path(monkeypatch, call, path, wanted):
    watch = FakeWatch([{"type": "ADDED", "object": {"metadata": {"name": "kubia-0"}}}])
    c = watching(monkeypatch, watch)
    assert list(call(c)) == [("ADDED", {"metadata": {"name": "kubia-0"}})]
    assert watch.func.args == ("get", path)
    assert watch.kwargs == dict(wanted, serialize=False, timeout_seconds=30, _request_timeout=35)
    assert watch.stopped


def test_a_failed_watch_names_what_it_watched(monkeypatch):
    c = watching(monkeypatch, FakeWatch(error=api_exception(403, "Forbidden")))
    with pytest.raises(K8sError, match="Cannot watch Pod objects in namespace pets: the API server refused it .* 'watch'"):
        list(c.watch_pods("pets", "app=kubia", 5))


@pytest.mark.parametrize(
    "status, code",
    [
        ('{"metadata": {}, "status": "Success"}', 0),
        ('{"status": "Failure", "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}', 3),
    ],
)
def test_the_exit_code_of_an_exec_comes_from_its_status_channel(status, code):
    assert _k8s.exit_code(status, "pets", "kubia-0", "kubia") == code


@pytest.mark.parametrize(
    "status, reason",
    [
        ('{"status": "Failure", "message": "exec: \\"nope\\": executable file not found in $PATH"}', r"exec: .nope.: executable file not found"),
        ('{"status": "Failure", "details": {"causes": [{"reason": "Other", "message": "3"}]}}', r'\{"status": "Failure"'),
        ("", "the API server sent no exit status"),
        ("not json", "not json"),
    ],
)
def test_a_command_that_cannot_start_is_an_error_naming_the_pod(status, reason):
    with pytest.raises(K8sError, match=r"Cannot run the command in pod pets/kubia-0 \(container kubia\): " + reason):
        _k8s.exit_code(status, "pets", "kubia-0", "kubia")


@pytest.mark.parametrize(
    "name, labels, fields, expected",
    [
        (None, "app=kubia", None, {"label_selector": "app=kubia"}),
        ("kubia-0", "app=kubia", "status.phase=Running", {"label_selector": "app=kubia", "field_selector": "metadata.name=kubia-0,status.phase=Running"}),
        (None, None, "spec.nodeName=w1", {"field_selector": "spec.nodeName=w1"}),
    ],
)
def test_list_objects_passes_the_selectors(name, labels, fields, expected):
    c = dynamic_cluster(True)
    c.dynamic.client.get.return_value = Response(b'{"items": []}')
    c.list_objects("v1", "Pod", "pets", name, label_selector=labels, field_selector=fields)
    assert c.dynamic.client.get.call_args.kwargs == dict(expected, namespace="pets", serialize=False)


@pytest.mark.parametrize(
    "kwargs, body",
    [
        ({}, {"apiVersion": "v1", "kind": "DeleteOptions"}),
        ({"dry_run": True, "grace_period": 0, "propagation_policy": "Foreground"},
         {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "propagationPolicy": "Foreground", "dryRun": ["All"]}),
    ],
)
def test_delete_object_sends_the_delete_options(kwargs, body):
    c = dynamic_cluster(True)
    c.dynamic.client.delete.return_value = Response(b'{"kind": "Pod"}')
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kubia-0", "namespace": "pets"}}
    assert c.delete_object(obj, **kwargs) == {"kind": "Pod"}
    assert c.dynamic.client.delete.call_args.kwargs == {"name": "kubia-0", "namespace": "pets", "body": body, "serialize": False}


@pytest.mark.parametrize(
    ("verb", "message", "wanted"),
    [
        # The server names the subresource that its Status details leave out.
        ("patch", 'statefulsets.apps "kubia" is forbidden: User "system:serviceaccount:ci:pets" cannot patch resource "statefulsets/scale" '
                  'in API group "apps" in the namespace "shop"', "Grant the verb 'patch' on the resource 'statefulsets/scale' (API group apps)"),
        # A server-side apply that creates the object needs create, not only patch.
        ("apply", 'services "kubia" is forbidden: User "system:serviceaccount:ci:pets" cannot create resource "services" in API group "" '
                  'in the namespace "shop"', "Grant the verb 'create' on the resource 'services' (API group core)"),
    ],
)
def test_forbidden_names_what_the_server_refused(verb, message, wanted):
    exc = api_exception(403, "Forbidden")
    exc.body = json.dumps({"message": message, "details": {"name": "kubia", "group": "apps", "kind": "statefulsets"}})
    err = api_error(exc, verb, "StatefulSet", "shop", "kubia")
    assert wanted in err.msg


class StreamedAnswer:
    """A urllib3 response read with preload_content=False."""

    def __init__(self, status, body, headers=None):
        self.status, self.body, self.headers = status, body, headers or {}
        self.released = False

    def stream(self, amount):
        for start in range(0, len(self.body), amount):
            yield self.body[start:start + amount]

    def release_conn(self):
        self.released = True


def proxy_cluster(answer):
    instance = Cluster.__new__(Cluster)
    instance.host = "https://127.0.0.1:6443"
    instance.api_client = mock.Mock()
    instance.api_client.param_serialize.side_effect = lambda method, path, header_params, auth_settings: (
        method, instance.host + path, dict(header_params, Authorization="Bearer t"), None, [])
    instance.api_client.rest_client.pool_manager.request.return_value = answer
    return instance


def test_proxy_sends_the_credentials_and_never_follows_a_redirect():
    answer = StreamedAnswer(302, b"", {"Location": "http://elsewhere.invalid/"})
    c = proxy_cluster(answer)
    assert c.proxy("/api/v1/namespaces/p/pods/a/proxy/", "POST", {"x": 1}, {"Content-Type": "application/json"}, 5) == (
        302, {"Location": "http://elsewhere.invalid/"}, b"")
    args, kwargs = c.api_client.rest_client.pool_manager.request.call_args
    assert args == ("POST", "https://127.0.0.1:6443/api/v1/namespaces/p/pods/a/proxy/")
    assert kwargs["redirect"] is False and kwargs["retries"] is False and kwargs["preload_content"] is False
    assert kwargs["headers"]["Authorization"] == "Bearer t"
    assert kwargs["body"] == b'{"x": 1}'
    assert answer.released


@pytest.mark.parametrize(("size", "cap", "fits"), [(10, 10, True), (11, 10, False), (200000, 150000, False), (200000, None, True)])
def test_proxy_reads_at_most_max_body_size_bytes(size, cap, fits):
    answer = StreamedAnswer(200, b"x" * size)
    c = proxy_cluster(answer)
    if fits:
        assert c.proxy("/p", max_body_size=cap)[2] == b"x" * size
    else:
        with pytest.raises(K8sError) as err:
            c.proxy("/p", max_body_size=cap)
        assert err.value.details == {"failure": "body_too_large"}
        assert f"longer than {cap} bytes" in err.value.msg
    assert answer.released
