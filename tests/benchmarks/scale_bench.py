# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark stateful.pets.statefulset_scale against kubernetes.core.k8s_scale and kubectl, on one cluster, in one run.

    .venv/bin/python tests/benchmarks/scale_bench.py [--kubeconfig .kube/pets.kubeconfig] [--repeat 2] [--write]

1. Times scaling 1->5 and 5->1 of a pet set (pet image, HTTP readiness probe every second, no volumes) with each tool:
   "returned" is when the tool came back, "settled" is when a poll (every 0.2 s) first saw exactly the target pods, all Ready.
2. Reports the module's own overhead per step: from the moment it saw pod n Ready to its patch for n+1.
3. Counts the module's API requests for three steps up and three steps down at N=5 and N=50 (pause pods).
With --write the figures replace the scale section of docs/benchmarks.md. Everything it creates is in one namespace,
deleted at the end.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_doc import write_section

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
START, END = "<!-- scale_bench:start -->", "<!-- scale_bench:end -->"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or str(ROOT / ".kube" / "pets.kubeconfig"))
    parser.add_argument("--kubectl", default=(sorted(glob.glob("/var/cache/stateful-pets/bin-*/kubectl")) or ["kubectl"])[0])
    parser.add_argument("--image", default="pets/kubia:1.0.0")
    parser.add_argument("--light-image", default="registry.k8s.io/pause:3.10.1")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    return parser.parse_args()


