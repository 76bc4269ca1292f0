# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fence Lease of a node: one coordination.k8s.io Lease per node that a fencing run holds while it works on it.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

The Leases live in `lease_namespace` (default `default`), never in kube-node-lease, where the kubelets keep their
own heartbeat Leases named after the nodes. Each is named `stateful-pets-fence-<node>` and labelled
`stateful.pets/fence-lease=true`, so a run lists them all in one request. A run writes its holder identity and a
duration; another run that finds the Lease held (renewed less than its duration ago) reports the holder and does
nothing; a Lease held past its duration is stale and is taken over. The time of the last confirmed fence of the node
stays on the Lease (annotation `stateful.pets/last-fence`), for the cooldown gate. Writes are conditional on the
Lease's resourceVersion, so of two runs that race for it exactly one wins.
"""

from __future__ import annotations

import datetime
import hashlib

from ansible_collections.stateful.pets.plugins.module_utils._k8s import K8sError
from ansible_collections.stateful.pets.plugins.module_utils._predicates import parse_time, seconds_since

LEASE_PREFIX = "stateful-pets-fence-"
FENCE_LEASE_LABEL = "stateful.pets/fence-lease"
FENCE_LEASE_SELECTOR = f"{FENCE_LEASE_LABEL}=true"
NODE_ANNOTATION = "stateful.pets/node"
LAST_FENCE_ANNOTATION = "stateful.pets/last-fence"
NAME_LIMIT = 253


def lease_name(node):
    """`stateful-pets-fence-<node>`; a node name too long for that is shortened with a hash, which stays unique."""
    name = LEASE_PREFIX + node
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(node.encode()).hexdigest()[:16]
    return f"{name[: NAME_LIMIT - 17]}-{digest}"


def micro_time(now):
    """A Lease's MicroTime text for an aware datetime."""
    return now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: UP017 (modules also run on Python < 3.11)


def lease_view(lease, now):
    """What a run needs to know about a fence Lease (None when there is none): holder, held, stale, ages, last fence."""
    if lease is None:
        return {"exists": False, "holder": None, "held": False, "stale": False, "held_seconds": None, "renewed_seconds": None, "last_fence": None}
    spec = lease.get("spec") or {}
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    holder = spec.get("holderIdentity") or None
    renewed = seconds_since(spec.get("renewTime") or spec.get("acquireTime"), now)
    duration = spec.get("leaseDurationSeconds") or 0
    held = bool(holder) and renewed is not None and renewed < duration
    return {
        "exists": True,
        "holder": holder,
        "held": held,
        "stale": bool(holder) and not held,
        "held_seconds": seconds_since(spec.get("acquireTime"), now) if holder else None,
        "renewed_seconds": renewed if holder else None,
        "duration": duration,
        "last_fence": annotations.get(LAST_FENCE_ANNOTATION),
    }


def holder_text(view):
    """'run X, which took it 12 s ago and renewed it 3 s ago'."""
    held = "" if view["held_seconds"] is None else f", which took it {view['held_seconds']:.0f} s ago"
    renewed = "" if view["renewed_seconds"] is None else f" and renewed it {view['renewed_seconds']:.0f} s ago"
    return f"{view['holder']}{held}{renewed}"


