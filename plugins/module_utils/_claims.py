# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether the claims of a StatefulSet's new ordinals can bind, asked before a scale-up changes anything.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

A claim can bind when it is Bound already, when an Available PersistentVolume fits it (its claimRef, class, size, access
modes, volume mode and the claim's selector), or when its StorageClass provisions volumes. The PV controller's own rules,
on plain dicts, without a cluster.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from ansible_collections.stateful.pets.plugins.module_utils._predicates import labels_match_selector
from ansible_collections.stateful.pets.plugins.module_utils._scale import claim_templates

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
NO_PROVISIONER = "kubernetes.io/no-provisioner"
_QUANTITY_RE = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))((?:[eE][+-]?[0-9]+)|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|)$")
_FACTORS = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(value):
    """A Kubernetes quantity (1Mi, 2.5Gi, 500M, 1e3) as a Decimal, or None when it is not one."""
    match = _QUANTITY_RE.match(str(value).strip()) if value is not None else None
    if not match:
        return None
    number, suffix = match.groups()
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(number) * (Decimal(10) ** int(suffix[1:]))
        return Decimal(number) * _FACTORS[suffix]
    except InvalidOperation:
        return None


def _spec(obj):
    return obj.get("spec") or {}


def template_spec(statefulset, template):
    """The spec of the claim the controller makes from the claim template named `template`."""
    for found in _spec(statefulset).get("volumeClaimTemplates") or []:
        if (found.get("metadata") or {}).get("name") == template:
            return _spec(found)
    return {}


def default_class(classes):
    """The name of the default StorageClass (the newest, when several claim to be), or None."""
    defaults = [c for c in classes if any(((c.get("metadata") or {}).get("annotations") or {}).get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)]
    defaults.sort(key=lambda c: (c["metadata"].get("creationTimestamp") or "", c["metadata"]["name"]))
    return defaults[-1]["metadata"]["name"] if defaults else None


def claim_class(spec, classes):
    """The class a claim asks for: its own storageClassName (even ""), else the default class, else "" (no class)."""
    if spec.get("storageClassName") is not None:
        return spec["storageClassName"]
    return default_class(classes) or ""


def _request(spec):
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def misfit(pv, namespace, claim, claim_uid, spec, klass):
    """Why `pv` cannot bind the claim namespace/claim (`spec`, class `klass`), as a phrase; None when it can."""
    pv_spec = _spec(pv)
    ref = pv_spec.get("claimRef")
    if ref and (ref.get("namespace"), ref.get("name")) != (namespace, claim):
        return f"it is reserved for the claim {ref.get('namespace')}/{ref.get('name')}"
    if ref and ref.get("uid") and ref.get("uid") != claim_uid:
        return "it is Released: its claimRef still names an older claim of that name, so it binds no new one until its claimRef is removed"
    phase = (pv.get("status") or {}).get("phase")
    if not ref and phase not in (None, "Available"):
        return f"it is {phase}"
    if (pv_spec.get("storageClassName") or "") != klass:
        return f"its class is {json.dumps(pv_spec.get('storageClassName') or '')}, not {json.dumps(klass)}"
    have, want = quantity((pv_spec.get("capacity") or {}).get("storage")), quantity(_request(spec))
    if want is not None and (have is None or have < want):
        return f"it holds {(pv_spec.get('capacity') or {}).get('storage')}, less than the {_request(spec)} the claim asks for"
    missing = [mode for mode in spec.get("accessModes") or [] if mode not in (pv_spec.get("accessModes") or [])]
    if missing:
        return f"it lacks the access mode {', '.join(missing)}"
    if (pv_spec.get("volumeMode") or "Filesystem") != (spec.get("volumeMode") or "Filesystem"):
        return f"its volumeMode is {pv_spec.get('volumeMode') or 'Filesystem'}, not {spec.get('volumeMode') or 'Filesystem'}"
    if spec.get("selector") and not labels_match_selector((pv.get("metadata") or {}).get("labels") or {}, spec["selector"]):
        return "its labels do not match the claim's selector"
    return None


def provisioner_of(klass, classes):
    """The provisioner of StorageClass `klass`, or None when there is no such class."""
    for found in classes:
        if found["metadata"]["name"] == klass:
            return found.get("provisioner")
    return None


def _need(claim, pod, spec, klass):
    size = _request(spec) or "any size"
    modes = ", ".join(spec.get("accessModes") or []) or "any access mode"
    return f"Claim {claim} of pod {pod} needs a PersistentVolume of class {json.dumps(klass)}, {size}, {modes}"


def binding_problems(statefulset, ordinals, pvcs, pvs, classes):
    """One sentence per claim of `ordinals` that cannot bind; empty when every one can.

    `pvcs` maps claim names to the claims of the namespace; `pvs` and `classes` are every PersistentVolume and StorageClass.
    A PV is counted for one claim only, and one pre-bound to a claim (claimRef) is tried for it first.
    """
    meta = statefulset["metadata"]
    namespace, name = meta.get("namespace"), meta["name"]
    taken = set()
    problems = []
    for ordinal in ordinals:
        pod = f"{name}-{ordinal}"
        for template in claim_templates(statefulset):
            claim = f"{template}-{name}-{ordinal}"
            pvc = pvcs.get(claim)
            phase = (pvc or {}).get("status", {}).get("phase")
            if phase == "Bound":
                continue
            if phase == "Lost":
                problems.append(f"Claim {namespace}/{claim} of pod {pod} is Lost: its PersistentVolume {_spec(pvc).get('volumeName')} is gone."
                                " Delete the claim so that the StatefulSet makes it anew, and give it a volume.")
                continue
            spec = _spec(pvc) if pvc else template_spec(statefulset, template)
            klass = claim_class(spec, classes)
            uid = (pvc or {}).get("metadata", {}).get("uid")
            reserved = [pv for pv in pvs if (_spec(pv).get("claimRef") or {}).get("name") == claim
                        and (_spec(pv).get("claimRef") or {}).get("namespace") == namespace]
            fits = [pv for pv in reserved + pvs if pv["metadata"]["name"] not in taken and misfit(pv, namespace, claim, uid, spec, klass) is None]
            if fits:
                taken.add(fits[0]["metadata"]["name"])
                continue
            provisioner = provisioner_of(klass, classes) if klass else None
            if provisioner and provisioner != NO_PROVISIONER:
                continue
            why = "; ".join(f"PersistentVolume {pv['metadata']['name']} is meant for it, but {misfit(pv, namespace, claim, uid, spec, klass)}"
                            for pv in reserved if pv["metadata"]["name"] not in taken)
            if not klass:
                classes_said = "and a claim without a class is never provisioned"
            elif provisioner is None:
                classes_said = f"and there is no StorageClass {klass} to provision it"
            else:
                classes_said = f"and StorageClass {klass} provisions nothing ({NO_PROVISIONER})"
            problems.append(f"{_need(f'{namespace}/{claim}', pod, spec, klass)}: no Available PersistentVolume fits it"
                            + (f" ({why})" if why else "") + f", {classes_said}.")
    return problems
