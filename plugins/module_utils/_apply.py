# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Server-side apply of a set of objects, with a real before/after comparison of the fields we set.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!
"""

from __future__ import annotations

import copy

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError, ref

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False


def parse_definitions(definition):
    """The objects of `definition` (a dict, a list, or YAML text with one or more documents), in order."""
    if isinstance(definition, str):
        if not HAS_YAML:
            raise K8sError("The Python library 'PyYAML' is required to read a definition given as text. Install it with pip.")
        try:
            docs = list(yaml.safe_load_all(definition))
        except yaml.YAMLError as exc:
            raise K8sError(f"The definition is not valid YAML: {exc}. Nothing was applied.") from exc
    elif isinstance(definition, dict):
        docs = [definition]
    elif isinstance(definition, list):
        docs = list(definition)
    else:
        raise K8sError(f"The definition must be a mapping, a list of mappings or YAML text, got {type(definition).__name__}. Nothing was applied.")
    objects = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue  # an empty document, such as one left by a template's trailing '---'
        if not isinstance(doc, dict):
            raise K8sError(f"Document {index + 1} of the definition is a {type(doc).__name__}, not an object. Nothing was applied.")
        missing = [key for key in ("apiVersion", "kind") if not doc.get(key)]
        if not (doc.get("metadata") or {}).get("name"):
            missing.append("metadata.name")
        if missing:
            raise K8sError(f"Document {index + 1} of the definition ({doc.get('kind') or 'no kind'}) lacks {', '.join(missing)}. Nothing was applied.")
        objects.append(doc)
    if not objects:
        raise K8sError("The definition holds no object. Give at least one. Nothing was applied.")
    return objects


def object_key(obj):
    """`Kind namespace/name`, the name of an object in messages and in the diff."""
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {ref(meta.get('namespace'), meta.get('name'))}"


def project(live, desired):
    """The part of `live` at the paths that `desired` sets: the fields this module manages.

    Lists of the same length are compared element by element; any other list is taken whole.
    """
    if isinstance(desired, dict) and isinstance(live, dict):
        return {key: project(live[key], value) for key, value in desired.items() if key in live}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [project(live[index], want) for index, want in enumerate(desired)]
    return copy.deepcopy(live)


def plan_change(before, after, desired):
    """(action, before view, after view) for one object: created, updated or unchanged."""
    after_view = project(after, desired)
    if before is None:
        return "created", None, after_view
    before_view = project(before, desired)
    return ("unchanged" if before_view == after_view else "updated"), before_view, after_view


def diff_of(rows):
    """One before/after pair over every object, keyed `Kind namespace/name`; absent objects are left out of before."""
    before = {row["key"]: row["before"] for row in rows if row["before"] is not None}
    after = {row["key"]: row["after"] for row in rows}
    return {"before": before, "after": after}


class Applier:
    """Applies objects one by one through a cluster's dynamic client; raises K8sError naming the object."""

    def __init__(self, cluster, field_manager, force_conflicts=True):
        self.cluster = cluster
        self.field_manager = field_manager
        self.force_conflicts = force_conflicts

    def apply_all(self, objects, check_mode):
        """Apply (or, in check mode, dry-run) every object, in order; one row per object.

        A failure names its object; the objects before it stay applied, and a second run after the fix converges.
        """
        for obj in objects:
            try:
                self.cluster.check_kind(obj)  # an unknown kind fails before the first write
            except K8sError as exc:
                raise K8sError(f"{exc.msg} Nothing was applied.", status=exc.status) from exc
        rows = []
        for obj in objects:
            rows.append(self.apply_one(obj, check_mode))
        return rows

    def apply_one(self, obj, check_mode):
        key = object_key(obj)
        before = self.cluster.read_object(obj)
        try:
            after = self.cluster.server_side_apply(obj, self.field_manager, self.force_conflicts, dry_run=check_mode)
        except K8sError as exc:
            # A dry run cannot create an object inside a namespace that a real run would create first.
            if not (check_mode and before is None and exc.status == 404 and (obj.get("metadata") or {}).get("namespace")):
                raise
            after = obj
        action, before_view, after_view = plan_change(before, after, obj)
        return {"key": key, "kind": obj["kind"], "api_version": obj["apiVersion"], "namespace": obj["metadata"].get("namespace"),
                "name": obj["metadata"]["name"], "action": action, "before": before_view, "after": after_view, "object": after}


def checked_objects(definition):
    """The objects of `definition`, each named once; checked before any connection is made."""
    objects = parse_definitions(definition)
    seen = set()
    for obj in objects:
        key = object_key(obj)
        if key in seen:
            raise K8sError(f"The definition names {key} twice. Keep one. Nothing was applied.")
        seen.add(key)
    return objects


def run_apply(cluster, objects, params, check_mode):
    """Apply `objects` and build the module's result, diff included."""
    rows = Applier(cluster, params["field_manager"], params["force_conflicts"]).apply_all(objects, check_mode)
    return {
        "changed": any(row["action"] != "unchanged" for row in rows),
        "objects": [{k: row[k] for k in ("kind", "api_version", "namespace", "name", "action")} for row in rows],
        "resources": [row["object"] for row in rows],
        "diff": diff_of(rows),
    }
