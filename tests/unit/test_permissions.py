# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""docs/permissions.md is the table of the access role's rules, and the request reader of access_actions reads requests
as the API server's authorizer does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


permissions_doc = _load("permissions_doc", "tests/utils/permissions_doc.py")
rbac_calls = _load("rbac_calls", "tests/integration/targets/access_actions/files/rbac_calls.py")
RULES = yaml.safe_load((ROOT / "roles" / "access" / "vars" / "main.yml").read_text(encoding="utf-8"))["__access_rules"]


def test_the_permissions_doc_is_the_table_of_the_roles_rules():
    assert (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8") == permissions_doc.expected()


def test_every_action_of_the_role_is_in_its_argument_spec():
    spec = yaml.safe_load((ROOT / "roles" / "access" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    assert sorted(RULES) == sorted(spec["argument_specs"]["main"]["options"]["access_actions"]["choices"])


@pytest.mark.parametrize("action", sorted(RULES))
def test_every_rule_says_why_and_stays_in_its_scope(action):
    for part in ("namespaced", "cluster"):
        for rule in RULES[action][part]:
            assert rule["why"] and set(rule) == {"apiGroups", "resources", "verbs", "why"}
    cluster_scoped = {"nodes", "persistentvolumes", "volumeattachments"}
    namespaced = {resource for rule in RULES[action]["namespaced"] for resource in rule["resources"]}
    assert not namespaced & cluster_scoped


@pytest.mark.parametrize(
    ("method", "url", "wanted"),
    [
        ("GET", "https://h:6443/api/v1/namespaces/shop/pods/kubia-0", [("", "pods", "shop", "kubia-0", "get")]),
        ("GET", "https://h:6443/api/v1/namespaces/shop/pods?labelSelector=app%3Dkubia", [("", "pods", "shop", None, "list")]),
        ("GET", "https://h:6443/api/v1/namespaces/shop/pods?fieldSelector=metadata.name%3Dkubia-1&watch=True",
         [("", "pods", "shop", "kubia-1", "watch")]),
        ("PATCH", "https://h:6443/apis/apps/v1/namespaces/shop/statefulsets/kubia/scale",
         [("apps", "statefulsets/scale", "shop", "kubia", "patch")]),
        ("POST", "https://h:6443/apis/events.k8s.io/v1/namespaces/default/events", [("events.k8s.io", "events", "default", None, "create")]),
        ("PATCH", "https://h:6443/api/v1/namespaces/shop?fieldManager=stateful.pets", [("", "namespaces", None, "shop", "patch")]),
        ("PATCH", "https://h:6443/api/v1/persistentvolumes/shop-kubia-0", [("", "persistentvolumes", None, "shop-kubia-0", "patch")]),
        ("GET", "https://h:6443/api/v1/nodes", [("", "nodes", None, None, "list")]),
        ("DELETE", "https://h:6443/api/v1/namespaces/shop/pods", [("", "pods", "shop", None, "deletecollection")]),
        ("POST", "https://h:6443/api/v1/namespaces/shop/pods/kubia-0:8080/proxy/", [("", "pods/proxy", "shop", "kubia-0:8080", "create")]),
        # exec over WebSocket: the upgrade GET, which the API server also authorizes as create.
        ("GET", "wss://h:6443/api/v1/namespaces/shop/pods/kubia-0/exec?command=sh",
         [("", "pods/exec", "shop", "kubia-0", "get"), ("", "pods/exec", "shop", "kubia-0", "create")]),
        ("GET", "https://h:6443/apis", []),
        ("GET", "https://h:6443/version", []),
    ],
)
def test_requests_are_read_as_the_api_server_authorizes_them(method, url, wanted):
    got = [(c["group"], c["resource"], c["namespace"], c["name"], c["verb"]) for c in rbac_calls.request_attributes(method, url)]
    assert got == wanted


@pytest.mark.parametrize(
    ("rule", "allowed"),
    [
        ({"apiGroups": ["apps"], "resources": ["statefulsets/scale"], "verbs": ["patch"]}, True),
        ({"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["patch"]}, False),
        ({"apiGroups": [""], "resources": ["statefulsets/scale"], "verbs": ["patch"]}, False),
        ({"apiGroups": ["apps"], "resources": ["statefulsets/scale"], "verbs": ["get"]}, False),
        ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, True),
        ({"apiGroups": ["apps"], "resources": ["statefulsets/scale"], "verbs": ["patch"], "resourceNames": ["web"]}, False),
    ],
)
def test_a_call_is_allowed_only_by_a_rule_that_names_its_group_resource_and_verb(rule, allowed):
    call = {"group": "apps", "resource": "statefulsets/scale", "namespace": "shop", "name": "kubia", "verb": "patch"}
    assert rbac_calls.allows(rule, call) is allowed
    assert rbac_calls.missing_calls([call], [rule]) == ([] if allowed else [call])
