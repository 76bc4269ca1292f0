# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark stateful.pets.deploy against kubectl apply + rollout status of the same manifests, on one cluster, in one run.

    .venv/bin/python tests/benchmarks/deploy_bench.py [--kubeconfig .kube/pets.kubeconfig] [--repeat 9] [--write]

Each run starts from a new, empty namespace and ends when the tool returns with 3 replicas Ready:
- `ansible-playbook -i playbooks/inventory/kind.yml playbooks/deploy.yml`, as `make demo` runs it: validation, the
  pet image role (the image is already on the nodes, so it only checks), the namespace, volumes, Services and StatefulSet in
  one apply, and the wait in ordinal order;
- the same with pets_build_image=false, which skips the image check;
- `kubectl apply` of the manifests the roles' templates render (the namespace, 3 PVs, 2 Services, the StatefulSet),
  then `kubectl rollout status`.
The tools take turns, in an order that rotates every round, and each run starts SETTLE seconds after the previous
cleanup, so that drifting load and the last run's teardown hit all of them alike. An untimed deploy first makes sure
the image is on the nodes.
With --write the figures replace the deploy section of docs/benchmarks.md. Everything it creates is deleted.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks_doc import write_section

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
START, END = "<!-- deploy_bench:start -->", "<!-- deploy_bench:end -->"
HOSTPATH = "/var/cache/stateful-pets/hostpath"  # the kind inventory's hostPath base, shared by every node
NAME, REPLICAS = "kubia", 3
OURS, OURS_NO_IMAGE, KUBECTL = "stateful.pets.deploy", "stateful.pets.deploy, pets_build_image=false", "kubectl apply + rollout status"
# The statefulset role's wait for the pods, by task name.
WAIT_TASK = "Wait for the pets"
FLOOR = "floor: ansible-playbook with one kubernetes.core.k8s_info task (a module process)"
FLOOR_IN_PROCESS = "floor: ansible-playbook with one stateful.pets.objects_info task (in the controller process)"
FLOORS = (FLOOR, FLOOR_IN_PROCESS)
TARGET_RATIO = 1.2  # the deploy's wall time against kubectl's, both medians (issues #13 and #16)
SETTLE = 3  # seconds between a cleanup and the next timed run, for the kubelets' teardown of the removed pods


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or str(ROOT / ".kube" / "pets.kubeconfig"))
    parser.add_argument("--kubectl", default=(sorted(glob.glob("/var/cache/stateful-pets/bin-*/kubectl")) or ["kubectl"])[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    return parser.parse_args()


class Bench:
    def __init__(self, args):
        self.args = args
        self.prefix = f"pets-dbench-{random.getrandbits(32):08x}"
        self.namespaces = []
        self.load = os.getloadavg()
        self.task_counts = []  # tasks per deploy run, skipped ones included
        self.work = tempfile.mkdtemp(prefix="deploy-bench-")
        os.makedirs(f"{self.work}/ansible_collections/stateful")
        os.symlink(ROOT, f"{self.work}/ansible_collections/stateful/pets")
        base_file = ROOT / ".kube" / "pet-image-base"
        # The same base `make demo` uses; another base would change the image's content hash and force a rebuild.
        base = base_file.read_text().strip() if base_file.exists() else ""
        self.env = dict(os.environ, KUBECONFIG=args.kubeconfig, K8S_AUTH_KUBECONFIG=args.kubeconfig, ANSIBLE_COLLECTIONS_PATH=self.work,
                        PETS_PET_IMAGE_BASE=base, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1")

    def kubectl(self, *args):
        done = subprocess.run([self.args.kubectl, "--kubeconfig", self.args.kubeconfig, *args], capture_output=True, text=True,
                              env=self.env, check=False)
        if done.returncode:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def new_namespace(self, tag):
        namespace = f"{self.prefix}-{tag}"
        self.namespaces.append(namespace)
        return namespace

    def render(self, namespaces):
        """Write <namespace>.yaml for each namespace with the roles' render entry points, as the deploy renders them."""
        renders = [{"name": f"Render with stateful.pets.{role}", "ansible.builtin.include_role": {"name": f"stateful.pets.{role}", "tasks_from": "render"}}
                   for role in ("statefulset", "services", "replica_volumes")]
        play = [{
            "name": "Render the manifests of stateful.pets.deploy", "hosts": "localhost", "gather_facts": False,
            "tasks": [{"name": "Render the manifests of one namespace", "ansible.builtin.include_tasks": f"{self.work}/render_one.yml",
                       "loop": namespaces, "loop_control": {"loop_var": "namespace"}}],
        }]
        render_one = renders + [{
            "name": "Write them in the deploy's order: the namespace, the volumes, the Services, the StatefulSet",
            "ansible.builtin.copy": {"dest": f"{self.work}/{{{{ namespace }}}}.yaml", "mode": "0600",
                                     "content": "{% for object in statefulset_objects[:1] + replica_volumes_objects + services_objects"
                                                " + statefulset_objects[1:] %}---\n{{ object | ansible.builtin.to_nice_yaml }}{% endfor %}"},
            "vars": {"replica_volumes_name": NAME, "replica_volumes_namespace": "{{ namespace }}", "replica_volumes_count": REPLICAS,
                     "replica_volumes_hostpath_base": HOSTPATH, "services_name": NAME, "services_namespace": "{{ namespace }}",
                     "statefulset_name": NAME, "statefulset_namespace": "{{ namespace }}", "statefulset_replicas": REPLICAS,
                     "statefulset_create_namespace": True},
        }]
        for task in renders:
            task["vars"] = render_one[-1]["vars"]
        Path(f"{self.work}/render_one.yml").write_text(json.dumps(render_one))
        Path(f"{self.work}/render.yml").write_text(json.dumps(play))
        self.playbook(f"{self.work}/render.yml", "-c", "local", "-i", "localhost,")

    def playbook(self, *args):
        done = subprocess.run([str(BIN / "ansible-playbook"), "-e", f"ansible_python_interpreter={BIN / 'python'}", *args],
                              capture_output=True, text=True, env=self.env, cwd=ROOT, check=False)
        try:
            result = json.loads(done.stdout)
        except ValueError as exc:
            raise RuntimeError(f"ansible-playbook {' '.join(args)} gave no result: {done.stdout[-2000:]} {done.stderr[-2000:]}") from exc
        if done.returncode:
            failed = [t["hosts"]["localhost"].get("msg") for p in result["plays"] for t in p["tasks"]
                      if t["hosts"].get("localhost", {}).get("failed")]
            raise RuntimeError(f"ansible-playbook {' '.join(args)} failed: {failed}")
        return result

    # the tools; each returns (seconds until it returned, seconds of that spent in the pod waits, or None)
    def run_deploy(self, namespace, build_image=True):
        started = time.monotonic()
        result = self.playbook("-i", "playbooks/inventory/kind.yml", "playbooks/deploy.yml", "-e", f"pets_namespace={namespace}",
                               "-e", f"pets_replicas={REPLICAS}", "-e", f"pets_volumes={REPLICAS}", "-e", f"pets_build_image={build_image}",
                               # The inventory's storage mode (node_local), on the directory the cleanup removes.
                               "-e", f"replica_volumes_hostpath_base={HOSTPATH}")
        returned = time.monotonic() - started
        tasks = [t for p in result["plays"] for t in p["tasks"]]
        rebuilt = [t["task"]["name"] for t in tasks if "pet image" in t["task"]["name"] and t["hosts"].get("localhost", {}).get("changed")]
        if rebuilt:
            raise RuntimeError(f"The deploy into {namespace} built or loaded the pet image ({rebuilt}), so it is not a run with the image already built.")
        self.task_counts.append(len(tasks))
        return returned, sum(duration(t) for t in tasks if WAIT_TASK in t["task"]["name"])

    def run_floor(self, namespace, module="kubernetes.core.k8s_info"):
        """What any Ansible deploy pays even if all its work overlapped the pods: starting Ansible plus one Kubernetes read."""
        play = [{"name": "Floor", "hosts": "localhost", "gather_facts": False,
                 "tasks": [{"name": "Look up the namespace", module: {"kind": "Namespace", "name": namespace}}]}]
        Path(f"{self.work}/floor.yml").write_text(json.dumps(play))
        started = time.monotonic()
        self.playbook("-i", "playbooks/inventory/kind.yml", f"{self.work}/floor.yml")
        return time.monotonic() - started, None

    def run_kubectl(self, namespace):
        started = time.monotonic()
        self.kubectl("apply", "-f", f"{self.work}/{namespace}.yaml")
        applied = time.monotonic()
        self.kubectl("rollout", "status", "-n", namespace, f"statefulset/{NAME}", "--timeout=300s")
        returned = time.monotonic()
        return returned - started, returned - applied

    def ready_pods(self, namespace):
        pods = json.loads(self.kubectl("get", "pods", "-n", namespace, "-l", f"app={NAME}", "-o", "json"))["items"]
        return sorted(p["metadata"]["name"] for p in pods
                      if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])))

    def remove(self, namespaces):
        self.kubectl("delete", "namespace", *namespaces, "--ignore-not-found", "--wait=true", "--timeout=180s")
        self.kubectl("delete", "persistentvolume", "-l", f"stateful.pets/namespace in ({','.join(namespaces)})", "--ignore-not-found")
        for namespace in namespaces:
            shutil.rmtree(f"{HOSTPATH}/{namespace}", ignore_errors=True)

    def timings(self, repeat):
        kubectl_namespaces = [self.new_namespace(f"k{n}") for n in range(repeat)]
        self.render(kubectl_namespaces)
        warm = self.new_namespace("warm")
        warm_started = time.monotonic()
        self.playbook("-i", "playbooks/inventory/kind.yml", "playbooks/deploy.yml", "-e", f"pets_namespace={warm}",
                      "-e", "pets_replicas=1", "-e", "pets_volumes=1")
        warm_up = time.monotonic() - warm_started
        self.remove([warm])
        rows = {OURS: [], OURS_NO_IMAGE: [], KUBECTL: [], FLOOR: [], FLOOR_IN_PROCESS: []}
        timed = [(OURS, "a", self.run_deploy), (OURS_NO_IMAGE, "b", lambda ns: self.run_deploy(ns, build_image=False)),
                 (KUBECTL, "k", self.run_kubectl)]
        floors = [(FLOOR, "f", self.run_floor), (FLOOR_IN_PROCESS, "g", lambda ns: self.run_floor(ns, "stateful.pets.objects_info"))]
        for n in range(repeat):
            # The order rotates, so each tool runs first, second and third equally often when repeat is a multiple of 3.
            for label, tag, tool in timed[n % 3:] + timed[:n % 3] + floors:
                namespace = f"{self.prefix}-{tag}{n}" if tag == "k" else self.new_namespace(f"{tag}{n}")
                time.sleep(SETTLE)
                returned, waiting = tool(namespace)
                if label in FLOORS:
                    rows[label].append((returned, waiting))
                    continue
                ready = self.ready_pods(namespace)
                if ready != [f"{NAME}-{i}" for i in range(REPLICAS)]:
                    raise RuntimeError(f"{label} returned with only {ready} Ready in {namespace}.")
                rows[label].append((returned, waiting))
                self.remove([namespace])
        return rows, warm_up

    def cleanup(self):
        try:
            self.remove(self.namespaces)
        finally:
            shutil.rmtree(self.work, ignore_errors=True)


