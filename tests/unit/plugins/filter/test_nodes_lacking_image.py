# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stateful.pets.plugins.filter.nodes_lacking_image import FilterModule, nodes_lacking_image

REF = "docker.io/pets/kubia:1.0.0"
CONTENT_REF = "docker.io/pets/kubia:1.0.0-content-0123456789ab"


def node(name, *images):
    """A Node object whose status lists `images`, each a list of names."""
    return {"metadata": {"name": name}, "status": {"images": [{"names": list(names), "sizeBytes": 1} for names in images]}}


@pytest.mark.parametrize("nodes, references, lacking", [
    ([node("a", [REF, CONTENT_REF]), node("b", ["x@sha256:1", REF, CONTENT_REF])], [REF, CONTENT_REF], []),
    ([node("a", [REF, CONTENT_REF]), node("b", [REF])], [REF, CONTENT_REF], ["b"]),
    # Both tags must name one image: a node with them on two different images holds neither current image.
    ([node("a", [REF], [CONTENT_REF])], [REF, CONTENT_REF], ["a"]),
    ([node("a"), node("b", ["docker.io/pets/kubia:0.9.0"])], [REF], ["a", "b"]),
    ([{"metadata": {"name": "new"}}, {"metadata": {"name": "empty"}, "status": {"images": None}}], [REF], ["new", "empty"]),
    ([{"metadata": {"name": "unnamed"}, "status": {"images": [{"sizeBytes": 5}]}}], [REF], ["unnamed"]),
    ([], [REF], []),
    (None, [REF], []),
])
def test_nodes_lacking_image_names_each_node_without_one_image_that_carries_every_reference(nodes, references, lacking):
    assert nodes_lacking_image(nodes, references) == lacking


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()["nodes_lacking_image"] is nodes_lacking_image
