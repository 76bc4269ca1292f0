# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic of the pod_proxy module: API-server proxy paths, request bodies and answer classification.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Nothing here talks to the API; the module fetches objects and sends requests, then asks these
functions what they mean.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._predicates import condition, is_running_ready, is_terminating

KINDS = {"pod": ("pods", "Pod"), "service": ("services", "Service")}

# RFC 1123 label (pod and namespace names, port names) and the looser subdomain form used by pod names.
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# pchar of RFC 3986 minus '%': the path is taken as plain text and escaped here.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def proxy_error(msg, failure):
    """The K8sError of a request that cannot be built or of an answer that is a failure; `failure` names which kind."""
    return K8sError(msg, details={"failure": failure})


def target_ref(kind, namespace, name):
    """`Pod ns/name` or `Service ns/name`, as used in messages."""
    return f"{KINDS[kind][1]} {namespace}/{name}"


def validate_port(port):
    """Return the port as an int (1-65535) or a port name; raise a K8sError for anything else."""
    if port is None or port == "":
        return None
    text = str(port).strip()
    if text.isdigit():
        number = int(text)
        if 1 <= number <= 65535:
            return number
        raise proxy_error(f"The port {text} is out of range; use 1-65535 or a port name.", "invalid_request")
    if len(text) <= 15 and _LABEL.match(text) and re.search("[a-z]", text):
        return text
    raise proxy_error(f"The port {text!r} is neither a number nor a valid port name (lowercase letters, digits and '-', at most 15).", "invalid_request")


def proxy_path(kind, namespace, name, port=None, path="", query=None, scheme="http"):
    """The API path `/api/v1/namespaces/<ns>/<pods|services>/[<scheme>:]<name>[:<port>]/proxy/<path>[?<query>]`.

    `path` is plain text; it is percent-encoded here. `query` is a dict (list values repeat the key).
    """
    if kind not in KINDS:
        raise proxy_error(f"Unknown proxy target kind {kind!r}; use one of {', '.join(sorted(KINDS))}.", "invalid_request")
    if not namespace or not _LABEL.match(namespace):
        raise proxy_error(f"The namespace {namespace!r} is not a valid Kubernetes namespace name.", "invalid_request")
    if not name or not _SUBDOMAIN.match(name) or len(name) > 253:
        raise proxy_error(f"The name {name!r} is not a valid {KINDS[kind][1]} name.", "invalid_request")
    path = path or ""
    if "?" in path or "#" in path:
        raise proxy_error(f"The path {path!r} contains '?' or '#'; pass the query string as the query option instead.", "invalid_request")
    port = validate_port(port)
    segment = quote(name, safe="")
    if port is not None:
        segment = f"{segment}:{port}"
    if scheme and scheme != "http":
        segment = f"{scheme}:{segment}"
    url = f"/api/v1/namespaces/{quote(namespace, safe='')}/{KINDS[kind][0]}/{segment}/proxy/{quote(path.lstrip('/'), safe=_PATH_SAFE)}"
    if query:
        url += "?" + urlencode([(str(k), _query_value(v)) for k, v in query.items() for v in (v if isinstance(v, list) else [v])])
    return url


def _query_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def resolve_pod_port(pod, port):
    """The container port number for `port` (a number or a container port name) on a pod given as a dict.

    The API server's pod proxy only dials numbers, so names are resolved here from the pod spec.
    """
    port = validate_port(port)
    if port is None or isinstance(port, int):
        return port
    for container in (pod.get("spec") or {}).get("containers") or []:
        for entry in container.get("ports") or []:
            if entry.get("name") == port:
                return int(entry["containerPort"])
    meta = pod.get("metadata") or {}
    raise proxy_error(
        f"Pod {meta.get('namespace')}/{meta.get('name')} has no container port named {port!r}. Use a port number or one of the names in its spec.",
        "invalid_request",
    )


def pod_readiness(pod):
    """None when the pod (a dict) is Ready, else a sentence saying why it is not."""
    meta = pod.get("metadata") or {}
    where = f"Pod {meta.get('namespace')}/{meta.get('name')}"
    if is_terminating(pod):
        return f"{where} is being deleted."
    phase = (pod.get("status") or {}).get("phase") or "Unknown"
    if phase != "Running":
        return f"{where} is {phase}, not Running."
    if is_running_ready(pod):
        return None
    ready = condition(pod, "Ready")
    if ready is None:
        return f"{where} is Running but has no Ready condition yet."
    detail = ": ".join(x for x in (ready.get("reason"), ready.get("message")) if x)
    return f"{where} is Running but its Ready condition is {ready.get('status')}" + (f" ({detail})." if detail else ".")


