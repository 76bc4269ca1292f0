# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Smoke test of the test cluster: it must be a real cluster, not a stand-in.

Run with `make smoke` (it brings the cluster up first). A cluster that is down fails every test here.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import subprocess
import time
import uuid

import pytest

CLUSTER_DIR = pathlib.Path(__file__).resolve().parent
REPO_ROOT = CLUSTER_DIR.parent.parent
WORKERS = ("pets-worker", "pets-worker2")
TOOLBOX = "registry.local/pets-toolbox:v1"
GRACE_PERIOD = 20  # node-monitor-grace-period in kind.yaml.in


def pins():
    values = {}
    for line in (CLUSTER_DIR / "versions.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


def cluster_env():
    """What tests/cluster/lib.sh computes: the kubeconfig, the hostPath directory and the kubectl to use."""
    names = ("PETS_KUBECONFIG", "PETS_HOSTPATH_DIR", "BIN_DIR", "PETS_NODE_DISK_PATH")
    script = f". {shlex.quote(str(CLUSTER_DIR / 'lib.sh'))}; " + "; ".join(f'echo "${name}"' for name in names)
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True).stdout.split("\n")
    return {"kubeconfig": out[0], "hostpath": out[1], "kubectl": os.path.join(out[2], "kubectl"), "node_disk": out[3]}


ENV = cluster_env()


def kubectl(*args, check=True, stdin=None, timeout=120):
    cmd = [ENV["kubectl"], "--kubeconfig", ENV["kubeconfig"], *args]
    result = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result.stdout


def kubectl_json(*args):
    return json.loads(kubectl(*args, "-o", "json"))


def node_ready(name):
    node = kubectl_json("get", "node", name)
    return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")


