# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: nodes_lacking_image
short_description: Names of the Kubernetes nodes whose status does not list an image
version_added: 0.1.0
description:
  - Reads C(status.images) of each Node object, the list the kubelet reports of the images it holds.
  - A node holds the image when one entry of that list carries every reference in O(references) among its names,
    so two tags of one image (for example C(pets/kubia:1.0.0) and its content tag) must belong to the same image.
  - The C(pet_image) role uses it to skip building and loading when every node already holds the current image.
positional: references
options:
  _input:
    description: Node objects, for example the C(resources) of M(stateful.pets.objects_info) with O(stateful.pets.objects_info#module:kind=Node).
    type: list
    elements: dict
    required: true
  references:
    description: Fully qualified image references, such as C(docker.io/pets/kubia:1.0.0), that one image must carry together.
    type: list
    elements: str
    required: true
author:
  - stateful.pets contributors
"""

EXAMPLES = r"""
- name: Build where a node lacks the image
  ansible.builtin.debug:
    msg: "{{ nodes.resources | stateful.pets.nodes_lacking_image(['docker.io/pets/kubia:1.0.0']) }}"
"""

RETURN = r"""
_value:
  description: The names of the nodes that lack the image, in the order of the input.
  type: list
  elements: str
"""


def holds_image(node, references):
    """Whether one image in the node's status carries every reference."""
    wanted = set(references)
    return any(wanted <= set(image.get("names") or []) for image in (node.get("status") or {}).get("images") or [])


def nodes_lacking_image(nodes, references):
    return [node["metadata"]["name"] for node in nodes or [] if not holds_image(node, references)]


class FilterModule:
    def filters(self):
        return {"nodes_lacking_image": nodes_lacking_image}
