# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.stateful.pets.plugins.module_utils._volumes import pinned_node
from ansible_collections.stateful.pets.plugins.module_utils._volumes import storage_mode as mode_of

DOCUMENTATION = r"""
name: storage_mode
short_description: Whether a PersistentVolume lives on one node's own disk or on storage every node reaches
version_added: 0.4.0
description:
  - Returns V(node_local) for a PersistentVolume whose C(nodeAffinity) ties it to some nodes (its data is on their
    disks, and its pod can only run there), and V(shared) for one every node can mount, with the node it is pinned to.
  - The C(stateful.pets.verify) playbook reports each pet's storage mode with it.
positional: nodes
options:
  _input:
    description: A PersistentVolume.
    type: dict
    required: true
  nodes:
    description: Every Node of the cluster, to tell which node a C(nodeAffinity) selects.
    type: list
    elements: dict
    default: []
author:
  - stateful.pets contributors
"""

EXAMPLES = r"""
- name: Say where the volume of kubia-0 lives
  ansible.builtin.debug:
    msg: "{{ pv | stateful.pets.storage_mode(nodes.resources) }}"
"""

RETURN = r"""
_value:
  description: The mode and the node.
  type: dict
  contains:
    mode:
      description: V(node_local) or V(shared).
      type: str
      sample: node_local
    node:
      description: The one node a node-local volume is pinned to; V(null) for a shared one, or one that several nodes can mount.
      type: str
      sample: pets-worker
"""


def storage_mode(pv, nodes=None):
    return {"mode": mode_of(pv), "node": pinned_node(pv, nodes or [])}


class FilterModule:
    def filters(self):
        return {"storage_mode": storage_mode}