def wait_for(predicate, timeout, interval=1.0):
    """Seconds until predicate() is true; fails after timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def pod(name, node, command, volumes=None, mounts=None, labels=None, hostname=None, subdomain=None):
    spec = {
        "nodeName": node,
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "main", "image": TOOLBOX, "imagePullPolicy": "IfNotPresent", "command": ["bash", "-c", command],
                        "volumeMounts": mounts or []}],
        "volumes": volumes or [],
    }
    if hostname:
        spec.update(hostname=hostname, subdomain=subdomain)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


@pytest.fixture(scope="module")
def namespace():
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def apply(namespace, *objects):
    kubectl("-n", namespace, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def wait_ready(namespace, *names):
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "--timeout=120s", *[f"pod/{n}" for n in names])


def test_three_nodes_ready_at_the_pinned_version():
    nodes = kubectl_json("get", "nodes")["items"]
    names = sorted(n["metadata"]["name"] for n in nodes)
    assert names == ["pets-control-plane", "pets-worker", "pets-worker2"]
    images = subprocess.run(["docker", "ps", "--filter", "label=io.x-k8s.kind.cluster=pets", "--format", "{{.Image}}"],
                            check=True, capture_output=True, text=True).stdout.split()
    expected = pins()["STOCK_NODE_IMAGE"].split(":")[1] if pins()["STOCK_NODE_IMAGE"] in images else pins()["K8S_VERSION"]
    for node in nodes:
        assert node["status"]["nodeInfo"]["kubeletVersion"] == expected
        assert node_ready(node["metadata"]["name"]) == "True"


@pytest.mark.parametrize("worker", WORKERS)
def test_a_pod_on_each_worker_runs_a_command(namespace, worker):
    name = f"echo-{worker}"
    apply(namespace, pod(name, worker, "sleep infinity"))
    wait_ready(namespace, name)
    out = kubectl("-n", namespace, "exec", name, "--", "bash", "-c", "echo answer-from-$(hostname)")
    assert out.strip() == f"answer-from-{name}"


def test_headless_service_gives_a_and_srv_records(namespace):
    labels = {"app": "smoke-dns"}
    server = pod("server", WORKERS[1], "echo served-by-server > /tmp/index.html && cd /tmp && exec python3 -m http.server 8080",
                 labels=labels, hostname="server", subdomain="peers")
    client = pod("client", WORKERS[0], "sleep infinity", labels=labels, hostname="client", subdomain="peers")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "peers"},
               "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "http", "port": 8080}]}}
    apply(namespace, service, server, client)
    wait_ready(namespace, "server", "client")
    server_ip = kubectl_json("-n", namespace, "get", "pod", "server")["status"]["podIP"]
    fqdn = f"server.peers.{namespace}.svc.cluster.local"

    def dig(*query):
        return kubectl("-n", namespace, "exec", "client", "--", "dig", "+short", "+search", *query).split()

    wait_for(lambda: dig(fqdn) == [server_ip], 30)
    srv = dig("SRV", f"_http._tcp.peers.{namespace}.svc.cluster.local")
    # Each SRV answer is "priority weight port target".
    targets = sorted(srv[i + 3] for i in range(0, len(srv), 4))
    assert targets == [f"client.peers.{namespace}.svc.cluster.local.", f"server.peers.{namespace}.svc.cluster.local."]
    assert set(srv[2::4]) == {"8080"}
    # Across nodes, by name: the pod network routes between workers.
    page = kubectl("-n", namespace, "exec", "client", "--", "python3", "-c",
                   f"import urllib.request; print(urllib.request.urlopen('http://{fqdn}:8080/index.html', timeout=10).read().decode())")
    assert page.strip() == "served-by-server"


def test_hostpath_is_shared_between_workers(namespace):
    directory = f"{ENV['hostpath']}/{namespace}"
    token = uuid.uuid4().hex
    volume = [{"name": "shared", "hostPath": {"path": directory, "type": "DirectoryOrCreate"}}]
    mount = [{"name": "shared", "mountPath": "/shared"}]
    apply(namespace, pod("writer", WORKERS[0], f"echo {token} > /shared/proof && sleep infinity", volume, mount))
    wait_ready(namespace, "writer")
    seen = subprocess.run(["docker", "exec", WORKERS[1], "cat", f"{directory}/proof"], capture_output=True, text=True, check=True).stdout
    assert seen.strip() == token


def test_node_disk_is_private_to_its_node(namespace):
    directory = f"{ENV['node_disk']}/{namespace}"
    token = uuid.uuid4().hex
    volume = [{"name": "own", "hostPath": {"path": directory, "type": "DirectoryOrCreate"}}]
    mount = [{"name": "own", "mountPath": "/own"}]
    apply(namespace, pod("local-writer", WORKERS[0], f"echo {token} > /own/proof && sleep infinity", volume, mount))
    wait_ready(namespace, "local-writer")
    here = subprocess.run(["docker", "exec", WORKERS[0], "cat", f"{directory}/proof"], capture_output=True, text=True, check=True)
    assert here.stdout.strip() == token
    elsewhere = subprocess.run(["docker", "exec", WORKERS[1], "test", "-e", f"{directory}/proof"], check=False)
    assert elsewhere.returncode != 0, f"{WORKERS[1]} sees {directory}/proof, which only {WORKERS[0]} wrote"


def test_paused_worker_goes_unknown_and_comes_back():
    worker = WORKERS[1]
    assert node_ready(worker) == "True"
    subprocess.run(["docker", "pause", worker], check=True)
    try:
        lost = wait_for(lambda: node_ready(worker) == "Unknown", GRACE_PERIOD + 15)
    finally:
        subprocess.run(["docker", "unpause", worker], check=True)
    back = wait_for(lambda: node_ready(worker) == "True", 60)
    print(f"{worker}: Ready=Unknown {lost:.1f} s after docker pause, Ready {back:.1f} s after docker unpause")


def kind_node_containers():
    out = subprocess.run(["docker", "ps", "--filter", "label=io.x-k8s.kind.cluster=pets", "--format", "{{.ID}} {{.Names}}"],
                         check=True, capture_output=True, text=True).stdout
    return sorted(out.split("\n"))


def test_make_cluster_when_up_is_a_noop():
    before = kind_node_containers()
    result = subprocess.run(["bash", str(CLUSTER_DIR / "up.sh")], capture_output=True, text=True, check=True)
    assert "is already up; nothing to do" in result.stderr
    assert kind_node_containers() == before


def test_a_fresh_checkout_reuses_the_cluster_and_gets_its_kubeconfig_and_image_base(tmp_path):
    # A clean clone has no .kube directory: it must reuse the healthy cluster, not recreate it, and still get both files.
    kube_dir = tmp_path / "fresh-clone" / ".kube"
    before = (REPO_ROOT / ".kube" / "pet-image-base").read_text(encoding="utf-8")
    started = kind_node_containers()
    result = subprocess.run(["bash", str(CLUSTER_DIR / "up.sh")], capture_output=True, text=True, check=True,
                            env={**os.environ, "PETS_KUBECONFIG": str(kube_dir / "pets.kubeconfig")})
    assert "is already up; nothing to do" in result.stderr, result.stderr
    assert (kube_dir / "pet-image-base").read_text(encoding="utf-8") == before
    nodes = subprocess.run([ENV["kubectl"], "--kubeconfig", str(kube_dir / "pets.kubeconfig"), "get", "nodes", "-o", "name"],
                           check=True, capture_output=True, text=True).stdout.split()
    assert len(nodes) == 3
    assert kind_node_containers() == started
