# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import re
from collections.abc import Mapping

DOCUMENTATION = r"""
name: claim_template_problems
short_description: What is wrong with a list of volume claim templates, as sentences
version_added: 0.3.0
description:
  - Checks the claim templates of a StatefulSet as the C(statefulset) and C(replica_volumes) roles take them, a list of
    C({name, mount_path, storage, access_modes}), and returns one sentence per problem, naming the variable, the bad
    value and the fix. An empty list means the templates are fine.
  - A template needs an RFC 1123 C(name), unique in the list; a C(storage) that is a Kubernetes quantity; and
    C(access_modes) among the Kubernetes access modes. With O(mount_path=true) it also needs an absolute
    C(mount_path), unique in the list.
positional: variable, mount_path, default_storage
options:
  _input:
    description: The claim templates.
    type: raw
    required: true
  variable:
    description: Name of the variable that holds the templates, for the messages.
    type: str
    default: statefulset_claim_templates
  mount_path:
    description: Whether each template needs a C(mount_path).
    type: bool
    default: true
  default_storage:
    description:
      - The storage of a template that sets none. The caller checks it; a template whose storage equals it is not
        reported again.
    type: str
    default: 1Mi
author:
  - stateful.pets contributors
"""

EXAMPLES = r"""
- name: Fail on broken claim templates
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }}"
  vars:
    problems: "{{ statefulset_claim_templates | stateful.pets.claim_template_problems }}"
"""

RETURN = r"""
_value:
  description: One sentence per problem, in the order of the templates.
  type: list
  elements: str
"""

LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUANTITY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")


def shown(value):
    """A value as the messages quote it."""
    return json.dumps(value, default=str)


def is_label(value, limit=63):
    return isinstance(value, str) and bool(LABEL_RE.match(value)) and len(value) <= limit


def is_list(value):
    return isinstance(value, (list, tuple))


def duplicates(values):
    """The values that occur more than once, in order of first appearance."""
    seen, repeated = set(), []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


def template_problems(template, where, mount_path, default_storage):
    if not isinstance(template, Mapping):
        return [f"{where} must be a mapping with name, mount_path, storage and access_modes (got {shown(template)})."]
    problems = []
    if not is_label(template.get("name")):
        problems.append(f"{where}.name must be an RFC 1123 label, such as data (got {shown(template.get('name'))}).")
    if mount_path and not (isinstance(template.get("mount_path"), str) and template["mount_path"].startswith("/")):
        problems.append(f"{where}.mount_path must be an absolute path in the container, such as /var/data (got {shown(template.get('mount_path'))}).")
    # The default storage has a rule of its own in each role; a template repeating it is not reported twice.
    storage = template.get("storage")
    if storage is not None and str(storage) != str(default_storage) and not QUANTITY_RE.match(str(storage)):
        problems.append(f"{where}.storage must be a Kubernetes quantity such as 1Mi or 2Gi (got {shown(storage)}).")
    modes = template.get("access_modes", ["ReadWriteOnce"])
    if not is_list(modes) or not modes or any(mode not in ACCESS_MODES for mode in modes):
        problems.append(f"{where}.access_modes must list access modes among {', '.join(ACCESS_MODES)} (got {shown(modes)}).")
    return problems


def claim_template_problems(templates, variable="statefulset_claim_templates", mount_path=True, default_storage="1Mi"):
    if not is_list(templates) or not templates:
        return [f"{variable} must list at least one claim template, for example [{{name: data, mount_path: /var/data, storage: 1Mi}}]"
                f" (got {shown(templates)})."]
    problems = []
    for index, template in enumerate(templates):
        problems += template_problems(template, f"{variable}[{index}]", mount_path, default_storage)
    mappings = [template for template in templates if isinstance(template, Mapping)]
    for key, label in (("name", "claim template"), ("mount_path", "mount path")) if mount_path else (("name", "claim template"),):
        for value in duplicates(template[key] for template in mappings if template.get(key) is not None):
            problems.append(f"{variable} names the {label} {shown(value)} more than once; give every claim template its own.")
    return problems


class FilterModule:
    def filters(self):
        return {"claim_template_problems": claim_template_problems}