def encode_body(body, headers):
    """Return (payload, headers) for the API client.

    Dicts and lists go out as JSON. The client re-serializes JSON content itself, so a string body
    sent with a JSON Content-Type is parsed first, or it would be encoded twice.
    """
    headers = {str(k): str(v) for k, v in (headers or {}).items()}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if body is None:
        return None, headers
    if isinstance(body, (dict, list)):
        if content_type is None:
            headers["Content-Type"] = "application/json"
        elif "json" not in content_type.lower():
            raise proxy_error(f"The body is structured data but the Content-Type header is {content_type!r}; send it as a string instead.", "invalid_request")
        return body, headers
    text = body if isinstance(body, str) else json.dumps(body)
    if content_type is not None and "json" in content_type.lower():
        try:
            return json.loads(text), headers
        except ValueError as exc:
            raise proxy_error(f"The Content-Type header says JSON but the body does not parse as JSON: {exc}.", "invalid_request") from exc
    return text, headers


def decode_body(raw, headers):
    """Return (text, parsed JSON or None) for a response body given as bytes or str."""
    if isinstance(raw, bytes):
        charset = "utf-8"
        match = re.search(r"charset=([\w-]+)", _header(headers, "content-type") or "")
        if match:
            charset = match.group(1)
        try:
            text = raw.decode(charset, errors="replace")
        except LookupError:
            text = raw.decode("utf-8", errors="replace")
    else:
        text = raw or ""
    try:
        return text, json.loads(text) if text.strip() else None
    except ValueError:
        return text, None


def _header(headers, name):
    return next((v for k, v in (headers or {}).items() if k.lower() == name), None)


def api_server_status(status, headers, parsed):
    """The API server's own Status object when it produced this answer, else None.

    The API server answers with `kind: Status`, `apiVersion: v1`, `status: Failure` and a `code` equal to
    the HTTP status; an upstream that proxies through it keeps its own body and headers.
    """
    if status < 400 or not isinstance(parsed, dict):
        return None
    if "json" not in (_header(headers, "content-type") or "").lower():
        return None
    if parsed.get("kind") == "Status" and parsed.get("apiVersion") == "v1" and parsed.get("status") == "Failure" and parsed.get("code") == status:
        return parsed
    return None


def classify(kind, namespace, name, status, headers, parsed, text, expected_status=None):
    """Raise a proxy_error K8sError when the answer is a failure, saying whose failure it is; return None otherwise."""
    where = target_ref(kind, namespace, name)
    api_status = api_server_status(status, headers, parsed)
    if api_status is not None:
        raise _api_server_failure(kind, where, status, api_status)
    expected = normalize_expected(expected_status)
    if expected and status in expected:
        return None
    if status >= 500:
        msg = f"The upstream behind {where} answered {status} (a server error in the application, not in Kubernetes): {_excerpt(text)}"
        raise proxy_error(msg, "upstream_error")
    if expected:
        raise proxy_error(f"{where} answered {status}, expected {' or '.join(str(s) for s in expected)}: {_excerpt(text)}", "unexpected_status")
    return None


def _api_server_failure(kind, where, status, api_status):
    message = api_status.get("message") or api_status.get("reason") or ""
    reason = api_status.get("reason") or ""
    if status == 404 and reason == "NotFound" and (api_status.get("details") or {}).get("kind") in ("pods", "services"):
        failure = f"{kind}_not_found"
        return proxy_error(f"{where} was not found. Check the name and the namespace. API server said: {message}", failure)
    if status == 503 or (status == 400 and message == "address not allowed"):
        if kind == "service":
            msg = f"{where} has no ready endpoint to take the request: its pods are missing or not ready. API server said: {message}"
            return proxy_error(msg, "service_not_ready")
        msg = f"{where} is not ready to take the request: the API server could not reach it. API server said: {message}"
        return proxy_error(msg, "pod_not_ready")
    if status in (401, 403):
        msg = (
            f"The API server refused the proxy request to {where} ({status}). "
            f"Grant 'get' and 'create' on '{KINDS[kind][0]}/proxy' to this identity. API server said: {message}"
        )
        return proxy_error(msg, "api_refused")
    return proxy_error(f"The API server rejected the proxy request to {where} with {status} {reason}. API server said: {message}", "api_error")


def normalize_expected(expected_status):
    """expected_status as a list of ints (empty when unset)."""
    if expected_status is None:
        return []
    values = expected_status if isinstance(expected_status, list) else [expected_status]
    result = []
    for value in values:
        try:
            result.append(int(value))
        except (TypeError, ValueError) as exc:
            raise proxy_error(f"expected_status must hold HTTP status numbers, got {value!r}.", "invalid_request") from exc
    return result


def _excerpt(text, limit=300):
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit] + "..."
