# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._proxy import (
    api_server_status,
    classify,
    decode_body,
    encode_body,
    normalize_expected,
    pod_readiness,
    proxy_path,
    resolve_pod_port,
    validate_port,
)

JSON = {"Content-Type": "application/json"}


def status_body(code, reason, message, kind=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}
    if kind:
        body["details"] = {"name": "x", "kind": kind}
    return body


@pytest.mark.parametrize(
    "args, expected",
    [
        (("pod", "pets", "kubia-0"), "/api/v1/namespaces/pets/pods/kubia-0/proxy/"),
        (("pod", "pets", "kubia-0", 8080), "/api/v1/namespaces/pets/pods/kubia-0:8080/proxy/"),
        (("pod", "pets", "kubia-0", "8080", "/"), "/api/v1/namespaces/pets/pods/kubia-0:8080/proxy/"),
        (("service", "team-a", "kubia-public", "http"), "/api/v1/namespaces/team-a/services/kubia-public:http/proxy/"),
        (("service", "pets", "kubia-public", None, "a/b c/ä"), "/api/v1/namespaces/pets/services/kubia-public/proxy/a/b%20c/%C3%A4"),
        (("pod", "pets", "web.v1-0", 443, "healthz", None, "https"), "/api/v1/namespaces/pets/pods/https:web.v1-0:443/proxy/healthz"),
        (
            ("pod", "pets", "kubia-0", None, "x", {"a": "1 2", "b": ["x", "y&z"], "c": True}),
            "/api/v1/namespaces/pets/pods/kubia-0/proxy/x?a=1+2&b=x&b=y%26z&c=true",
        ),
        (("pod", "pets", "kubia-0", None, "100%/done"), "/api/v1/namespaces/pets/pods/kubia-0/proxy/100%25/done"),
    ],
)
def test_proxy_path(args, expected):
    assert proxy_path(*args) == expected


@pytest.mark.parametrize(
    "args, needle",
    [
        (("node", "pets", "kubia-0"), "Unknown proxy target kind"),
        (("pod", "Pets", "kubia-0"), "namespace 'Pets'"),
        (("pod", "", "kubia-0"), "namespace ''"),
        (("pod", "pets", "kubia/0"), "not a valid Pod name"),
        (("service", "pets", ""), "not a valid Service name"),
        (("pod", "pets", "kubia-0", None, "a?b=1"), "use the query option|pass the query string"),
        (("pod", "pets", "kubia-0", None, "a#frag"), "contains '?' or '#'"),
        (("pod", "pets", "kubia-0", 0), "out of range"),
        (("pod", "pets", "kubia-0", "70000"), "out of range"),
        (("pod", "pets", "kubia-0", "Http"), "neither a number nor a valid port name"),
        (("pod", "pets", "kubia-0", "a-very-long-port-name"), "at most 15"),
    ],
)
def test_proxy_path_rejects(args, needle):
    with pytest.raises(K8sError) as err:
        proxy_path(*args)
    assert err.value.details["failure"] == "invalid_request"
    assert any(part in err.value.msg for part in needle.split("|"))


@pytest.mark.parametrize("port, expected", [(None, None), ("", None), (80, 80), ("8080", 8080), ("http", "http"), ("web-2", "web-2")])
def test_validate_port(port, expected):
    assert validate_port(port) == expected


