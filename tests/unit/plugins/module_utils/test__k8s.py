# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _k8s
from ansible_collections.stateful.pets.plugins.module_utils._k8s import Cluster, K8sError, api_error


def api_exception(status, reason=""):
    """The ApiException _k8s catches: the library's, or its stand-in where the library is missing."""
    exc = _k8s.ApiException()
    exc.status, exc.reason, exc.body = status, reason, None
    return exc


def cluster():
    instance = Cluster.__new__(Cluster)
    instance.core, instance.apps, instance.coordination = mock.Mock(), mock.Mock(), mock.Mock()
    instance.host = "https://127.0.0.1:6443"
    return instance


@pytest.mark.parametrize(
    "call, api, method",
    [
        (lambda c: c.find_pod("ns", "kubia-0"), "core", "read_namespaced_pod"),
        (lambda c: c.find_pvc("ns", "data-kubia-0"), "core", "read_namespaced_persistent_volume_claim"),
        (lambda c: c.get_node_lease("pets-worker"), "coordination", "read_namespaced_lease"),
    ],
)
def test_find_returns_none_on_404_and_the_object_otherwise(call, api, method):
    c = cluster()
    getattr(getattr(c, api), method).side_effect = api_exception(404)
    assert call(c) is None
    getattr(getattr(c, api), method).side_effect = None
    getattr(getattr(c, api), method).return_value = "object"
    assert call(c) == "object"


def test_namespace_exists():
    c = cluster()
    c.core.read_namespace.side_effect = api_exception(404)
    assert c.namespace_exists("gone") is False
    c.core.read_namespace.side_effect = None
    assert c.namespace_exists("here") is True


def test_find_raises_a_sentence_naming_the_object_on_other_errors():
    c = cluster()
    c.core.read_namespaced_pod.side_effect = api_exception(403, "Forbidden")
    with pytest.raises(K8sError) as err:
        c.find_pod("shop", "kubia-1")
    assert err.value.status == 403
    assert "Cannot get Pod shop/kubia-1" in err.value.msg
    assert "Grant the verb 'get' on the resource 'pods' (API group core)" in err.value.msg
    assert '{apiGroups: [""], resources: ["pods"], verbs: ["get"]}' in err.value.msg


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
    c = cluster()
    c.apps.read_namespaced_deployment.side_effect = api_exception(404)
    c.apps.read_namespaced_replica_set.return_value = "rs"
    assert c.find_workload_kind("ns", "web") == "ReplicaSet"


class Listed:
    """What the dynamic client returns: an object with to_dict()."""

    def __init__(self, data):
        self.data = data

    def to_dict(self):
        return self.data


def dynamic_cluster(namespaced):
    c = cluster()
    c.dynamic = mock.Mock()
    c.dynamic.resource.return_value = mock.Mock(namespaced=namespaced)
    return c


@pytest.mark.parametrize(
    "namespaced, namespace, scope",
    [(True, "pets", "pets"), (False, "pets", None), (False, None, None)],
)
def test_list_objects_lists_in_the_namespace_only_for_namespaced_kinds(namespaced, namespace, scope):
    c = dynamic_cluster(namespaced)
    c.dynamic.client.get.return_value = Listed({"items": [{"metadata": {"name": "a"}}]})
    assert c.list_objects("v1", "Node", namespace) == [{"metadata": {"name": "a"}}]
    assert c.dynamic.client.get.call_args.kwargs["namespace"] == scope


@pytest.mark.parametrize("found, expected", [(Listed({"metadata": {"name": "pets"}}), [{"metadata": {"name": "pets"}}]), (None, [])])
def test_list_objects_by_name_is_empty_when_the_object_is_missing(found, expected):
    c = dynamic_cluster(False)
    if found is None:
        c.dynamic.client.get.side_effect = api_exception(404)
    else:
        c.dynamic.client.get.return_value = found
    assert c.list_objects("v1", "Namespace", name="pets") == expected


def test_an_unknown_kind_names_the_kind_and_the_api_version():
    c = cluster()
    c.dynamic = mock.Mock()
    c.dynamic.resource.side_effect = LookupError("No matches found")
    with pytest.raises(K8sError, match="serves no kind Kennel in apiVersion pets.example.com/v1"):
        c.list_objects("pets.example.com/v1", "Kennel")


@pytest.mark.parametrize("dry_run, expected", [(True, {"dry_run": "All"}), (False, {})])
def test_server_side_apply_sends_the_field_manager_and_a_dry_run_only_in_check_mode(dry_run, expected):
    c = dynamic_cluster(True)
    c.dynamic.client.server_side_apply.return_value = Listed({"kind": "Service"})
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubia", "namespace": "pets"}}
    assert c.server_side_apply(obj, "stateful.pets", True, dry_run=dry_run) == {"kind": "Service"}
    kwargs = c.dynamic.client.server_side_apply.call_args.kwargs
    assert kwargs["field_manager"] == "stateful.pets" and kwargs["force_conflicts"] is True
    assert {k: v for k, v in kwargs.items() if k == "dry_run"} == expected


