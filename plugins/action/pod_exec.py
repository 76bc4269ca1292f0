# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.stateful.pets.plugins.modules import pod_exec as module
from ansible_collections.stateful.pets.plugins.plugin_utils._in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    """Runs stateful.pets.pod_exec inside the controller for a plain local task, else as a module process."""

    MODULE = module