def acquired(existing, node, holder, duration, now):
    """The Lease body that makes `holder` its holder, from the existing Lease (None: a new one)."""
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": lease_name(node), "labels": {FENCE_LEASE_LABEL: "true", "app.kubernetes.io/managed-by": "stateful.pets"},
                     "annotations": {NODE_ANNOTATION: node}},
        "spec": {},
    }
    transitions = 0
    if existing is not None:
        meta = existing["metadata"]
        lease["metadata"]["resourceVersion"] = meta["resourceVersion"]
        lease["metadata"]["annotations"] = dict(meta.get("annotations") or {}, **lease["metadata"]["annotations"])
        spec = existing.get("spec") or {}
        transitions = (spec.get("leaseTransitions") or 0) + (0 if spec.get("holderIdentity") in (None, "", holder) else 1)
    stamp = micro_time(now)
    lease["spec"] = {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": stamp, "renewTime": stamp, "leaseTransitions": transitions}
    if existing is not None and (existing.get("spec") or {}).get("holderIdentity") == holder:
        lease["spec"]["acquireTime"] = existing["spec"].get("acquireTime") or stamp
    return lease


def renewed(lease, now, last_fence=False):
    """The held Lease renewed at `now`; with `last_fence`, also recording `now` as the node's last confirmed fence."""
    body = {"apiVersion": lease.get("apiVersion", "coordination.k8s.io/v1"), "kind": "Lease", "metadata": dict(lease["metadata"]),
            "spec": dict(lease["spec"], renewTime=micro_time(now))}
    if last_fence:
        body["metadata"]["annotations"] = dict(body["metadata"].get("annotations") or {}, **{LAST_FENCE_ANNOTATION: micro_time(now)})
    return body


def released(lease):
    """The Lease with no holder: free for the next run, keeping the last fence time."""
    spec = {key: value for key, value in (lease.get("spec") or {}).items() if key not in ("holderIdentity", "acquireTime", "renewTime")}
    return {"apiVersion": lease.get("apiVersion", "coordination.k8s.io/v1"), "kind": "Lease", "metadata": dict(lease["metadata"]), "spec": spec}


def last_fence_time(view):
    return parse_time(view.get("last_fence")) if view else None


class LeaseBusy(Exception):
    """Another run holds the fence Lease of the node; `view` says who and since when."""

    def __init__(self, view):
        super().__init__(view["holder"])
        self.view = view


class FenceLeases:
    """The fence Leases of one run: read them all once, acquire, renew and release the ones this run holds."""

    def __init__(self, cluster, namespace, holder, duration, clock):
        self.cluster = cluster
        self.namespace = namespace
        self.holder = holder
        self.duration = duration
        self.clock = clock  # returns an aware datetime
        self.held = {}  # node -> the Lease as last written
        self.renewed_at = {}
        self.by_node = {}

    def read_all(self):
        """{node: Lease} of every fence Lease in the namespace."""
        leases = self.cluster.list_leases(self.namespace, label_selector=FENCE_LEASE_SELECTOR)
        self.by_node = {((lease["metadata"].get("annotations") or {}).get(NODE_ANNOTATION)): lease for lease in leases}
        return self.by_node

    def view(self, node):
        return lease_view(self.by_node.get(node), self.clock())

    def acquire(self, node):
        """Take the node's Lease for this run; return the view it had before (stale: taken over). Raise LeaseBusy if held."""
        existing = self.cluster.find_lease(self.namespace, lease_name(node))
        before = lease_view(existing, self.clock())
        if before["held"] and before["holder"] != self.holder:
            raise LeaseBusy(before)
        body = acquired(existing, node, self.holder, self.duration, self.clock())
        try:
            if existing is None:
                body["metadata"]["namespace"] = self.namespace
                written = self.cluster.create_lease(self.namespace, body)
            else:
                written = self.cluster.replace_lease(self.namespace, body)
        except K8sError as exc:
            if exc.status != 409:
                raise
            # Another run wrote the Lease between our read and our write: it holds it now.
            raise LeaseBusy(lease_view(self.cluster.find_lease(self.namespace, lease_name(node)), self.clock())) from exc
        self._keep(node, written)
        return before

    def _keep(self, node, written):
        self.held[node] = written
        self.by_node[node] = written
        self.renewed_at[node] = self.clock()

    def renew(self, node, last_fence=False):
        """Renew the held Lease now (and record the last fence when asked)."""
        self._keep(node, self.cluster.replace_lease(self.namespace, renewed(self.held[node], self.clock(), last_fence)))

    def keep_alive(self):
        """Renew every held Lease that is a third of its duration old; called from the waits."""
        for node in list(self.held):
            if (self.clock() - self.renewed_at[node]).total_seconds() >= self.duration / 3:
                self.renew(node)

    def release(self, node):
        lease = self.held.pop(node, None)
        if lease is not None:
            self.by_node[node] = self.cluster.replace_lease(self.namespace, released(lease))

    def release_stale(self, node):
        """Free a Lease left held by this run or held past its duration (by a run that died); raise LeaseBusy if held."""
        existing = self.cluster.find_lease(self.namespace, lease_name(node))
        view = lease_view(existing, self.clock())
        if view["held"] and view["holder"] != self.holder:
            raise LeaseBusy(view)
        if view["holder"]:
            self.by_node[node] = self.cluster.replace_lease(self.namespace, released(existing))
            return True
        return False