class Bench:
    def __init__(self, args):
        self.args = args
        self.namespace = f"pets-bench-{random.getrandbits(32):08x}"
        self.load = os.getloadavg()
        self.links = tempfile.mkdtemp(prefix="scale-bench-")
        os.makedirs(f"{self.links}/ansible_collections/stateful")
        os.symlink(ROOT, f"{self.links}/ansible_collections/stateful/pets")
        self.env = dict(os.environ, KUBECONFIG=args.kubeconfig, K8S_AUTH_KUBECONFIG=args.kubeconfig, ANSIBLE_COLLECTIONS_PATH=self.links,
                        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")

    def kubectl(self, *args, stdin=None):
        command = [self.args.kubectl, "--kubeconfig", self.args.kubeconfig, *args]
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=self.env, check=False)
        if done.returncode:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def ansible(self, module, module_args):
        command = [str(BIN / "ansible"), "localhost", "-m", module, "-a", json.dumps(module_args)]
        done = subprocess.run(command, capture_output=True, text=True, env=self.env, check=False)
        try:
            return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError) as exc:
            raise RuntimeError(f"ansible -m {module} gave no result: {done.stdout[-2000:]} {done.stderr[-2000:]}") from exc

    def apply_set(self, name, image, replicas, probe, parallel):
        container = {"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"}
        if probe:
            container["readinessProbe"] = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
        sts = {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"serviceName": name, "replicas": replicas, "podManagementPolicy": "Parallel" if parallel else "OrderedReady",
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]}}},
        }
        self.kubectl("apply", "-f", "-", stdin=json.dumps(sts))
        self.settle(name, replicas, time.monotonic())

    def settle(self, name, replicas, started, limit=600):
        """Seconds from `started` until exactly `replicas` pods exist, all Ready and none terminating."""
        while time.monotonic() - started < limit:
            pods = json.loads(self.kubectl("get", "pods", "-n", self.namespace, "-l", f"app={name}", "-o", "json"))["items"]
            ready = [p for p in pods if not p["metadata"].get("deletionTimestamp")
                     and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
            if len(pods) == replicas and len(ready) == replicas:
                return time.monotonic() - started
            for pod in pods:
                for status in pod["status"].get("containerStatuses", []):
                    reason = (status.get("state", {}).get("waiting") or {}).get("reason", "")
                    if reason in ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull"):
                        raise RuntimeError(f"Pod {self.namespace}/{pod['metadata']['name']} cannot get its image ({reason}). Put the image on the nodes first "
                                           "(the stateful.pets.pet_image role, or any integration target that uses setup_pets).")
            time.sleep(0.2)
        raise RuntimeError(f"{self.namespace}/{name} did not settle at {replicas} pods within {limit} s")

    # the three tools
    def run_module(self, name, replicas):
        result = self.ansible("stateful.pets.statefulset_scale", {"name": name, "namespace": self.namespace, "replicas": replicas, "step_timeout": 300})
        if result.get("failed"):
            raise RuntimeError(result.get("msg"))
        steps = result["steps"]
        overheads = [steps[i + 1]["patched_at"] - steps[i]["done_at"] for i in range(len(steps) - 1) if steps[i]["action"] == "add"]
        return overheads, steps[-1]["done_at"] - steps[0]["patched_at"]

    def run_k8s_scale(self, name, replicas):
        module_args = {"api_version": "apps/v1", "kind": "StatefulSet", "name": name, "namespace": self.namespace,
                       "replicas": replicas, "wait": True, "wait_timeout": 300}
        result = self.ansible("kubernetes.core.k8s_scale", module_args)
        if result.get("failed"):
            raise RuntimeError(result.get("msg"))
        return [], None

    def run_kubectl(self, name, replicas):
        self.kubectl("scale", "-n", self.namespace, f"statefulset/{name}", f"--replicas={replicas}")
        self.kubectl("rollout", "status", "-n", self.namespace, f"statefulset/{name}", "--timeout=300s")
        return [], None

    def timings(self, repeat):
        tools = [("stateful.pets.statefulset_scale", self.run_module), ("kubernetes.core.k8s_scale (wait)", self.run_k8s_scale),
                 ("kubectl scale + rollout status", self.run_kubectl)]
        self.apply_set("pets", self.args.image, 1, probe=True, parallel=False)
        rows, overheads = collections.defaultdict(list), []
        for _round in range(repeat):
            for label, tool in tools:
                for before, after in ((1, 5), (5, 1)):
                    started = time.monotonic()
                    step_overheads, inside = tool("pets", after)
                    returned = time.monotonic() - started
                    settled = self.settle("pets", after, started)
                    overheads.extend(step_overheads)
                    rows[(label, f"{before}->{after}")].append((returned, settled, inside))
        return rows, overheads

    # API requests of the module, counted in process
    def count_requests(self, n):
        sys.path.insert(0, self.links)
        from ansible_collections.stateful.pets.plugins.module_utils._k8s import Cluster
        from ansible_collections.stateful.pets.plugins.module_utils._reporter import Reporter
        from ansible_collections.stateful.pets.plugins.module_utils._scale_run import Scaler

        name = f"light{n}"
        self.apply_set(name, self.args.light_image, n - 3, probe=False, parallel=True)
        cluster = Cluster.from_params({"kubeconfig": self.args.kubeconfig})
        counts = collections.Counter()
        send = cluster.api_client.rest_client.request

        def counted(method, url, *args, **kwargs):
            path, _sep, query = url.partition("?")
            collection = path.rsplit("/", 1)[-1] in ("pods", "persistentvolumeclaims", "events", "statefulsets")
            kind = "WATCH" if "watch=true" in query.lower() else "LIST" if method == "GET" and collection else method
            counts[kind] += 1
            return send(method, url, *args, **kwargs)

        cluster.api_client.rest_client.request = counted
        found = {}
        for direction, target in (("up", n), ("down", n - 3)):
            counts.clear()
            params = {"name": name, "namespace": self.namespace, "replicas": target, "step_timeout": 120, "timeout": 600,
                      "min_ready_seconds": None, "allow_unhealthy_scale_down": False}
            Scaler(cluster, params, False, Reporter(on_progress=print)).run()
            found[direction] = dict(counts)
        return found

    def cleanup(self):
        subprocess.run([self.args.kubectl, "--kubeconfig", self.args.kubeconfig, "delete", "namespace", self.namespace, "--wait=false"],
                       capture_output=True, env=self.env, check=False)


def node_count(bench):
    return len(json.loads(bench.kubectl("get", "nodes", "-o", "json"))["items"])


def render(bench, rows, overheads, requests, started):
    lines = [START, "## Scaling: statefulset_scale vs k8s_scale vs kubectl", "",
             f"Measured by `tests/benchmarks/scale_bench.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, on the local kind cluster "
             f"({node_count(bench)} nodes), all in one run. Pods: `{bench.args.image}`, HTTP readiness probe every 1 s, no volumes, OrderedReady.",
             f"Host: {os.cpu_count()} CPUs, 1-minute load average {bench.load[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
             "(the host is shared, so expect noise).",
             "\"Returned\" is when the tool came back; \"settled\" is when a poll every 0.2 s first saw exactly the target pods, all Ready.",
             "The Ansible rows include starting `ansible` and the module; \"in module\" is the module's own first patch to last pod Ready or gone.", "",
             "| Tool | Scale | Runs | Returned (s, median) | Settled (s, median) | In module (s, median) |", "|---|---|---|---|---|---|"]
    for (label, scale), values in rows.items():
        inside = [v[2] for v in values if v[2] is not None]
        lines.append(f"| {label} | {scale} | {len(values)} | {statistics.median(v[0] for v in values):.2f} | {statistics.median(v[1] for v in values):.2f} | "
                     + (f"{statistics.median(inside):.2f} |" if inside else "- |"))
    lines += ["", "`kubectl rollout status` does not wait for removed pods to go, so its 5->1 \"returned\" can be earlier than \"settled\";",
              "`k8s_scale` and `kubectl` leave the order to the controller, which is only ordered because this set is OrderedReady.", ""]
    if overheads:
        lines += [f"**Module overhead per step** (pod n seen Ready -> patch for n+1), {len(overheads)} steps: median {statistics.median(overheads):.3f} s, "
                  f"max {max(overheads):.3f} s (target < 0.5 s). It includes the watch until the StatefulSet status counts pod n.", ""]
    lines += ["**API requests of the module** for 3 steps (N-3 -> N and back), counted in process at the HTTP layer, pause pods, Parallel set "
              "(POST: the Event each step records):", "",
              "| N | Direction | Requests by kind | Total |", "|---|---|---|---|"]
    for n, found in requests.items():
        for direction, counts in found.items():
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            lines.append(f"| {n} | {direction} | {kinds} | {sum(counts.values())} |")
    lines += ["", END]
    return "\n".join(lines)


def main():
    args = parse_args()
    bench = Bench(args)
    started = time.time()
    bench.kubectl("create", "namespace", bench.namespace)
    try:
        rows, overheads = bench.timings(args.repeat)
        requests = {n: bench.count_requests(n) for n in (5, 50)}
    finally:
        bench.cleanup()
    section = render(bench, rows, overheads, requests, started)
    print(section)
    if args.write:
        write_section(section, START, END)


if __name__ == "__main__":
    main()
