# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every role's defaults/main.yml states exactly the defaults of its meta/argument_specs.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def _load(path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _spec_options(role):
    """Options of every entry point; entry points that share options must agree on them."""
    options = {}
    for entry, spec in _load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"].items():
        for name, option in (spec.get("options") or {}).items():
            assert options.setdefault(name, option) == option, f"{role}: option {name} differs in entry point {entry}"
    return options


def test_roles_are_found():
    assert {"replica_volumes", "services", "statefulset"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_defaults_match_argument_specs(role):
    options = _spec_options(role)
    spec_defaults = {name: option["default"] for name, option in options.items() if "default" in option}
    defaults_file = ROLES_DIR / role / "defaults" / "main.yml"
    defaults = _load(defaults_file) if defaults_file.is_file() else {}
    assert defaults == spec_defaults


@pytest.mark.parametrize("role", ROLES)
def test_required_options_have_no_default(role):
    bad = [name for name, option in _spec_options(role).items() if option.get("required") and "default" in option]
    assert bad == []


@pytest.mark.parametrize("role", ROLES)
def test_variables_carry_the_role_prefix(role):
    prefix = role.lstrip("_") + "_"
    names = set(_spec_options(role))
    defaults_file = ROLES_DIR / role / "defaults" / "main.yml"
    if defaults_file.is_file():
        names |= set(_load(defaults_file))
    assert sorted(n for n in names if not (n.startswith(prefix) or n.startswith("_"))) == []
