# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What one node_fence run holds and how it writes: its state, its clock, its reads of the nodes, and its
writes, each skipped in check mode and recorded as a progress line and an Event.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.stateful.pets.plugins.module_utils import _fencing as fencing
from ansible_collections.stateful.pets.plugins.module_utils._events import record_event, reporting_instance
from ansible_collections.stateful.pets.plugins.module_utils._fence_lease import FenceLeases
from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter

POLL_SECONDS = 2
CONFLICT_ATTEMPTS = 5  # read-modify-writes of one node, as client-go's RetryOnConflict allows


# The run's clocks: every part of a run reads them here, so that a test can replace them in one place.
def now():
    return datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - datetime.UTC needs Python 3.11 on the managed host


def monotonic():
    return time.monotonic()


def failed_guards(assessment):
    return [g["guard"] for g in assessment["guards"] if not g["passed"]]


def label(pod):
    return f"{pod['namespace']}/{pod['name']}"


class FenceRun:
    """The state of one fence or unfence pass and the writes both make; every write is skipped in check mode.

    Each action is a progress line of `reporter`, and each write an Event on the Node or the Pod it changed.
    """

    def __init__(self, cluster, params, check_mode=False, diff=False, reporter=None):
        self.cluster = cluster
        self.params = params
        self.check_mode = check_mode
        self.diff = diff
        self.reporter = reporter or Reporter()
        self.changed = False
        self.results = []
        self.before = {}
        self.after = {}
        self.deleted_at = {}
        self.nodes = []
        self.accepted_sign = {}  # node -> its last sign of life when it was confirmed down
        self.holder = params.get("lease_holder") or f"{reporting_instance()}-{self.reporter.run_id}"
        self.leases = FenceLeases(cluster, params["lease_namespace"], self.holder, params["lease_duration"], now)

    # Reading
    def _nodes(self):
        return self.cluster.list_nodes()

    def _named(self, nodes):
        name = self.params["name"]
        for node in nodes:
            if fencing.node_name(node) == name:
                return node
        known = ", ".join(sorted(fencing.node_name(n) for n in nodes))
        raise K8sError(f"Node {name} does not exist in the cluster (its nodes are: {known}). Check the name.")

    def _pods_on(self, node):
        return self.cluster.list_pods(field_selector=f"spec.nodeName={node}")

    # Writing
    def _write(self, func, *args):
        if not self.check_mode:
            func(*args)
        self.changed = True

    def _done(self, line, regarding, reason, action, note, event_type="Warning"):
        """After a write, a progress line and an Event on the object written; in check mode, only the line."""
        if self.check_mode:
            self.reporter.progress(f"{line[:-1]} (check mode: not done).")
            return
        self.reporter.progress(line)
        record_event(self.cluster, self.reporter, regarding, reason, action, note, event_type)

    def _patch_node_fresh(self, name, node, body_for):
        """Patch the node with body_for(node) under its resourceVersion, so that no taint added meanwhile is lost.

        On a conflict (409) read the node again and rebuild the body: the kubelet and the node controllers update a
        node that has just come back several times in its first seconds, so a stale resourceVersion is expected then.
        """
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            body = body_for(node)
            body["metadata"]["resourceVersion"] = node["metadata"]["resourceVersion"]
            try:
                return self.cluster.patch_node(name, body)
            except K8sError as exc:
                if exc.status != 409 or attempt == CONFLICT_ATTEMPTS:
                    raise
            node = self.cluster.get_node(name)

    def result(self):
        result = {"changed": self.changed, "nodes": self.results, "confirmed": self.params["fenced_confirmed"], "run_id": self.reporter.run_id,
                  "lease_holder": self.holder}
        if self.diff:
            result["diff"] = {"before": self.before, "after": self.after}
        return result
