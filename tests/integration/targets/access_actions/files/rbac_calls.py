# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The RBAC attributes of recorded API requests, and the ones that an action's rules do not allow (test only).

`request_attributes()` reads a request as the API server's request-info resolver does: API group, resource (with its
subresource), namespace, name and verb. Used by the access_actions target on what recorder/sitecustomize.py wrote:

    python rbac_calls.py RECORD RULES_JSON   ->   {"calls": [...], "missing": [...]}

RULES_JSON is the list of rules of one action (apiGroups, resources, verbs and optional resourceNames).
"""

from __future__ import annotations

import json
import sys
from urllib.parse import parse_qs, urlsplit

# Subresources reached over WebSocket: the API server authorizes the upgrade GET as create as well.
WEBSOCKET_SUBRESOURCES = {"exec", "attach", "portforward"}
NAMESPACE_SUBRESOURCES = {"status", "finalize"}
VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def request_attributes(method, url):
    """The RBAC attributes of one request, a list (exec needs two verbs); [] for a non-resource URL such as /api."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments[:1] == ["api"] and len(segments) >= 2:
        group, rest = "", segments[2:]
    elif segments[:1] == ["apis"] and len(segments) >= 3:
        group, rest = segments[1], segments[3:]
    else:
        return []
    if not rest:
        return []
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
        else:
            namespace = None if len(rest) == 2 else namespace
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if resource == "namespaces" and name:
        namespace = None
    field_selector = (query.get("fieldSelector") or [""])[0]
    if not name and field_selector.startswith("metadata.name=") and "," not in field_selector:
        name = field_selector.split("=", 1)[1]
    method = method.upper()
    watch = (query.get("watch") or ["false"])[0].lower() in ("true", "1")
    if method == "GET":
        verb = "watch" if watch else "get" if rest[1:] else "list"
    elif method == "DELETE" and not rest[1:]:
        verb = "deletecollection"
    else:
        verb = VERBS.get(method, method.lower())
    full = f"{resource}/{subresource}" if subresource else resource
    attributes = {"group": group, "resource": full, "namespace": namespace, "name": name, "verb": verb}
    if subresource in WEBSOCKET_SUBRESOURCES and method == "GET":
        return [attributes, dict(attributes, verb="create")]
    return [attributes]


def allows(rule, call):
    """Whether one RBAC rule allows one call."""
    def has(values, value):
        return "*" in values or value in values

    if not has(rule.get("apiGroups") or [], call["group"]):
        return False
    if not has(rule.get("resources") or [], call["resource"]):
        return False
    if not has(rule.get("verbs") or [], call["verb"]):
        return False
    names = rule.get("resourceNames") or []
    return not names or call["name"] in names


def calls_of(record_lines):
    """The distinct (group, resource, verb, namespaced) calls of a record, sorted."""
    seen = {}
    for line in record_lines:
        if not line.strip():
            continue
        request = json.loads(line)
        for call in request_attributes(request["method"], request["url"]):
            key = (call["group"], call["resource"], call["verb"], call["namespace"] is not None)
            seen.setdefault(key, call)
    return [seen[key] for key in sorted(seen)]


def missing_calls(calls, rules):
    """The calls that no rule allows."""
    return [call for call in calls if not any(allows(rule, call) for rule in rules)]


def main(argv):
    record, rules_file = argv[1], argv[2]
    with open(record, encoding="utf-8") as handle:
        calls = calls_of(handle)
    with open(rules_file, encoding="utf-8") as handle:
        rules = json.load(handle)
    json.dump({"calls": calls, "missing": missing_calls(calls, rules)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
