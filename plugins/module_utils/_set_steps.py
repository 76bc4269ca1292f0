# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the step-by-step operations on a StatefulSet (statefulset_scale, statefulset_rollout) share: watching one object
until a step's deadline, the events that explain a stuck step or an unhealthy pod, and the sentences naming those pods.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!
"""

from __future__ import annotations

import math

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError


def watch_named(cluster, kind, namespace, name, seconds_left, resource_version):
    """(event type, object) of one object for `seconds_left` (at least 1 s).

    Watching from `resource_version` misses nothing that happened since that version was read; when the server has
    expired it (410 Gone), the watch starts once more from the current object instead.
    """
    timeout = max(1, math.ceil(seconds_left))
    try:
        yield from cluster.watch_named(kind, namespace, name, timeout, resource_version=resource_version)
    except K8sError as exc:
        if exc.status != 410 or not resource_version:
            raise
        yield from cluster.watch_named(kind, namespace, name, timeout)


def events_of(cluster, namespace, kind, name):
    """The object's last events as lines; events only explain a failure, so one that cannot be read becomes a line saying why."""
    try:
        return cluster.events_for(namespace, kind, name)
    except K8sError as exc:
        return [f"(events could not be read: {exc.msg})"]


def stuck_step_events(cluster, namespace, set_name, pod):
    """The events that explain a step that timed out: those of `pod` when the step waited on one, else the
    StatefulSet's, where its controller says why it made no pod (a quota, a missing claim)."""
    if pod:
        return events_of(cluster, namespace, "Pod", pod)
    return events_of(cluster, namespace, "StatefulSet", set_name)


def with_events(cluster, namespace, unhealthy):
    """[(pod name, problems)] as [(pod name, problems, events)], for unhealthy_pods_text()."""
    return [(pod, problems, events_of(cluster, namespace, "Pod", pod)) for pod, problems in unhealthy]


def events_text(events, when_none=""):
    """The events as one sentence of a message, or `when_none` when there are none."""
    return " Last events: " + " | ".join(events) + "." if events else when_none


def unhealthy_pods_text(namespace, unhealthy, when_no_events=""):
    """One sentence per pod of [(pod name, problems, events)]: what is wrong with it and its last events."""
    return "".join(f" Pod {namespace}/{pod}: " + "; ".join(problems) + "." + events_text(events, when_no_events) for pod, problems, events in unhealthy)