POD = {
    "metadata": {"name": "kubia-0", "namespace": "pets"},
    "spec": {"containers": [{"name": "sidecar"}, {"name": "app", "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9090}]}]},
}


@pytest.mark.parametrize("port, expected", [(None, None), (8080, 8080), ("9999", 9999), ("http", 8080)])
def test_resolve_pod_port(port, expected):
    assert resolve_pod_port(POD, port) == expected


def test_resolve_pod_port_unknown_name():
    with pytest.raises(K8sError) as err:
        resolve_pod_port(POD, "metrics")
    assert err.value.msg.startswith("Pod pets/kubia-0 has no container port named 'metrics'")


def pod(phase="Running", ready="True", deleting=False, reason=None, message=None):
    condition = {"type": "Ready", "status": ready}
    if reason:
        condition.update(reason=reason, message=message)
    meta = {"name": "kubia-1", "namespace": "pets"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [] if ready is None else [condition]}}


@pytest.mark.parametrize(
    "obj, expected",
    [
        (pod(), None),
        (pod(deleting=True), "Pod pets/kubia-1 is being deleted."),
        (pod(phase="Pending", ready="False"), "Pod pets/kubia-1 is Pending, not Running."),
        (pod(ready="False"), "Pod pets/kubia-1 is Running but its Ready condition is False."),
        (pod(ready="False", reason="ContainersNotReady", message="containers with unready status: [app]"),
         "Pod pets/kubia-1 is Running but its Ready condition is False (ContainersNotReady: containers with unready status: [app])."),
        (pod(ready=None), "Pod pets/kubia-1 is Running but has no Ready condition yet."),
    ],
)
def test_pod_readiness(obj, expected):
    assert pod_readiness(obj) == expected


@pytest.mark.parametrize(
    "body, headers, payload, content_type",
    [
        (None, {}, None, None),
        ("hello", {}, "hello", None),
        ({"a": 1}, {}, {"a": 1}, "application/json"),
        ([1, 2], {"content-type": "application/merge+json"}, [1, 2], None),
        ('{"a": 1}', {"Content-Type": "application/json"}, {"a": 1}, "application/json"),
        (42, {}, "42", None),
    ],
)
def test_encode_body(body, headers, payload, content_type):
    sent, out_headers = encode_body(body, headers)
    assert sent == payload
    assert out_headers.get("Content-Type") == content_type


@pytest.mark.parametrize(
    "body, headers, needle",
    [
        ({"a": 1}, {"Content-Type": "text/plain"}, "structured data but the Content-Type"),
        ("not json", {"Content-Type": "application/json"}, "does not parse as JSON"),
    ],
)
def test_encode_body_rejects(body, headers, needle):
    with pytest.raises(K8sError) as err:
        encode_body(body, headers)
    assert needle in err.value.msg
    assert err.value.details["failure"] == "invalid_request"


@pytest.mark.parametrize(
    "raw, headers, text, parsed",
    [
        (b"You've hit kubia-0\n", {}, "You've hit kubia-0\n", None),
        (b'{"a": [1]}', JSON, '{"a": [1]}', {"a": [1]}),
        ("caf\xe9".encode("latin-1"), {"content-type": "text/plain; charset=latin-1"}, "caf\xe9", None),
        (b"\xff", {"Content-Type": "text/plain; charset=nonsense"}, "\ufffd", None),
        (b"", {}, "", None),
        ("7", {}, "7", 7),
    ],
)
def test_decode_body(raw, headers, text, parsed):
    assert decode_body(raw, headers) == (text, parsed)


def test_api_server_status_is_told_apart_from_upstream_json():
    own = status_body(503, "ServiceUnavailable", "error trying to reach service: dial tcp: connection refused")
    assert api_server_status(503, JSON, own) == own
    # The same shape with a different code, or as text/plain, or a 2xx, is the upstream's.
    assert api_server_status(500, JSON, own) is None
    assert api_server_status(503, {"Content-Type": "text/plain"}, own) is None
    assert api_server_status(200, JSON, {**own, "code": 200}) is None
    assert api_server_status(503, JSON, {"error": "busy"}) is None


@pytest.mark.parametrize(
    "kind, status, parsed, failure, needle",
    [
        ("pod", 404, status_body(404, "NotFound", 'pods "kubia-9" not found', "pods"), "pod_not_found", "Pod pets/x was not found"),
        ("service", 404, status_body(404, "NotFound", 'services "nope" not found', "services"), "service_not_found", "Service pets/x was not found"),
        ("pod", 503, status_body(503, "ServiceUnavailable", "error trying to reach service: dial tcp 10.244.1.5:8080: connect: connection refused"),
         "pod_not_ready", "Pod pets/x is not ready to take the request"),
        ("pod", 400, status_body(400, "BadRequest", "address not allowed"), "pod_not_ready", "is not ready"),
        ("service", 503, status_body(503, "ServiceUnavailable", 'no endpoints available for service "kubia-public"'),
         "service_not_ready", "Service pets/x has no ready endpoint"),
        ("pod", 403, status_body(403, "Forbidden", "pods \"x\" is forbidden"), "api_refused", "'pods/proxy'"),
        ("service", 401, status_body(401, "Unauthorized", "Unauthorized"), "api_refused", "'services/proxy'"),
        ("pod", 400, status_body(400, "BadRequest", "invalid pod request"), "api_error", "rejected the proxy request to Pod pets/x with 400 BadRequest"),
    ],
)
def test_classify_api_server_failures(kind, status, parsed, failure, needle):
    with pytest.raises(K8sError) as err:
        # Even a listed status does not hide an API server error.
        classify(kind, "pets", "x", status, JSON, parsed, json.dumps(parsed), expected_status=[status])
    assert err.value.details["failure"] == failure
    assert needle in err.value.msg
    assert "API server said:" in err.value.msg


def test_classify_upstream_5xx():
    with pytest.raises(K8sError) as err:
        classify("pod", "pets", "kubia-0", 500, {"Content-Type": "text/plain"}, None, "disk full " * 100)
    assert err.value.details["failure"] == "upstream_error"
    assert err.value.msg.startswith("The upstream behind Pod pets/kubia-0 answered 500 (a server error in the application, not in Kubernetes): disk full")
    assert err.value.msg.endswith("...")


def test_classify_upstream_json_error_is_not_taken_for_the_api_server():
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 418}
    with pytest.raises(K8sError) as err:
        classify("service", "pets", "web", 502, JSON, body, json.dumps(body))
    assert err.value.details["failure"] == "upstream_error"


@pytest.mark.parametrize(
    "status, expected, outcome",
    [
        (200, None, None),
        (404, None, None),
        (200, 200, None),
        (201, [200, 201], None),
        (503, [503], None),
        (404, [200], "Pod pets/kubia-0 answered 404, expected 200: nope"),
        (200, [201, 204], "Pod pets/kubia-0 answered 200, expected 201 or 204: nope"),
    ],
)
def test_classify_expected_status(status, expected, outcome):
    if outcome is None:
        assert classify("pod", "pets", "kubia-0", status, {}, None, "nope", expected) is None
    else:
        with pytest.raises(K8sError) as err:
            classify("pod", "pets", "kubia-0", status, {}, None, "nope", expected)
        assert err.value.msg == outcome
        assert err.value.details["failure"] == "unexpected_status"


@pytest.mark.parametrize("value, expected", [(None, []), (200, [200]), ("204", [204]), ([200, "201"], [200, 201])])
def test_normalize_expected(value, expected):
    assert normalize_expected(value) == expected


def test_normalize_expected_rejects_words():
    with pytest.raises(K8sError) as err:
        normalize_expected(["ok"])
    assert "expected_status must hold HTTP status numbers" in err.value.msg
