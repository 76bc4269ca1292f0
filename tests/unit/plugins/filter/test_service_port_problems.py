# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stateful.pets.plugins.filter.service_port_problems import FilterModule, service_port_problems

HTTP = {"name": "http", "port": 80, "target_port": 8080}


@pytest.mark.parametrize("ports", [
    [HTTP],
    [{"name": "redis", "port": 6379}],
    [{"name": "redis", "port": "6379", "target_port": "redis"}],
    [HTTP, {"name": "metrics", "port": 9121, "target_port": 9121}],
    [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
])
def test_good_ports_have_no_problem(ports):
    assert service_port_problems(ports) == []


@pytest.mark.parametrize("ports, problem", [
    ([], "services_ports must list at least one port, for example [{name: http, port: 80, target_port: 8080}] (got [])."),
    ({"name": "http"}, "services_ports must list at least one port"),
    ([80], "services_ports[0] must be a mapping with name, port and target_port (got 80)."),
    ([dict(HTTP, port=0)], "services_ports[0].port must be a port number between 1 and 65535 (got 0)."),
    ([dict(HTTP, port=65536)], "services_ports[0].port must be a port number between 1 and 65535 (got 65536)."),
    ([dict(HTTP, port="http")], 'services_ports[0].port must be a port number between 1 and 65535 (got "http").'),
    ([dict(HTTP, target_port=70000)], "services_ports[0].target_port must be a container port number between 1 and 65535 or the name"),
    ([dict(HTTP, target_port="Not_A_Name")], 'services_ports[0].target_port must be a container port number'),
    ([dict(HTTP, name="HTTP")], 'services_ports[0].name must be an RFC 1123 label, such as http (got "HTTP").'),
    ([HTTP, dict(HTTP, port=81)], 'services_ports names the port "http" more than once; give every port its own name.'),
    ([HTTP, dict(HTTP, name="web")], "services_ports lists the port 80/TCP more than once; a Service exposes each port once."),
])
def test_each_problem_names_the_variable_the_value_and_the_fix(ports, problem):
    problems = service_port_problems(ports)
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem)


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()["service_port_problems"] is service_port_problems
