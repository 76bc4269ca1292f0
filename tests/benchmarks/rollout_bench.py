# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark stateful.pets.statefulset_rollout against kubectl, on one cluster, in one run.

    .venv/bin/python tests/benchmarks/rollout_bench.py [--kubeconfig .kube/pets.kubeconfig] [--repeat 6] [--write]

Run it under `/work/tools/cluster-lock exclusive` (or on a cluster of your own): the timings are sensitive to load.

1. Updates of 3 pets (the pet image, HTTP readiness probe every second, no volumes, OrderedReady, RollingUpdate) to
   another tag, alternately with `ansible localhost -m stateful.pets.statefulset_rollout` and with `kubectl set image`
   + `kubectl rollout status`. Each run flips the set between two tags of the same content (the second one is put on
   every node with `ctr images tag` and removed at the end), the tools take turns and the order rotates every round.
   "Wall" is from the command's start until it returned, with every pod Ready on the new revision.
2. The module's own overhead per ordinal: from the moment it saw pod n Ready on the new revision to its patch for n-1.
3. A broken update (a tag no node holds), from the update until every pet is Ready on the old revision again:
   the module with on_failure=rollback (its step_timeout included), against `kubectl set image` followed, once the first
   pod is stuck, by `kubectl rollout undo`, then watched for --undo-watch seconds (300 by default).
With --write the figures replace the rollout section of docs/benchmarks.md. Everything it creates is deleted.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks_doc import write_section

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
START, END = "<!-- rollout_bench:start -->", "<!-- rollout_bench:end -->"
NAME, REPLICAS, CONTAINER = "pets", 3, "app"
OURS, KUBECTL = "stateful.pets.statefulset_rollout", "kubectl set image + rollout status"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or str(ROOT / ".kube" / "pets.kubeconfig"))
    parser.add_argument("--kubectl", default=(sorted(glob.glob("/var/cache/stateful-pets/bin-*/kubectl")) or ["kubectl"])[0])
    parser.add_argument("--image", default="pets/kubia:1.0.0", help="the pet image, already on every node")
    parser.add_argument("--repeat", type=int, default=6, help="timed updates per tool")
    parser.add_argument("--step-timeout", type=int, default=30, help="the module's step_timeout in the broken update")
    parser.add_argument("--undo-watch", type=int, default=300, help="seconds to watch the set after kubectl rollout undo")
    parser.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    return parser.parse_args()


