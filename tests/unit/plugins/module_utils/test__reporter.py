# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter


def test_progress_lines_reach_the_display_one_by_one_and_the_result_in_order():
    shown = []
    reporter = Reporter(on_progress=lambda text: shown.append((text, list(reporter.progress_lines))))
    reporter.progress("first")
    reporter.warn("careful")
    reporter.progress("second")
    assert shown == [("first", ["first"]), ("second", ["first", "second"])]
    assert reporter.add_to({"changed": True}) == {"changed": True, "progress": ["first", "second"]}
    assert reporter.warnings == ["careful"]


def test_a_run_without_lines_adds_no_progress_key():
    assert Reporter().add_to({"changed": False}) == {"changed": False}


def test_each_run_has_its_own_short_id():
    ids = {Reporter().run_id for _attempt in range(20)}
    assert len(ids) == 20
    assert all(re.fullmatch(r"[0-9a-f]{8}", run_id) for run_id in ids)
    assert Reporter(run_id="fixed").run_id == "fixed"
