# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from pathlib import Path

import yaml
from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: role_argument_spec
short_description: The options of one entry point of a role of this collection, as its argument spec declares them
version_added: 0.3.0
description:
  - Reads C(meta/argument_specs.yml) of a role of C(stateful.pets), the documentation C(ansible-doc -t role) shows,
    and returns the options of one entry point.
  - With M(ansible.builtin.validate_argument_spec), a playbook checks the variables of several roles in one task, as
    C(stateful.pets.deploy) does before it renders anything; it then imports the roles' entry points with
    C(rolespec_validate=false).
positional: entry_point
options:
  _input:
    description: The role's short name, for example V(statefulset).
    type: str
    required: true
  entry_point:
    description: The entry point.
    type: str
    default: main
author:
  - stateful.pets contributors
"""

EXAMPLES = r"""
- name: Check the variables of the statefulset and services roles in one task
  ansible.builtin.validate_argument_spec:
    argument_spec: "{{ ['statefulset', 'services'] | map('stateful.pets.role_argument_spec') | ansible.builtin.combine }}"
"""

RETURN = r"""
_value:
  description: The entry point's options, keyed by variable name, as in the argument spec.
  type: dict
"""

ROLES = Path(__file__).resolve().parents[2] / "roles"
# libyaml's loader when PyYAML has it: the deploy reads four argument specs before anything else, and the pure-Python
# loader takes about 0.1 s for them.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def role_argument_spec(role, entry_point="main"):
    path = ROLES / str(role) / "meta" / "argument_specs.yml"
    if not path.is_file():
        raise AnsibleFilterError(f"stateful.pets has no role {role} with an argument spec ({path} is missing).")
    with path.open(encoding="utf-8") as handle:
        specs = (yaml.load(handle, Loader=LOADER) or {}).get("argument_specs") or {}
    if entry_point not in specs:
        raise AnsibleFilterError(f"Role stateful.pets.{role} has no entry point {entry_point}; it has {', '.join(sorted(specs))}.")
    return specs[entry_point].get("options") or {}


class FilterModule:
    def filters(self):
        return {"role_argument_spec": role_argument_spec}
