# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import os
import stat

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: build_context_files
short_description: Every file of a container build context on the controller, with its digest and mode
version_added: 0.3.0
description:
  - Walks a build context directory on the controller and describes each entry under it, sorted by path, so that a
    hash over the result changes whenever any file of the context changes, is added, removed, renamed, or changes
    its permissions.
  - Regular files are described by their SHA-256 digest and permission bits; symbolic links by their target, not
    followed, as C(docker build) and C(buildah bud) send them. Directories are walked, not listed.
  - The C(pet_image) role hashes its build context with it, and copies exactly these entries to the nodes that build.
positional: ""
options:
  _input:
    description: Path of the build context directory on the controller.
    type: path
    required: true
author:
  - stateful.pets contributors
"""

EXAMPLES = r"""
- name: Hash every file of a build context
  ansible.builtin.debug:
    msg: "{{ '/srv/app' | stateful.pets.build_context_files | ansible.builtin.to_json | ansible.builtin.hash('sha256') }}"
"""

RETURN = r"""
_value:
  description: One entry per file or symbolic link, sorted by C(path).
  type: list
  elements: dict
  contains:
    path:
      description: Path relative to the context, with C(/) separators.
      type: str
      sample: src/app.js
    sha256:
      description: SHA-256 of the file's content; absent for a symbolic link.
      type: str
    mode:
      description: Permission bits in octal, such as C(0644) or C(0755); absent for a symbolic link.
      type: str
    link:
      description: Target of a symbolic link; absent for a regular file.
      type: str
"""


def file_entry(path, relative):
    """The description of one entry of the context: digest and mode of a file, target of a link."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return {"path": relative, "link": os.readlink(path)}
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": relative, "sha256": digest.hexdigest(), "mode": f"{stat.S_IMODE(info.st_mode):04o}"}


def build_context_files(context):
    """Every file and symbolic link under `context`, sorted by relative path."""
    context = os.path.expanduser(str(context))
    if not os.path.isdir(context):
        raise AnsibleFilterError(f"The build context {context} is not a directory on the controller.")
    entries = []
    # Links to directories stay links: the engines send them as links, not as the directories they point to.
    for folder, dirs, files in os.walk(context, onerror=_raise):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            entries.append(file_entry(path, os.path.relpath(path, context).replace(os.sep, "/")))
    return sorted(entries, key=lambda entry: entry["path"])


def _raise(error):
    raise AnsibleFilterError(f"Cannot read the build context: {error}")


class FilterModule:
    def filters(self):
        return {"build_context_files": build_context_files}
