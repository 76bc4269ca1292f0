# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.stateful.pets.plugins.filter.role_argument_spec import FilterModule, role_argument_spec


@pytest.mark.parametrize("role, entry_point, option", [
    ("statefulset", "main", "statefulset_container"),
    ("statefulset", "render", "statefulset_claim_templates"),
    ("services", "render", "services_ports"),
    ("replica_volumes", "render", "replica_volumes_claim_templates"),
    ("pet_image", "main", "pet_image_context"),
])
def test_the_options_of_an_entry_point_are_those_of_the_role_argument_spec(role, entry_point, option):
    options = role_argument_spec(role, entry_point)
    assert option in options
    assert all(name.startswith(f"{role}_") for name in options)


@pytest.mark.parametrize("role, entry_point, message", [
    ("kennel", "main", "stateful.pets has no role kennel with an argument spec"),
    ("statefulset", "teardown", "Role stateful.pets.statefulset has no entry point teardown; it has apply, main, render, validate."),
])
def test_an_unknown_role_or_entry_point_is_named(role, entry_point, message):
    with pytest.raises(AnsibleFilterError, match=message.replace(".", r"\.")):
        role_argument_spec(role, entry_point)


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()["role_argument_spec"] is role_argument_spec
