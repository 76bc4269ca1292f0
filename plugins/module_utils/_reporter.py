# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a module tells the user while it runs: warnings and progress lines.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

A module's run() gets a Reporter and calls `warn(text)` and `progress(text)`, one progress line per step (not per
poll), as `kubectl rollout status` does. Both ways of running return the lines as `progress` in the result; inside
the controller, `on_progress` also shows each line the moment it is reported.
"""

from __future__ import annotations

import secrets


def new_run_id():
    """A short random name for one module run; Event notes carry it so that a run's Events can be found together."""
    return secrets.token_hex(4)


class Reporter:
    """Collects warnings and progress lines; `on_progress(text)`, when given, is called for each line as it comes."""

    def __init__(self, run_id=None, on_progress=None):
        self.run_id = run_id or new_run_id()
        self.warnings = []
        self.progress_lines = []
        self._on_progress = on_progress

    def warn(self, text):
        self.warnings.append(text)

    def progress(self, text):
        self.progress_lines.append(text)
        if self._on_progress is not None:
            self._on_progress(text)

    def add_to(self, result):
        """`result` with the progress lines, if any, under `progress`; the path that runs the module adds the warnings."""
        if self.progress_lines:
            result["progress"] = list(self.progress_lines)
        return result