def test_an_apply_conflict_says_how_to_resolve_it():
    c = dynamic_cluster(True)
    c.dynamic.client.server_side_apply.side_effect = api_exception(409, "Conflict")
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "greeting", "namespace": "pets"}}
    with pytest.raises(K8sError, match="Cannot apply ConfigMap pets/greeting: another field manager owns a field .* force_conflicts"):
        c.server_side_apply(obj, "stateful.pets", False)


def test_a_kubeconfig_that_does_not_exist_is_named_before_any_client_is_built(tmp_path, monkeypatch):
    built = mock.Mock()
    monkeypatch.setattr(_k8s, "get_api_client", built, raising=False)
    monkeypatch.setattr(_k8s, "HAS_KUBERNETES", True)
    missing = str(tmp_path / "missing.kubeconfig")
    with pytest.raises(K8sError, match=f"The kubeconfig file {missing} does not exist"):
        Cluster.from_params({"kubeconfig": missing})
    built.assert_not_called()


class Response:
    """What the dynamic client returns with serialize=False: the raw response."""

    def __init__(self, data):
        self.data = data


@pytest.mark.parametrize(
    "call, kind, api_version, kwargs, body, expected",
    [
        (lambda c: c.get_statefulset("pets", "kubia"), "StatefulSet", "apps/v1", {"name": "kubia", "namespace": "pets"},
         b'{"kind": "StatefulSet"}', {"kind": "StatefulSet"}),
        (lambda c: c.list_pods("pets", label_selector="app=kubia"), "Pod", "v1",
         {"name": None, "namespace": "pets", "label_selector": "app=kubia"}, b'{"items": [{"metadata": {"name": "kubia-0"}}]}',
         [{"metadata": {"name": "kubia-0"}}]),
        (lambda c: c.list_pods(field_selector="spec.nodeName=pets-worker"), "Pod", "v1",
         {"name": None, "namespace": None, "field_selector": "spec.nodeName=pets-worker"}, b'{"items": []}', []),
        (lambda c: c.list_pvcs("pets"), "PersistentVolumeClaim", "v1", {"name": None, "namespace": "pets"}, b'{"items": []}', []),
    ],
)
def test_reads_come_as_json_through_the_dynamic_client_without_the_typed_api(call, kind, api_version, kwargs, body, expected):
    c = dynamic_cluster(True)
    c.dynamic.client.get.return_value = Response(body)
    assert call(c) == expected
    assert c.dynamic.resource.call_args.args == (kind, api_version)
    assert c.dynamic.client.get.call_args.kwargs == dict(kwargs, serialize=False)  # empty selectors are left out
    assert c.core.mock_calls == [] and c.apps.mock_calls == []


def test_a_failed_read_names_the_object():
    c = dynamic_cluster(True)
    c.dynamic.client.get.side_effect = api_exception(404)
    with pytest.raises(K8sError, match="Cannot get StatefulSet pets/kubia: it was not found") as err:
        c.get_statefulset("pets", "kubia")
    assert err.value.status == 404


class FakeWatch:
    """kubernetes.watch.Watch with canned events; remembers the keyword arguments of stream()."""

    def __init__(self, events=(), error=None):
        self.events, self.error, self.kwargs, self.stopped = list(events), error, None, False

    def stream(self, func, **kwargs):
        self.kwargs = kwargs
        yield from self.events
        if self.error is not None:
            raise self.error

    def stop(self):
        self.stopped = True


def watching(monkeypatch, watch):
    fake = mock.Mock()
    fake.watch.Watch.return_value = watch
    monkeypatch.setattr(_k8s, "kubernetes", fake, raising=False)
    return dynamic_cluster(True)


@pytest.mark.parametrize(
    "call, wanted",
    [
        (lambda c: c.watch_pods("pets", "app=kubia", 30), {"label_selector": "app=kubia"}),
        (lambda c: c.watch_named("StatefulSet", "pets", "kubia", 30), {"field_selector": "metadata.name=kubia"}),
        (lambda c: c.watch_named("Pod", "pets", "kubia-0", 30, resource_version="42"),
         {"field_selector": "metadata.name=kubia-0", "resource_version": "42"}),
    ],
)
def test_watches_yield_json_objects_and_ask_for_no_typed_models(monkeypatch, call, wanted):
    watch = FakeWatch([{"type": "ADDED", "object": {"metadata": {"name": "kubia-0"}}}])
    c = watching(monkeypatch, watch)
    assert list(call(c)) == [("ADDED", {"metadata": {"name": "kubia-0"}})]
    assert watch.kwargs == dict(wanted, namespace="pets", serialize=False, timeout_seconds=30, _request_timeout=35)
    assert watch.stopped


def test_a_failed_watch_names_what_it_watched(monkeypatch):
    c = watching(monkeypatch, FakeWatch(error=api_exception(403, "Forbidden")))
    with pytest.raises(K8sError, match="Cannot watch Pod objects in namespace pets: the API server refused it .* 'watch'"):
        list(c.watch_pods("pets", "app=kubia", 5))
