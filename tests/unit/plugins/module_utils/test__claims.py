# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from decimal import Decimal

import pytest

from ansible_collections.stateful.pets.plugins.module_utils import _claims as claims
from ansible_collections.stateful.pets.plugins.module_utils._predicates import labels_match_selector

SPEC = {"storageClassName": "", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}


def pv(name="pv-a", claim=None, uid=None, storage="1Mi", klass="", modes=("ReadWriteOnce",), phase="Available", labels=None, mode=None):
    spec = {"capacity": {"storage": storage}, "accessModes": list(modes), "storageClassName": klass}
    if claim:
        spec["claimRef"] = {"namespace": claim.split("/")[0], "name": claim.split("/")[1], **({"uid": uid} if uid else {})}
    if mode:
        spec["volumeMode"] = mode
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec, "status": {"phase": phase}}


def storage_class(name, default=False, provisioner="example.com/disk", created="2026-01-01T00:00:00Z"):
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations, "creationTimestamp": created}, "provisioner": provisioner}


def statefulset(templates=(("data", SPEC),)):
    return {"metadata": {"name": "kubia", "namespace": "pets"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": name}, "spec": spec} for name, spec in templates]}}


@pytest.mark.parametrize("text, value", [
    ("1Mi", Decimal(2**20)), ("2.5Gi", Decimal("2.5") * 2**30), ("500M", Decimal(500 * 10**6)), ("1k", Decimal(1000)),
    ("100m", Decimal("0.1")), ("1e3", Decimal(1000)), ("1E3", Decimal(1000)), ("3", Decimal(3)), (".5Ki", Decimal(512)),
    ("1 GB", None), ("lots", None), ("", None), (None, None), ("1Mb", None),
])
def test_quantity(text, value):
    assert claims.quantity(text) == value


@pytest.mark.parametrize("volume, reason", [
    (pv(), None),
    (pv(claim="pets/data-kubia-2"), None),
    (pv(storage="2Gi", modes=("ReadWriteOnce", "ReadOnlyMany")), None),
    (pv(claim="pets/data-kubia-3"), "it is reserved for the claim pets/data-kubia-3"),
    (pv(claim="other/data-kubia-2"), "it is reserved for the claim other/data-kubia-2"),
    (pv(claim="pets/data-kubia-2", uid="old-uid", phase="Released"),
     "it is Released: its claimRef still names an older claim of that name, so it binds no new one until its claimRef is removed"),
    (pv(phase="Failed"), "it is Failed"),
    (pv(klass="fast"), 'its class is "fast", not ""'),
    (pv(storage="512Ki"), "it holds 512Ki, less than the 1Mi the claim asks for"),
    (pv(modes=("ReadOnlyMany",)), "it lacks the access mode ReadWriteOnce"),
    (pv(mode="Block"), "its volumeMode is Block, not Filesystem"),
])
def test_misfit(volume, reason):
    assert claims.misfit(volume, "pets", "data-kubia-2", None, SPEC, "") == reason


def test_a_volume_bound_to_the_claims_own_uid_fits():
    assert claims.misfit(pv(claim="pets/data-kubia-2", uid="uid-2", phase="Bound"), "pets", "data-kubia-2", "uid-2", SPEC, "") is None


@pytest.mark.parametrize("labels, fits", [({"tier": "fast"}, True), ({"tier": "slow"}, False), ({}, False)])
def test_the_claims_selector_must_match_the_volumes_labels(labels, fits):
    spec = dict(SPEC, selector={"matchLabels": {"tier": "fast"}})
    assert (claims.misfit(pv(labels=labels), "pets", "data-kubia-2", None, spec, "") is None) is fits


@pytest.mark.parametrize("labels, selector, matches", [
    ({"a": "1"}, {}, True),
    ({"a": "1"}, {"matchLabels": {"a": "1"}}, True),
    ({"a": "1"}, {"matchLabels": {"a": "2"}}, False),
    ({"a": "1"}, {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, True),
    ({"a": "1"}, {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, False),
    ({}, {"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, True),
    ({}, {"matchExpressions": [{"key": "a", "operator": "Exists"}]}, False),
])
def test_labels_match_selector(labels, selector, matches):
    assert labels_match_selector(labels, selector) is matches


@pytest.mark.parametrize("classes, default", [
    ([], None),
    ([storage_class("a")], None),
    ([storage_class("a", default=True)], "a"),
    ([storage_class("old", True, created="2025-01-01T00:00:00Z"), storage_class("new", True, created="2026-01-01T00:00:00Z")], "new"),
])
def test_default_class(classes, default):
    assert claims.default_class(classes) == default


@pytest.mark.parametrize("spec, klass", [
    ({"storageClassName": ""}, ""),
    ({"storageClassName": "fast"}, "fast"),
    ({}, "standard"),  # no class named: the default class, as the admission plugin sets it
])
def test_claim_class(spec, klass):
    assert claims.claim_class(spec, [storage_class("standard", default=True)]) == klass


def test_claim_class_without_a_default_is_none():
    assert claims.claim_class({}, []) == ""


def problems(pvcs=None, pvs=(), classes=(), ordinals=(2,), sts=None):
    return claims.binding_problems(sts or statefulset(), list(ordinals), pvcs or {}, list(pvs), list(classes))


def test_a_bound_claim_needs_nothing():
    assert problems({"data-kubia-2": {"metadata": {"name": "data-kubia-2"}, "status": {"phase": "Bound"}}}) == []


def test_a_lost_claim_is_named():
    lost = {"metadata": {"name": "data-kubia-2"}, "spec": {"volumeName": "pv-gone"}, "status": {"phase": "Lost"}}
    assert problems({"data-kubia-2": lost}) == ["Claim pets/data-kubia-2 of pod kubia-2 is Lost: its PersistentVolume pv-gone is gone."
                                                " Delete the claim so that the StatefulSet makes it anew, and give it a volume."]


def test_a_pending_claim_is_judged_by_its_own_spec():
    pending = {"metadata": {"name": "data-kubia-2", "uid": "u2"}, "spec": dict(SPEC, storageClassName="fast"), "status": {"phase": "Pending"}}
    assert problems({"data-kubia-2": pending}, pvs=[pv(klass="fast")]) == []
    assert problems({"data-kubia-2": pending}, pvs=[pv()]) != []


def test_every_template_of_every_ordinal_is_checked():
    sts = statefulset((("data", SPEC), ("logs", SPEC)))
    found = problems(pvs=[pv("a"), pv("b"), pv("c")], ordinals=(2, 3), sts=sts)
    assert len(found) == 1 and found[0].startswith("Claim pets/logs-kubia-3 of pod kubia-3 needs")


def test_a_volume_meant_for_another_claim_is_not_taken():
    reserved, spare = pv("pets-kubia-3", claim="pets/data-kubia-3"), pv("spare")
    assert problems(pvs=[reserved, spare], ordinals=(2, 3)) == []
    assert len(problems(pvs=[reserved], ordinals=(2, 3))) == 1


def test_the_reasons_name_the_volumes_meant_for_the_claim():
    found = problems(pvs=[pv("pets-kubia-2", claim="pets/data-kubia-2", klass="slow")])
    assert found == ['Claim pets/data-kubia-2 of pod kubia-2 needs a PersistentVolume of class "", 1Mi, ReadWriteOnce: no Available'
                     ' PersistentVolume fits it (PersistentVolume pets-kubia-2 is meant for it, but its class is "slow", not ""), and a claim'
                     " without a class is never provisioned."]


@pytest.mark.parametrize("klass, classes, ok", [
    ("standard", [storage_class("standard")], True),
    ("standard", [], False),
    ("local", [storage_class("local", provisioner="kubernetes.io/no-provisioner")], False),
])
def test_a_class_that_provisions_lets_the_claim_bind(klass, classes, ok):
    sts = statefulset((("data", dict(SPEC, storageClassName=klass)),))
    assert (problems(classes=classes, sts=sts) == []) is ok
