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
