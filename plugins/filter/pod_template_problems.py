# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible_collections.stateful.pets.plugins.filter.claim_template_problems import duplicates, is_label, is_list, shown

DOCUMENTATION = r"""
name: pod_template_problems
short_description: What is wrong with a pet's container, pod spec and update strategy, as sentences
version_added: 0.3.0
description:
  - Checks the variables of the C(statefulset) role that shape the pods - the container merged over the default one,
    the pod spec, the update strategy and the image - and returns one sentence per problem, naming the variable, the
    bad value and the fix. An empty list means they are fine.
  - Fields that Kubernetes wants as mappings (C(resources), C(securityContext), probes, C(affinity), ...) or lists
    (C(command), C(env), C(ports), C(volumes), ...) must be so. A probe needs exactly one handler among C(exec),
    C(grpc), C(httpGet) and C(tcpSocket). Container ports need a number from 1 to 65535 and a unique name of at most
    15 characters. The image needs a tag other than C(latest). Extra containers need a name and an image, and no
    volume may take the name of a claim template.
positional: ""
options:
  _input:
    description:
      - The variables, a mapping with C(container), C(pod_spec), C(update_strategy), C(claim_templates), C(name) (the
        StatefulSet's, the default container name), C(image) (the default image) and C(default_ports) (the default
        container's ports).
    type: dict
    required: true
author:
  - stateful.pets contributors
"""

EXAMPLES = r"""
- name: Fail on a broken container
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }}"
  vars:
    problems: >-
      {{ {'container': statefulset_container, 'pod_spec': statefulset_pod_spec, 'update_strategy': statefulset_update_strategy,
          'claim_templates': statefulset_claim_templates, 'name': statefulset_name, 'image': statefulset_image,
          'default_ports': []} | stateful.pets.pod_template_problems }}
"""

RETURN = r"""
_value:
  description: One sentence per problem.
  type: list
  elements: str
"""

CONTAINER_SHAPES = {
    "resources": Mapping, "securityContext": Mapping, "lifecycle": Mapping,
    "readinessProbe": Mapping, "livenessProbe": Mapping, "startupProbe": Mapping,
    "command": list, "args": list, "env": list, "envFrom": list, "ports": list, "volumeMounts": list,
}
POD_SPEC_SHAPES = {
    "securityContext": Mapping, "affinity": Mapping, "nodeSelector": Mapping,
    "tolerations": list, "containers": list, "initContainers": list, "volumes": list, "imagePullSecrets": list,
    "topologySpreadConstraints": list,
}
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
PROBE_HANDLERS = ("exec", "grpc", "httpGet", "tcpSocket")
PORT_NAME_RE = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_UNAVAILABLE_RE = re.compile(r"^([1-9][0-9]*|([1-9][0-9]?|100)%)$")


def shape_problems(value, variable, shapes):
    """Fields that are set (not null) but not a mapping, or not a list, where Kubernetes wants one."""
    problems = []
    for key, shape in shapes.items():
        field = value.get(key)
        if field is None:
            continue
        if shape is Mapping and not isinstance(field, Mapping):
            problems.append(f"{variable}.{key} must be a mapping (got {shown(field)}); write it as {{field: value}}.")
        elif shape is list and not is_list(field):
            problems.append(f"{variable}.{key} must be a list (got {shown(field)}); write it as [item, ...].")
    return problems


def probe_problems(container, variable):
    problems = []
    for probe in PROBES:
        if not isinstance(container.get(probe), Mapping):
            continue
        handlers = [key for key in container[probe] if key in PROBE_HANDLERS]
        if len(handlers) != 1:
            problems.append(f"{variable}.{probe} must have exactly one handler among {', '.join(PROBE_HANDLERS)} "
                            f"(got {', '.join(container[probe]) or 'none'}); for example {{tcpSocket: {{port: 6379}}}}, or null for no probe.")
    return problems