class Bench:
    def __init__(self, args):
        self.args = args
        self.namespace = f"pets-rollout-bench-{random.getrandbits(32):08x}"
        repository = args.image.rpartition(":")[0]
        self.images = (args.image, f"{repository}:bench-{self.namespace}")
        self.broken = f"{repository}:broken-{self.namespace}"
        self.load = os.getloadavg()
        self.links = tempfile.mkdtemp(prefix="rollout-bench-")
        os.makedirs(f"{self.links}/ansible_collections/stateful")
        os.symlink(ROOT, f"{self.links}/ansible_collections/stateful/pets")
        self.env = dict(os.environ, KUBECONFIG=args.kubeconfig, K8S_AUTH_KUBECONFIG=args.kubeconfig, ANSIBLE_COLLECTIONS_PATH=self.links,
                        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")

    def kubectl(self, *args, stdin=None, check=True):
        command = [self.args.kubectl, "--kubeconfig", self.args.kubeconfig, *args]
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=self.env, check=False)
        if check and done.returncode:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def nodes(self):
        return [node["metadata"]["name"] for node in json.loads(self.kubectl("get", "nodes", "-o", "json"))["items"]]

    def tag_on_nodes(self, present):
        """The second tag of the pet image on every node (kind names its node containers after the nodes)."""
        source, target = (f"docker.io/{image}" for image in self.images)
        for node in self.nodes():
            verb = ["tag", "--force", source, target] if present else ["rm", target]
            subprocess.run(["docker", "exec", node, "ctr", "-n", "k8s.io", "images", *verb], capture_output=True, check=present)

    def apply_set(self):
        container = {"name": CONTAINER, "image": self.images[0], "imagePullPolicy": "IfNotPresent",
                     "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}}
        sts = {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": NAME, "namespace": self.namespace},
            "spec": {"serviceName": NAME, "replicas": REPLICAS, "selector": {"matchLabels": {"app": NAME}},
                     "template": {"metadata": {"labels": {"app": NAME}},
                                  "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]}}},
        }
        self.kubectl("apply", "-f", "-", stdin=json.dumps(sts))
        self.kubectl("rollout", "status", "-n", self.namespace, f"statefulset/{NAME}", "--timeout=300s")

    def statefulset(self):
        return json.loads(self.kubectl("get", "statefulset", "-n", self.namespace, NAME, "-o", "json"))

    def all_ready_on(self, revision):
        """Every pet exists, is Ready, is not terminating and runs `revision`."""
        pods = json.loads(self.kubectl("get", "pods", "-n", self.namespace, "-l", f"app={NAME}", "-o", "json"))["items"]
        return len(pods) == REPLICAS and all(
            not pod["metadata"].get("deletionTimestamp") and pod["metadata"]["labels"].get("controller-revision-hash") == revision
            and any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])) for pod in pods)

    def first_pod_stuck(self, limit=120):
        """Seconds until the highest pet waits on an image it cannot pull."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            pod = json.loads(self.kubectl("get", "pod", "-n", self.namespace, f"{NAME}-{REPLICAS - 1}", "-o", "json", check=False) or "{}")
            for status in pod.get("status", {}).get("containerStatuses", []):
                if (status.get("state", {}).get("waiting") or {}).get("reason") in ("ErrImagePull", "ImagePullBackOff"):
                    return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"{self.namespace}/{NAME}-{REPLICAS - 1} did not get stuck on {self.broken} within {limit} s")

    # the two tools
    def module(self, image, **extra):
        module_args = dict({"name": NAME, "namespace": self.namespace, "image": image, "step_timeout": 300}, **extra)
        command = [str(BIN / "ansible"), "localhost", "-m", OURS, "-a", json.dumps(module_args)]
        done = subprocess.run(command, capture_output=True, text=True, env=self.env, check=False)
        try:
            return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError) as exc:
            raise RuntimeError(f"ansible -m {OURS} gave no result: {done.stdout[-2000:]} {done.stderr[-2000:]}") from exc

    def run_module(self, image):
        result = self.module(image)
        if result.get("failed"):
            raise RuntimeError(result.get("msg"))
        steps = result["steps"]
        if [step["ordinal"] for step in steps] != list(range(REPLICAS - 1, -1, -1)):
            raise RuntimeError(f"{OURS} took the ordinals {[step['ordinal'] for step in steps]}")
        return [steps[n + 1]["patched_at"] - steps[n]["ready_at"] for n in range(len(steps) - 1)]

    def run_kubectl(self, image):
        self.kubectl("set", "image", "-n", self.namespace, f"statefulset/{NAME}", f"{CONTAINER}={image}")
        self.kubectl("rollout", "status", "-n", self.namespace, f"statefulset/{NAME}", "--timeout=300s")
        return []

    def timings(self, repeat):
        """{tool: [wall seconds]} and the module's overheads per ordinal; each run flips the set to the other tag."""
        walls, overheads, flips = {OURS: [], KUBECTL: []}, [], 0
        tools = [(OURS, self.run_module), (KUBECTL, self.run_kubectl)]
        for round_number in range(repeat):
            for label, tool in tools[round_number % 2:] + tools[:round_number % 2]:
                flips += 1
                image = self.images[flips % 2]
                started = time.monotonic()
                overheads.extend(tool(image))
                walls[label].append(time.monotonic() - started)
                revision = self.statefulset()["status"]["updateRevision"]
                if not self.all_ready_on(revision):
                    raise RuntimeError(f"{label} returned before every pet was Ready on {revision}")
        return walls, overheads

    def broken_module(self):
        """Seconds from the broken update to every pet Ready on the old revision, and the module's report."""
        old = self.statefulset()["status"]["updateRevision"]
        started = time.monotonic()
        result = self.module(self.broken, step_timeout=self.args.step_timeout)
        seconds = time.monotonic() - started
        if not (result.get("rolled_back") and self.all_ready_on(old)):
            raise RuntimeError(f"{OURS} did not roll back: {result.get('msg')}")
        return seconds, result

    def broken_kubectl(self):
        """Seconds to every pet Ready on the old revision after set image + rollout undo, or None within the watch."""
        old = self.statefulset()["status"]["updateRevision"]
        started = time.monotonic()
        self.kubectl("set", "image", "-n", self.namespace, f"statefulset/{NAME}", f"{CONTAINER}={self.broken}")
        stuck_after = self.first_pod_stuck()
        self.kubectl("rollout", "undo", "-n", self.namespace, f"statefulset/{NAME}")
        undone = time.monotonic()
        while time.monotonic() - undone < self.args.undo_watch:
            if self.all_ready_on(old):
                return time.monotonic() - started, stuck_after
            time.sleep(1)
        # Unstick it the way a human must, so that nothing is left behind.
        self.kubectl("delete", "pod", "-n", self.namespace, f"{NAME}-{REPLICAS - 1}", "--wait=false")
        return None, stuck_after

    def cleanup(self):
        subprocess.run([self.args.kubectl, "--kubeconfig", self.args.kubeconfig, "delete", "namespace", self.namespace, "--wait=false"],
                       capture_output=True, env=self.env, check=False)
        self.tag_on_nodes(present=False)


