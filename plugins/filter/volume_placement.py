# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.stateful.pets.plugins.module_utils._volumes import hostname_of, place

DOCUMENTATION = r"""
name: volume_placement
short_description: The node of each ordinal's node-local volumes, keeping every existing volume where it is
version_added: 0.4.0
description:
  - Chooses the node of each ordinal from V(0) to O(count) - 1 of a StatefulSet whose volumes live on the nodes' own
    disks (C(replica_volumes_storage=node_local) of the C(replica_volumes) role), and says what stands in the way.
  - An ordinal that has a PersistentVolume already keeps the node that volume is pinned to, so a rerun or a scale-up
    never moves a volume (its data is on that node). Otherwise the ordinal goes to the node O(node_affinity) names,
    or else to the schedulable node (Ready, not cordoned, no C(NoSchedule) or C(NoExecute) taint) that holds the fewest
    of the set's ordinals, the lowest ordinal first and by node name on a tie.
  - Every volume of one ordinal (one per claim template) goes to the same node, since its pod mounts them all.
positional: nodes, count, node_affinity, name, namespace
options:
  _input:
    description:
      - The PersistentVolumes the role made for this set before (labels C(stateful.pets/statefulset) and
        C(stateful.pets/namespace)), as M(stateful.pets.objects_info) returns them.
    type: list
    elements: dict
    required: true
  nodes:
    description: Every Node of the cluster.
    type: list
    elements: dict
    required: true
  count:
    description: The number of ordinals to place.
    type: int
    required: true
  node_affinity:
    description: The user's choice of node per ordinal, as a mapping from ordinal to node name.
    type: dict
    default: {}
  name:
    description: The StatefulSet's name, for the messages.
    type: str
    required: true
  namespace:
    description: The StatefulSet's namespace, for the messages.
    type: str
    required: true
author:
  - stateful.pets contributors
"""

EXAMPLES = r"""
- name: Place the volumes of pets/kubia
  ansible.builtin.set_fact:
    placement: "{{ live_pvs.resources | stateful.pets.volume_placement(nodes.resources, 3, {}, 'kubia', 'pets') }}"
"""

RETURN = r"""
_value:
  description: The placement.
  type: dict
  contains:
    nodes:
      description: The node of each placed ordinal, keyed by the ordinal as a string.
      type: dict
      sample: {"0": pets-worker, "1": pets-worker2}
    hostnames:
      description:
        - The C(kubernetes.io/hostname) label of each placed ordinal's node, keyed by the ordinal as a string; a volume is
          pinned by this label, which on some clouds differs from the node's name.
      type: dict
      sample: {"0": pets-worker, "1": pets-worker2}
    problems:
      description: One sentence per problem, naming the ordinal, the volume or the node and what to do; empty when all is well.
      type: list
      elements: str
"""


def volume_placement(live_pvs, nodes, count, node_affinity=None, name="", namespace=""):
    nodes = nodes or []
    placement, problems = place(live_pvs, nodes, int(count), node_affinity, name, namespace)
    hostnames = {node["metadata"]["name"]: hostname_of(node) for node in nodes}
    return {"nodes": {str(ordinal): node for ordinal, node in placement.items()},
            "hostnames": {str(ordinal): hostnames.get(node, node) for ordinal, node in placement.items()},
            "problems": problems}


class FilterModule:
    def filters(self):
        return {"volume_placement": volume_placement}
