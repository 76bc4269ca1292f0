# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
from ansible_collections.stateful.pets.plugins.modules import objects_info


def params(**overrides):
    base = {name: spec.get("default") for name, spec in objects_info.argument_spec().items()}
    base.update(kind="Pod", namespace="pets")
    base.update(overrides)
    return base


def run(check_mode=False, **overrides):
    cluster = mock.Mock()
    cluster.list_objects.return_value = [{"kind": "Pod", "metadata": {"name": "kubia-0"}}]
    with mock.patch.object(objects_info.Cluster, "from_params", return_value=cluster):
        result = objects_info.run(params(**overrides), check_mode, False, Reporter())
    return cluster, result


@pytest.mark.parametrize(
    "labels, fields, label_selector, field_selector",
    [
        ([], [], "", ""),
        (["app=kubia"], [], "app=kubia", ""),
        (["app=kubia", "tier!=cache"], ["spec.nodeName=w1", "status.phase=Running"], "app=kubia,tier!=cache", "spec.nodeName=w1,status.phase=Running"),
    ],
)
def test_the_selectors_are_one_comma_joined_term_each(labels, fields, label_selector, field_selector):
    cluster, result = run(label_selectors=labels, field_selectors=fields)
    cluster.list_objects.assert_called_once_with("v1", "Pod", "pets", None, label_selector=label_selector, field_selector=field_selector)
    assert result == {"changed": False, "resources": [{"kind": "Pod", "metadata": {"name": "kubia-0"}}]}


@pytest.mark.parametrize("check_mode", [False, True])
def test_it_only_reads_in_both_modes(check_mode):
    cluster, result = run(check_mode=check_mode, name="kubia-0")
    assert result["changed"] is False
    assert [call[0] for call in cluster.method_calls] == ["list_objects"]
    assert cluster.list_objects.call_args.args[3] == "kubia-0"