def duration(task):
    """Seconds a task of the json callback took."""
    span = task["task"]["duration"]
    return (datetime.datetime.fromisoformat(span["end"]) - datetime.datetime.fromisoformat(span["start"])).total_seconds()


def node_count(bench):
    return len(json.loads(bench.kubectl("get", "nodes", "-o", "json"))["items"])


def median_wall(rows, label):
    return statistics.median(v[0] for v in rows[label])


def overhead_share(rows, label):
    """(deploy - kubectl) / deploy, from the medians: the part of the row's wall time that kubectl does not spend."""
    wall = median_wall(rows, label)
    return (wall - median_wall(rows, KUBECTL)) / wall


def render(bench, rows, warm_up, started):
    base = median_wall(rows, KUBECTL)
    lines = [START, "## Deploy: stateful.pets.deploy vs kubectl apply + rollout status", "",
             f"Measured by `tests/benchmarks/deploy_bench.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, on the local kind cluster "
             f"({node_count(bench)} nodes), all in one run, with the tools taking turns in an order that rotates every round and each run "
             f"starting {SETTLE} s after the previous cleanup. Every run deploys {REPLICAS} replicas of `{NAME}` "
             "(3 hostPath PVs, the headless and the public Service, the StatefulSet, OrderedReady, readiness probe every 2 s) into a new, "
             "empty namespace and ends when the tool returns with every pod Ready (checked after each run).",
             f"Host: {os.cpu_count()} CPUs, 1-minute load average {bench.load[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
             "(the host is shared, so expect noise).",
             "The deploy rows run `ansible-playbook -i playbooks/inventory/kind.yml playbooks/deploy.yml` as `make demo` does, including "
             "starting Ansible; the kubectl row applies the manifests that the roles' render entry points produce (rendering is not timed). "
             f"An untimed deploy first made sure the pet image was on the nodes ({warm_up:.1f} s); no timed run built or loaded it.", "",
             "| Tool | Runs | Wall time (s, median) | Min / max (s) | In the pod waits (s, median; kubectl: rollout status) "
             "| Ratio to kubectl | Overhead share of wall time |",
             "|---|---|---|---|---|---|---|"]
    for label, values in rows.items():
        wall = median_wall(rows, label)
        waits = [v[1] for v in values if v[1] is not None]
        # Only the deploy rows have an overhead; kubectl is the base, and the floors deploy nothing.
        row_share = "-" if label == KUBECTL or label in FLOORS else f"{overhead_share(rows, label):.0%}"
        lines.append(f"| {label} | {len(values)} | {wall:.2f} | {min(v[0] for v in values):.2f} / {max(v[0] for v in values):.2f} | "
                     + (f"{statistics.median(waits):.2f} | " if waits else "- | ")
                     + f"{wall / base:.2f} | {row_share} |")
    ours = median_wall(rows, OURS)
    share = overhead_share(rows, OURS)
    waits = statistics.median(v[1] for v in rows[OURS])
    floor = median_wall(rows, FLOOR)
    floor_in_process = median_wall(rows, FLOOR_IN_PROCESS)
    # Wall time minus the wait, per run: what each tool adds around the pods' start, which varies a lot on its own.
    ours_outside = statistics.median(v[0] - v[1] for v in rows[OURS])
    kubectl_outside = statistics.median(v[0] - v[1] for v in rows[KUBECTL])
    waits_all = [v[1] for label in (OURS, OURS_NO_IMAGE, KUBECTL) for v in rows[label]]
    tasks = statistics.median(bench.task_counts)
    lines += ["", "\"Overhead share\" is (deploy − kubectl) / deploy, from the medians: the part of our wall time that kubectl does not spend.",
              f"The full deploy took {ours - base:.1f} s more than kubectl; {waits:.1f} s of its {ours:.1f} s were the waits for the pods "
              f"in ordinal order. The rest is starting Ansible and running the deploy's other tasks ({tasks:.0f} in the play, counting "
              "skipped ones): the checks before anything is applied, the image check on the nodes (first row only), the applies and "
              "the report.",
              f"Outside the waits (wall time minus the wait, median per run) the full deploy spent {ours_outside:.2f} s and kubectl "
              f"{kubectl_outside:.2f} s (its `apply` and starting `rollout status`). The waits themselves ranged from "
              f"{min(waits_all):.2f} to {max(waits_all):.2f} s across all runs: they are mostly the pods being created on their nodes one "
              "after another (OrderedReady), which varies from run to run on a shared two-CPU host.",
              f"The floor rows deploy nothing: each starts `ansible-playbook` and reads one object. With a module process "
              f"(`kubernetes.core.k8s_info`) that takes {floor:.2f} s; in the controller process (`stateful.pets.objects_info`, "
              f"see docs/apply.md) {floor_in_process:.2f} s, a ratio of {floor / floor_in_process:.2f}. The difference is what every "
              "Kubernetes task of the deploy used to pay.",
              f"**Target (issues #13 and #16): the full deploy within {TARGET_RATIO}× kubectl. Measured: {ours / base:.2f}×, so the "
              f"target is {'met' if ours / base <= TARGET_RATIO else 'not met'}** (without the image check: "
              f"{median_wall(rows, OURS_NO_IMAGE) / base:.2f}×; overhead share {share:.0%}).",
              f"How much room that target leaves depends on how fast the pods start: with this run's medians, {TARGET_RATIO}× kubectl "
              f"({TARGET_RATIO * base:.2f} s) minus the deploy's pod waits ({waits:.2f} s) leaves {TARGET_RATIO * base - waits:.2f} s for "
              f"everything else, of which starting `ansible-playbook` with one in-process read takes {floor_in_process:.2f} s; "
              f"the deploy spent {ours_outside:.2f} s.", "", END]
    return "\n".join(lines)


def main():
    args = parse_args()
    bench = Bench(args)
    started = time.time()
    try:
        rows, warm_up = bench.timings(args.repeat)
        section = render(bench, rows, warm_up, started)
    finally:
        bench.cleanup()
    print(section)
    if args.write:
        write_section(section, START, END)


if __name__ == "__main__":
    main()
