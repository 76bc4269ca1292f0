# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.stateful.pets.plugins.filter.claim_template_problems import duplicates, is_label, is_list, shown
from ansible_collections.stateful.pets.plugins.filter.pod_template_problems import PORT_NAME_RE, port_number

DOCUMENTATION = r"""
name: service_port_problems
short_description: What is wrong with the ports of a Service, as sentences
version_added: 0.3.0
description:
  - Checks the ports of the C(services) role, a list of C({name, port, target_port, protocol}), and returns one sentence
    per problem, naming the variable, the bad value and the fix. An empty list means the ports are fine.
  - Each port needs an RFC 1123 C(name), unique in the list (the headless Service's SRV records carry it), a C(port)
    from 1 to 65535, unique per protocol, and a C(target_port) that is a number from 1 to 65535 or the name of a
    container port.
positional: variable
options:
  _input:
    description: The ports.
    type: raw
    required: true
  variable:
    description: Name of the variable that holds the ports, for the messages.
    type: str
    default: services_ports
author:
  - stateful.pets contributors
"""

EXAMPLES = r"""
- name: Fail on broken Service ports
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }}"
  vars:
    problems: "{{ services_ports | stateful.pets.service_port_problems }}"
"""

RETURN = r"""
_value:
  description: One sentence per problem, in the order of the ports.
  type: list
  elements: str
"""


def port_problems(port, where):
    if not isinstance(port, Mapping):
        return [f"{where} must be a mapping with name, port and target_port (got {shown(port)})."]
    problems = []
    if not is_label(port.get("name")):
        problems.append(f"{where}.name must be an RFC 1123 label, such as http (got {shown(port.get('name'))}).")
    if port_number(port.get("port")) is None:
        problems.append(f"{where}.port must be a port number between 1 and 65535 (got {shown(port.get('port'))}).")
    target = port.get("target_port", port.get("port"))
    named = isinstance(target, str) and not target.isdigit() and PORT_NAME_RE.match(target) and len(target) <= 15
    if port_number(target) is None and not named:
        problems.append(f"{where}.target_port must be a container port number between 1 and 65535 or the name of a container port "
                        f"(at most 15 lower case letters, digits and -; got {shown(target)}).")
    return problems


def service_port_problems(ports, variable="services_ports"):
    if not is_list(ports) or not ports:
        return [f"{variable} must list at least one port, for example [{{name: http, port: 80, target_port: 8080}}] (got {shown(ports)})."]
    problems = []
    for index, port in enumerate(ports):
        problems += port_problems(port, f"{variable}[{index}]")
    mappings = [port for port in ports if isinstance(port, Mapping)]
    for name in duplicates(port.get("name") for port in mappings if port.get("name") is not None):
        problems.append(f"{variable} names the port {shown(name)} more than once; give every port its own name.")
    numbers = [f"{port.get('port')}/{port.get('protocol') or 'TCP'}" for port in mappings if port_number(port.get("port"))]
    for number in duplicates(numbers):
        problems.append(f"{variable} lists the port {number} more than once; a Service exposes each port once.")
    return problems


class FilterModule:
    def filters(self):
        return {"service_port_problems": service_port_problems}
