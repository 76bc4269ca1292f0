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


def test_the_example_uses_the_roles_by_their_fqcn_and_public_entry_points_only():
    example = readme_example()
    assert "../roles/" not in example
    assert re.findall(r"tasks_from: (\S+)", example) == ["context", "render", "render", "render", "ensure", "apply"]
    assert sorted(set(re.findall(r"name: (stateful\.pets\.\w+)", example))) == [
        "stateful.pets.pet_image", "stateful.pets.replica_volumes", "stateful.pets.services", "stateful.pets.statefulset"]
