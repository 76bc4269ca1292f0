# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kubernetes Events that record on the cluster what stateful.pets did to a Pod, a StatefulSet or a Node.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Every write a module makes to a StatefulSet, a Pod or a Node is followed by record_event(), so that
`kubectl describe` and `kubectl get events --field-selector reportingComponent=stateful.pets` show it. The note names
the run (`reporter.run_id`), and the Event carries the label `stateful.pets/run=<run_id>`. Recording is best effort:
a failure becomes a warning, never an error, because the write it records has already happened.
"""

from __future__ import annotations

import datetime
import socket

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError, ref

REPORTING_CONTROLLER = "stateful.pets"
RUN_LABEL = "stateful.pets/run"
NOTE_LIMIT = 1024  # the API server refuses longer notes
# Events about cluster-scoped objects (Nodes) live in the default namespace, as the kubelet's own do.
CLUSTER_SCOPED_EVENT_NAMESPACE = "default"


def reporting_instance():
    """Which controller host recorded the Event: the machine the module runs on."""
    return f"{REPORTING_CONTROLLER}-{socket.gethostname()}"[:128]


def object_reference(obj):
    """The `regarding` reference of an object as Cluster returns it (kind and apiVersion included).

    No resourceVersion: the object was read before the write the Event records, so its version would be stale.
    """
    meta = obj.get("metadata") or {}
    reference = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name")}
    for key in ("namespace", "uid"):
        if meta.get(key):
            reference[key] = meta[key]
    return reference


def build_event(regarding, reason, action, note, event_type, run_id, now, instance):
    """An events.k8s.io/v1 Event about `regarding`, at `now` (an aware datetime)."""
    reference = object_reference(regarding)
    stamp = now.astimezone(datetime.timezone.utc)  # noqa: UP017 (modules also run on Python < 3.11)
    text = f"{note} (stateful.pets run {run_id})"
    if len(text) > NOTE_LIMIT:
        text = text[: NOTE_LIMIT - 3] + "..."
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {
            # As client-go names Events: the object's name and the time in nanoseconds, in hex.
            "name": f"{reference['name']}.{int(stamp.timestamp() * 1e9):x}",
            "namespace": reference.get("namespace") or CLUSTER_SCOPED_EVENT_NAMESPACE,
            "labels": {RUN_LABEL: run_id},
        },
        "eventTime": stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reportingController": REPORTING_CONTROLLER,
        "reportingInstance": instance,
        "action": action,
        "reason": reason,
        "type": event_type,
        "note": text,
        "regarding": reference,
    }


def record_event(cluster, reporter, regarding, reason, action, note, event_type="Normal", now=None):
    """Record an Event about `regarding` (a Pod, StatefulSet or Node dict); a failure becomes reporter.warn(), never an error."""
    when = now or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
    event = build_event(regarding, reason, action, note, event_type, reporter.run_id, when, reporting_instance())
    try:
        cluster.create_event(event)
    except K8sError as exc:
        what = f"{regarding.get('kind')} {ref(event['regarding'].get('namespace'), event['regarding']['name'])}"
        reporter.warn(f"Could not record the Event {reason} on {what}, which is otherwise done: {exc.msg}")
