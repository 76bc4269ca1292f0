# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ansible-builder reads the collection's meta/execution-environment.yml, and builds a context from tests/ee offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Any attempt to reach the network goes to a closed port and fails.
OFFLINE = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="")


def builder(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "ansible_builder", *args], cwd=cwd, env=OFFLINE, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def requirement_lines(path):
    lines = (line.split("#")[0].strip() for line in (ROOT / path).read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def test_introspect_finds_the_collections_dependencies(tmp_path):
    (tmp_path / "ansible_collections" / "stateful").mkdir(parents=True)
    (tmp_path / "ansible_collections" / "stateful" / "pets").symlink_to(ROOT)
    found = yaml.safe_load(builder("introspect", "--sanitize", str(tmp_path), cwd=tmp_path))
    python = [line.split("#")[0].strip() for line in found["python"] if line.endswith("# from collection stateful.pets")]
    system = [line.split("#")[0].strip() for line in found["system"] if line.endswith("# from collection stateful.pets")]
    assert "kubernetes>=24.2.0" in python
    # --sanitize drops what ansible-core already brings (PyYAML); everything else is declared as written.
    assert python == [line for line in requirement_lines("meta/ee-requirements.txt") if line.lower() != "pyyaml"]
    assert system == requirement_lines("meta/ee-bindep.txt")
    assert system


def test_create_builds_the_context_offline(tmp_path):
    (tmp_path / "execution-environment.yml").write_text((ROOT / "tests" / "ee" / "execution-environment.yml").read_text(encoding="utf-8"),
                                                        encoding="utf-8")
    builder("create", "-f", "execution-environment.yml", "-c", "context", "--output-filename", "Containerfile", cwd=tmp_path)
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert [c["name"] for c in galaxy["collections"]] == ["stateful.pets", "kubernetes.core"]
    assert "ansible-galaxy collection install" in containerfile
    # The build gathers the collections' own dependencies (meta/execution-environment.yml) and installs them.
    assert "introspect.py introspect" in containerfile
    assert "install-from-bindep" in containerfile
    assert (context / "_build" / "scripts" / "introspect.py").is_file()
