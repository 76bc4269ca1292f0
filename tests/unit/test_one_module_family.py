# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The roles, playbooks and molecule scenarios talk to the Kubernetes API with stateful.pets modules only, so that one
module_defaults group, group/stateful.pets.pets, sets the connection options of everything the collection runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLACES = ("roles", "playbooks", "molecule")
# Kubernetes modules of other collections that a user would have to configure with a second group.
OTHER_KUBERNETES_FAMILIES = ("kubernetes.core.", "community.kubernetes.", "community.okd.")


def yaml_files():
    return sorted(path for place in PLACES for path in (ROOT / place).rglob("*.yml") if "templates" not in path.parts)


def walk(node, found):
    """Every mapping key that names a module or an action group, anywhere in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                found.append(key)
            if key == "module_defaults" and isinstance(value, dict):
                found.extend(f"module_defaults:{group}" for group in value)
            walk(value, found)
    elif isinstance(node, list):
        for item in node:
            walk(item, found)
    return found


def keys_of(path):
    with path.open(encoding="utf-8") as handle:
        return walk(list(yaml.safe_load_all(handle)), [])


@pytest.mark.parametrize("path", yaml_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_only_stateful_pets_modules_talk_to_kubernetes(path):
    keys = keys_of(path)
    assert [key for key in keys if key.startswith(OTHER_KUBERNETES_FAMILIES)] == []
    assert [key for key in keys if key.startswith("module_defaults:") and key != "module_defaults:group/stateful.pets.pets"] == []


def test_the_scan_sees_the_modules_it_checks():
    # A guard against a scan that reads nothing: the playbooks do use stateful.pets modules and their group.
    keys = [key for path in yaml_files() for key in keys_of(path)]
    assert "stateful.pets.statefulset_scale" in keys
    assert "module_defaults:group/stateful.pets.pets" in keys
    assert len(yaml_files()) > 20