def render(bench, walls, overheads, broken, started):
    module_seconds, report = broken["module"]
    undo_seconds, stuck_after = broken["kubectl"]
    ours, theirs = statistics.median(walls[OURS]), statistics.median(walls[KUBECTL])
    lines = [START, "## Updating: statefulset_rollout vs kubectl set image", "",
             f"Measured by `tests/benchmarks/rollout_bench.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, on the local kind cluster "
             f"({len(bench.nodes())} nodes), all in one run, under the exclusive cluster lock. {REPLICAS} pets on `{bench.args.image}`, HTTP readiness "
             "probe every 1 s, no volumes, OrderedReady, RollingUpdate; each update flips the set between two tags of the same content.",
             f"Host: {os.cpu_count()} CPUs, 1-minute load average {bench.load[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
             "(the host is shared, so expect noise).",
             "\"Wall\" is from the command's start until it returned with every pod Ready on the new revision; the module's row includes "
             "starting `ansible` (it runs in the controller).", "",
             "| Tool | Updates | Wall (s, median) | Wall (s, min - max) |", "|---|---|---|---|"]
    for label, values in walls.items():
        lines.append(f"| {label} | {len(values)} | {statistics.median(values):.2f} | {min(values):.2f} - {max(values):.2f} |")
    verdict = "met" if ours <= 1.2 * theirs else "not met"
    lines += ["", f"**Total wall time:** the module takes {ours / theirs:.2f}x kubectl's median (target <= 1.2x: {verdict}).", ""]
    if overheads:
        verdict = "met" if statistics.median(overheads) < 0.5 else "not met"
        lines += [f"**Module overhead per ordinal** (pod n seen Ready on the new revision -> partition patch for n-1), {len(overheads)} steps: "
                  f"median {statistics.median(overheads):.3f} s, max {max(overheads):.3f} s (target < 0.5 s: {verdict}). It includes the watch "
                  "until the StatefulSet status counts pod n.", ""]
    lines += ["**A broken update** (a tag no node holds), until every pet is Ready on the old revision again:", "",
              "| Tool | Seconds | What happened |", "|---|---|---|",
              f"| {OURS}, step_timeout={bench.args.step_timeout} | {module_seconds:.1f} | timed out on "
              f"{NAME}-{report.get('stopped_at')}, restored the template, deleted {len(report.get('rollback_steps') or [])} stuck pod(s), "
              f"rolled_back={report.get('rolled_back')} |"]
    undo = (f"{undo_seconds:.1f}" if undo_seconds is not None else f"never within {bench.args.undo_watch} s")
    lines += [f"| kubectl set image, then rollout undo once {NAME}-{REPLICAS - 1} was stuck ({stuck_after:.1f} s) | {undo} | "
              + ("the controller replaced the stuck pod itself |" if undo_seconds is not None
                 else f"{NAME}-{REPLICAS - 1} stayed on the broken revision (kubernetes/kubernetes#67250) |"), "", END]
    return "\n".join(lines)


def main():
    args = parse_args()
    bench = Bench(args)
    started = time.time()
    bench.kubectl("create", "namespace", bench.namespace)
    try:
        bench.tag_on_nodes(present=True)
        bench.apply_set()
        walls, overheads = bench.timings(args.repeat)
        broken = {"module": bench.broken_module(), "kubectl": bench.broken_kubectl()}
    finally:
        bench.cleanup()
    section = render(bench, walls, overheads, broken, started)
    print(section)
    if args.write:
        write_section(section, START, END)


if __name__ == "__main__":
    main()
