# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.stateful.pets.plugins.filter.build_context_files import FilterModule, build_context_files


def write(root, relative, content, mode=0o644):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)
    return path


@pytest.fixture
def context(tmp_path):
    write(tmp_path, "Dockerfile", b"FROM scratch\n")
    write(tmp_path, "bin/start.sh", b"#!/bin/sh\n", 0o755)
    write(tmp_path, "conf/nested/redis.conf", b"port 6379\n")
    write(tmp_path, ".dockerignore", b"*.tmp\n")
    return tmp_path


def test_every_file_is_listed_sorted_with_its_digest_and_mode(context):
    assert build_context_files(str(context)) == [
        {"path": ".dockerignore", "sha256": hashlib.sha256(b"*.tmp\n").hexdigest(), "mode": "0644"},
        {"path": "Dockerfile", "sha256": hashlib.sha256(b"FROM scratch\n").hexdigest(), "mode": "0644"},
        {"path": "bin/start.sh", "sha256": hashlib.sha256(b"#!/bin/sh\n").hexdigest(), "mode": "0755"},
        {"path": "conf/nested/redis.conf", "sha256": hashlib.sha256(b"port 6379\n").hexdigest(), "mode": "0644"},
    ]


@pytest.mark.parametrize("change", [
    lambda root: write(root, "conf/nested/redis.conf", b"port 6380\n"),
    lambda root: write(root, "conf/new.conf", b""),
    lambda root: (root / "bin" / "start.sh").unlink(),
    lambda root: (root / "bin" / "start.sh").rename(root / "bin" / "run.sh"),
    lambda root: (root / "bin" / "start.sh").chmod(0o644),
    lambda root: os.symlink("conf", root / "settings"),
])
def test_any_change_anywhere_in_the_context_changes_the_list(context, change):
    before = build_context_files(str(context))
    change(context)
    assert build_context_files(str(context)) != before


def test_links_are_described_by_their_target_and_not_followed(context):
    os.symlink("conf", context / "settings")
    os.symlink("bin/start.sh", context / "start")
    entries = {entry["path"]: entry for entry in build_context_files(str(context))}
    assert entries["settings"] == {"path": "settings", "link": "conf"}
    assert entries["start"] == {"path": "start", "link": "bin/start.sh"}
    assert "settings/nested/redis.conf" not in entries


def test_an_empty_directory_adds_nothing(context):
    before = build_context_files(str(context))
    (context / "empty").mkdir()
    assert build_context_files(str(context)) == before


@pytest.mark.parametrize("make_path", [lambda root: root / "missing", lambda root: root / "Dockerfile"])
def test_a_path_that_is_not_a_directory_fails_naming_it(context, make_path):
    path = make_path(context)
    with pytest.raises(AnsibleFilterError, match=f"The build context {path} is not a directory on the controller"):
        build_context_files(str(path))


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()["build_context_files"] is build_context_files