def port_number(value):
    """The port number in `value` (an int or a string of digits), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value) if 1 <= int(value) <= 65535 else None
    return None


def container_port_problems(ports, variable):
    problems = []
    for index, port in enumerate(ports):
        where = f"{variable}.ports[{index}]"
        number = port.get("containerPort") if isinstance(port, Mapping) else port
        if port_number(number) is None:
            problems.append(f"{where}.containerPort must be a port number between 1 and 65535 (got {shown(number)}).")
        name = port.get("name") if isinstance(port, Mapping) else None
        if name is not None and not (isinstance(name, str) and PORT_NAME_RE.match(name) and len(name) <= 15):
            problems.append(f"{where}.name must be at most 15 lower case letters, digits and -, with a letter (got {shown(name)}).")
    names = [port["name"] for port in ports if isinstance(port, Mapping) and isinstance(port.get("name"), str)]
    for name in duplicates(names):
        problems.append(f"{variable}.ports names the port {shown(name)} more than once; give every port its own name.")
    return problems


def container_problems(container, variable, default_image, default_ports):
    problems = shape_problems(container, variable, CONTAINER_SHAPES) + probe_problems(container, variable)
    # Without a name of its own, the container is named after the StatefulSet, whose name has a rule of its own.
    if "name" in container and not is_label(container["name"]):
        problems.append(f"{variable}.name must be an RFC 1123 label (got {shown(container['name'])}).")
    image = container.get("image", default_image)
    if not (isinstance(image, str) and re.search(r":[^/]+$", image) and not image.endswith(":latest")):
        source = f"{variable}.image" if "image" in container else "statefulset_image"
        problems.append(f"{source} needs a real tag other than latest (got {shown(image)}).")
    ports = container.get("ports", default_ports)
    if is_list(ports):
        problems += container_port_problems(ports, variable)
    env = container.get("env")
    if is_list(env):
        for index, item in enumerate(env):
            if not (isinstance(item, Mapping) and isinstance(item.get("name"), str)):
                problems.append(f"{variable}.env[{index}] needs a name, with a value or a valueFrom (got {shown(item)}).")
    return problems


def pod_spec_problems(pod_spec, variable, container_name, claim_names):
    problems = shape_problems(pod_spec, variable, POD_SPEC_SHAPES)
    extra = pod_spec.get("containers")
    if is_list(extra):
        for index, container in enumerate(extra):
            if not (isinstance(container, Mapping) and container.get("name") and container.get("image")):
                problems.append(f"{variable}.containers[{index}] must be a container with a name and an image (got {shown(container)}).")
        names = [container_name] + [c["name"] for c in extra if isinstance(c, Mapping) and c.get("name")]
        for name in duplicates(names):
            problems.append(f"{variable}.containers reuses the container name {shown(name)}; every container of the pod needs its own name.")
    volumes = pod_spec.get("volumes")
    if is_list(volumes):
        for volume in volumes:
            if isinstance(volume, Mapping) and volume.get("name") in claim_names:
                problems.append(f"{variable}.volumes names {shown(volume['name'])}, which is a claim template of statefulset_claim_templates; "
                                "give the volume another name.")
    return problems


def update_strategy_problems(strategy, variable):
    kind = strategy.get("type") or "RollingUpdate"
    if kind not in ("RollingUpdate", "OnDelete"):
        return [f"{variable}.type must be RollingUpdate or OnDelete (got {shown(kind)})."]
    rolling = strategy.get("rollingUpdate")
    if rolling is None:
        return []
    if kind != "RollingUpdate":
        return [f"{variable}.rollingUpdate only goes with type RollingUpdate (got type {shown(kind)}); remove it or set type RollingUpdate."]
    if not isinstance(rolling, Mapping):
        return [f"{variable}.rollingUpdate must be a mapping such as {{partition: 1, maxUnavailable: 1}} (got {shown(rolling)})."]
    problems = []
    partition = rolling.get("partition")
    if partition is not None and (isinstance(partition, bool) or not str(partition).isdigit()):
        problems.append(f"{variable}.rollingUpdate.partition must be an ordinal, 0 or more (got {shown(partition)}).")
    unavailable = rolling.get("maxUnavailable")
    if unavailable is not None and (isinstance(unavailable, bool) or not MAX_UNAVAILABLE_RE.match(str(unavailable))):
        problems.append(f"{variable}.rollingUpdate.maxUnavailable must be a number of pods, 1 or more, or a percentage such as 50% "
                        f"(got {shown(unavailable)}).")
    return problems


def pod_template_problems(variables):
    problems = []
    shaped = {}
    for key, variable in (("container", "statefulset_container"), ("pod_spec", "statefulset_pod_spec"),
                          ("update_strategy", "statefulset_update_strategy")):
        value = variables.get(key)
        if isinstance(value, Mapping):
            shaped[key] = value
        else:
            problems.append(f"{variable} must be a mapping (got {shown(value)}).")
    container = shaped.get("container", {})
    container_name = container.get("name", variables.get("name"))
    if "container" in shaped:
        problems += container_problems(container, "statefulset_container", variables.get("image"), variables.get("default_ports") or [])
    if "pod_spec" in shaped:
        templates = variables.get("claim_templates")
        claim_names = [t.get("name") for t in templates if isinstance(t, Mapping)] if is_list(templates) else []
        problems += pod_spec_problems(shaped["pod_spec"], "statefulset_pod_spec", container_name, claim_names)
    if "update_strategy" in shaped:
        problems += update_strategy_problems(shaped["update_strategy"], "statefulset_update_strategy")
    return problems


class FilterModule:
    def filters(self):
        return {"pod_template_problems": pod_template_problems}
