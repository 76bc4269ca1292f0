# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.stateful.pets.plugins.filter.pod_template_problems import FilterModule, pod_template_problems

KUBIA_PORTS = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
REDIS = {
    "image": "pets/redis:1.0.0",
    "command": ["/usr/local/bin/start-redis"],
    "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, {"name": "MODE", "value": "x"}],
    "ports": [{"name": "redis", "containerPort": 6379}],
    "readinessProbe": {"exec": {"command": ["redis-cli", "ping"]}, "periodSeconds": 2},
    "livenessProbe": {"tcpSocket": {"port": "redis"}},
    "resources": {"requests": {"cpu": "50m"}},
    "securityContext": {"runAsUser": 10001, "runAsNonRoot": True},
}


def variables(**changes):
    values = {"container": {}, "pod_spec": {}, "update_strategy": {"type": "RollingUpdate"}, "name": "kubia",
              "image": "pets/kubia:1.0.0", "default_ports": KUBIA_PORTS, "claim_templates": [{"name": "data", "mount_path": "/var/data"}]}
    values.update(changes)
    return values


@pytest.mark.parametrize("changes", [
    {},
    {"container": REDIS},
    {"container": {"readinessProbe": None, "ports": None}},
    {"container": {"readinessProbe": {"grpc": {"port": 9000}}}},
    {"pod_spec": {"securityContext": {"fsGroup": 10001}, "serviceAccountName": "pets", "tolerations": [],
                  "containers": [{"name": "exporter", "image": "exporter:1"}], "volumes": [{"name": "conf", "configMap": {"name": "c"}}]}},
    {"update_strategy": {"type": "OnDelete"}},
    {"update_strategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1, "maxUnavailable": 2}}},
    {"update_strategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": "50%"}}},
])
def test_good_variables_have_no_problem(changes):
    assert pod_template_problems(variables(**changes)) == []


@pytest.mark.parametrize("changes, problem", [
    ({"container": "redis"}, 'statefulset_container must be a mapping (got "redis").'),
    ({"pod_spec": ["fsGroup"]}, 'statefulset_pod_spec must be a mapping (got ["fsGroup"]).'),
    ({"update_strategy": "OnDelete"}, 'statefulset_update_strategy must be a mapping (got "OnDelete").'),
    ({"container": {"resources": "lots"}}, 'statefulset_container.resources must be a mapping (got "lots"); write it as {field: value}.'),
    ({"container": {"securityContext": 1000}}, "statefulset_container.securityContext must be a mapping (got 1000)"),
    ({"container": {"command": "redis-server"}}, 'statefulset_container.command must be a list (got "redis-server"); write it as [item, ...].'),
    ({"container": {"env": {"A": "b"}}}, 'statefulset_container.env must be a list (got {"A": "b"})'),
    ({"pod_spec": {"securityContext": 10001}}, "statefulset_pod_spec.securityContext must be a mapping (got 10001)"),
    ({"pod_spec": {"tolerations": "all"}}, 'statefulset_pod_spec.tolerations must be a list (got "all")'),
    ({"container": {"readinessProbe": {"udpSocket": {"port": 53}}}},
     "statefulset_container.readinessProbe must have exactly one handler among exec, grpc, httpGet, tcpSocket (got udpSocket);"
     " for example {tcpSocket: {port: 6379}}, or null for no probe."),
    ({"container": {"livenessProbe": {"tcpSocket": {"port": 1}, "exec": {"command": ["true"]}}}},
     "statefulset_container.livenessProbe must have exactly one handler among exec, grpc, httpGet, tcpSocket (got tcpSocket, exec)"),
    ({"container": {"startupProbe": {"periodSeconds": 1}}}, "statefulset_container.startupProbe must have exactly one handler"),
    ({"container": {"readinessProbe": "tcp"}}, 'statefulset_container.readinessProbe must be a mapping (got "tcp")'),
    ({"container": {"ports": [{"name": "redis", "containerPort": 0}]}},
     "statefulset_container.ports[0].containerPort must be a port number between 1 and 65535 (got 0)."),
    ({"container": {"ports": [{"name": "redis", "containerPort": 65536}]}}, "statefulset_container.ports[0].containerPort must be a port number"),
    ({"container": {"ports": [{"name": "redis"}]}}, "statefulset_container.ports[0].containerPort must be a port number between 1 and 65535 (got null)."),
    ({"container": {"ports": [{"name": "a-very-long-port-name", "containerPort": 1}]}},
     'statefulset_container.ports[0].name must be at most 15 lower case letters, digits and -, with a letter (got "a-very-long-port-name").'),
    ({"container": {"ports": [{"name": "redis", "containerPort": 6379}, {"name": "redis", "containerPort": 6380}]}},
     'statefulset_container.ports names the port "redis" more than once; give every port its own name.'),
    ({"container": {"env": [{"value": "x"}]}}, 'statefulset_container.env[0] needs a name, with a value or a valueFrom (got {"value": "x"}).'),
    ({"container": {"image": "redis"}}, 'statefulset_container.image needs a real tag other than latest (got "redis").'),
    ({"container": {"image": "redis:latest"}}, 'statefulset_container.image needs a real tag other than latest (got "redis:latest").'),
    ({"image": "registry:5000/pets"}, 'statefulset_image needs a real tag other than latest (got "registry:5000/pets").'),
    ({"container": {"name": "Redis"}}, 'statefulset_container.name must be an RFC 1123 label (got "Redis").'),
    ({"pod_spec": {"containers": [{"name": "sidecar"}]}},
     'statefulset_pod_spec.containers[0] must be a container with a name and an image (got {"name": "sidecar"}).'),
    ({"pod_spec": {"containers": [{"name": "kubia", "image": "x:1"}]}},
     'statefulset_pod_spec.containers reuses the container name "kubia"; every container of the pod needs its own name.'),
    ({"pod_spec": {"volumes": [{"name": "data", "emptyDir": {}}]}},
     'statefulset_pod_spec.volumes names "data", which is a claim template of statefulset_claim_templates; give the volume another name.'),
    ({"update_strategy": {"type": "Recreate"}}, 'statefulset_update_strategy.type must be RollingUpdate or OnDelete (got "Recreate").'),
    ({"update_strategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}},
     'statefulset_update_strategy.rollingUpdate only goes with type RollingUpdate (got type "OnDelete"); remove it or set type RollingUpdate.'),
    ({"update_strategy": {"rollingUpdate": 2}},
     "statefulset_update_strategy.rollingUpdate must be a mapping such as {partition: 1, maxUnavailable: 1} (got 2)."),
    ({"update_strategy": {"rollingUpdate": {"partition": -1}}}, "statefulset_update_strategy.rollingUpdate.partition must be an ordinal, 0 or more (got -1)."),
    ({"update_strategy": {"rollingUpdate": {"maxUnavailable": 0}}},
     "statefulset_update_strategy.rollingUpdate.maxUnavailable must be a number of pods, 1 or more, or a percentage such as 50% (got 0)."),
    ({"update_strategy": {"rollingUpdate": {"maxUnavailable": "150%"}}}, "statefulset_update_strategy.rollingUpdate.maxUnavailable must be"),
])
def test_each_problem_names_the_variable_the_value_and_the_fix(changes, problem):
    problems = pod_template_problems(variables(**changes))
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem)


def test_the_default_container_ports_are_checked_when_the_container_keeps_them():
    assert pod_template_problems(variables(default_ports=[{"name": "http", "containerPort": 0}])) == [
        "statefulset_container.ports[0].containerPort must be a port number between 1 and 65535 (got 0)."]


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()["pod_template_problems"] is pod_template_problems
