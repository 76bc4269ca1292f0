# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stateful.pets.plugins.filter.claim_template_problems import FilterModule, claim_template_problems

DATA = {"name": "data", "mount_path": "/var/data", "storage": "1Mi", "access_modes": ["ReadWriteOnce"]}
LOGS = {"name": "logs", "mount_path": "/srv/logs"}


@pytest.mark.parametrize("templates", [
    [DATA],
    [DATA, LOGS],
    [{"name": "data", "mount_path": "/d", "storage": "2.5Gi", "access_modes": ["ReadWriteOncePod", "ReadOnlyMany"]}],
])
def test_good_templates_have_no_problem(templates):
    assert claim_template_problems(templates) == []


@pytest.mark.parametrize("templates, problem", [
    ([], "statefulset_claim_templates must list at least one claim template"),
    ("data", "statefulset_claim_templates must list at least one claim template, for example"
             ' [{name: data, mount_path: /var/data, storage: 1Mi}] (got "data").'),
    (["data"], 'statefulset_claim_templates[0] must be a mapping with name, mount_path, storage and access_modes (got "data").'),
    ([dict(DATA, name="Data_1")], 'statefulset_claim_templates[0].name must be an RFC 1123 label, such as data (got "Data_1").'),
    ([DATA, dict(LOGS, mount_path="logs")],
     'statefulset_claim_templates[1].mount_path must be an absolute path in the container, such as /var/data (got "logs").'),
    ([{"name": "data"}], "statefulset_claim_templates[0].mount_path must be an absolute path in the container, such as /var/data (got null)."),
    ([dict(DATA, storage="1 GB")], 'statefulset_claim_templates[0].storage must be a Kubernetes quantity such as 1Mi or 2Gi (got "1 GB").'),
    ([dict(DATA, access_modes=["ReadWriteSometimes"])],
     'statefulset_claim_templates[0].access_modes must list access modes among ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod'
     ' (got ["ReadWriteSometimes"]).'),
    ([dict(DATA, access_modes="ReadWriteOnce")], 'statefulset_claim_templates[0].access_modes must list access modes'),
    ([dict(DATA, access_modes=[])], "statefulset_claim_templates[0].access_modes must list access modes"),
    ([DATA, dict(LOGS, name="data")], 'statefulset_claim_templates names the claim template "data" more than once; give every claim template its own.'),
    ([DATA, dict(LOGS, mount_path="/var/data")], 'statefulset_claim_templates names the mount path "/var/data" more than once'),
])
def test_each_problem_names_the_variable_the_value_and_the_fix(templates, problem):
    problems = claim_template_problems(templates)
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem)


@pytest.mark.parametrize("template", [{"name": "data", "mount_path": "/d"}, {"name": "data", "mount_path": "/d", "storage": "lots"}])
def test_the_default_storage_is_left_to_its_own_rule(template):
    assert claim_template_problems([template], default_storage="lots") == []


def test_without_mount_paths_a_template_needs_none_and_the_messages_name_the_given_variable():
    templates = [{"name": "data"}, {"name": "data", "mount_path": "/x"}, {"name": "logs", "mount_path": "/x"}]
    assert claim_template_problems(templates, "replica_volumes_claim_templates", False) == [
        'replica_volumes_claim_templates names the claim template "data" more than once; give every claim template its own.']


def test_every_problem_is_reported_not_only_the_first():
    problems = claim_template_problems([{"name": "A", "mount_path": "a", "storage": "x", "access_modes": []}])
    assert [p.split(" must ", maxsplit=1)[0] for p in problems] == [
        "statefulset_claim_templates[0].name", "statefulset_claim_templates[0].mount_path",
        "statefulset_claim_templates[0].storage", "statefulset_claim_templates[0].access_modes"]


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()["claim_template_problems"] is claim_template_problems
