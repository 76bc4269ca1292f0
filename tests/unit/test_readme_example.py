# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The README's example playbook is the one the integration target deploy_redis runs, word for word."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "integration" / "targets" / "deploy_redis" / "files" / "cache.yml"


def readme_example():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- example: redis cache -->\n```yaml\n(.*?)```\n<!-- end of example -->", text, re.S)
    assert found, "README.md lost its example block"
    return found.group(1)


def test_the_readme_shows_the_tested_example_playbook():
    assert readme_example() == EXAMPLE.read_text(encoding="utf-8")


def entry_points(playbook):
    """The roles' entry points a playbook imports, in order: (role, tasks_from)."""
    return re.findall(r"name: (stateful\.pets\.\w+)\n\s+tasks_from: (\S+)", playbook)


def test_the_example_uses_the_roles_by_their_fqcn_and_public_entry_points_only():
    example = readme_example()
    assert "../roles/" not in example
    assert not [tasks_from for _role, tasks_from in entry_points(example) if tasks_from.startswith("_")]
    assert sorted(set(re.findall(r"name: (stateful\.pets\.\w+)", example))) == [
        "stateful.pets.pet_image", "stateful.pets.replica_volumes", "stateful.pets.services", "stateful.pets.statefulset"]


def test_the_example_imports_the_same_entry_points_as_the_deploy_in_the_same_order():
    # deploy_redis compares the tasks both run on the cluster; this catches a drift offline.
    deploy = (ROOT / "playbooks" / "deploy.yml").read_text(encoding="utf-8")
    assert entry_points(readme_example()) == entry_points(deploy) == [
        ("stateful.pets.pet_image", "context"), ("stateful.pets.statefulset", "render"),
        ("stateful.pets.services", "render"), ("stateful.pets.replica_volumes", "render"), ("stateful.pets.pet_image", "ensure"),
        ("stateful.pets.statefulset", "apply")]
