# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark a lost worker: how long until its pet is Ready elsewhere, with Kubernetes alone and with the fencing handler.

    .venv/bin/python tests/benchmarks/fence_bench.py [--kubeconfig .kube/pets.kubeconfig] [--observe 600 | --skip-alone] [--write]

Deploys two pets (stateful.pets.deploy, hostPath volumes shared by every kind node), then freezes the worker that runs
kubia-1 with `docker pause`. The clock starts at the pause; a poll every --poll seconds watches the node and the pet.
(a) Kubernetes alone: nothing else happens for --observe seconds; the script reports what it saw.
(b) With the handler, once per fence action in --fence-actions: the worker is paused again and, once the node has been
    Ready=Unknown for --unreachable-for seconds, the stateful.pets.fence playbook runs with that fence action (a one-level
    fencing_fence_command, verified by the node's silence for the default settle time).
    `power-off` (tests/cluster/power-off.sh) kills every process of the frozen node before thawing it, like a BMC
    power-off; `kill` and `stop` are `docker kill` and `docker stop`, which thaw the node first, so its kubelet can
    report once more before it dies. The time to the pet Ready elsewhere is split into detection, fence, and
    recreate plus Ready, and the fence into the handler's module run, its fence action and its silence check.
--skip-alone keeps the (a) part of docs/benchmarks.md as it was measured (it watches for 10 minutes) and reruns only (b).
Every node is unpaused or started and unfenced at the end, even on failure; the namespace and its volumes are deleted.
With --write the figures replace the fencing section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks_doc import write_section
from kubernetes import client, config
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
START, END = "<!-- fence_bench:start -->", "<!-- fence_bench:end -->"
HOSTPATH = "/var/cache/stateful-pets/hostpath"
PET = "kubia-1"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
# The fence actions (b) can use: a power cut of the frozen node, and the two ways Docker stops a container.
FENCE_ACTIONS = {
    "power-off": ["bash", str(ROOT / "tests" / "cluster" / "power-off.sh"), "{node}"],
    "kill": ["docker", "kill", "{node}"],
    "stop": ["docker", "stop", "{node}"],
}
HANDLER_TASK = "Fence the nodes and wait for their pets"
A_START, A_END = "**(a) Kubernetes alone**", "**(b) With the handler**"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or str(ROOT / ".kube" / "pets.kubeconfig"))
    parser.add_argument("--observe", type=int, default=600, help="seconds to watch Kubernetes alone in (a) (default 600)")
    parser.add_argument("--skip-alone", action="store_true", help="do not rerun (a); keep its figures from docs/benchmarks.md")
    parser.add_argument("--unreachable-for", type=int, default=10, help="fencing_unreachable_for of the handler run (default 10)")
    parser.add_argument("--fence-actions", default="power-off,kill,stop",
                        help=f"fence actions for (b), comma-separated, from {', '.join(FENCE_ACTIONS)} (default power-off,kill,stop)")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between two looks at the node and the pet")
    parser.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    return parser.parse_args()


def docker(*args):
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def ready(conditions):
    return next((c.status for c in conditions or [] if c.type == "Ready"), "missing")


class Timeline:
    """First time (seconds after the pause) at which each event was seen."""

    def __init__(self):
        self.started = time.monotonic()
        self.seen = {}
        self.last = {}

    def now(self):
        return time.monotonic() - self.started

    def mark(self, event, happened):
        if happened and event not in self.seen:
            self.seen[event] = self.now()


class Bench:
    def __init__(self, args):
        self.args = args
        self.namespace = f"pets-fbench-{random.getrandbits(32):08x}"
        self.load = os.getloadavg()
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=args.kubeconfig))
        self.touched = set()
        links = tempfile.mkdtemp(prefix="fence-bench-")
        os.makedirs(f"{links}/ansible_collections/stateful")
        os.symlink(ROOT, f"{links}/ansible_collections/stateful/pets")
        self.env = dict(os.environ, KUBECONFIG=args.kubeconfig, K8S_AUTH_KUBECONFIG=args.kubeconfig, ANSIBLE_COLLECTIONS_PATH=links,
                        ANSIBLE_NOCOLOR="1")

    def playbook(self, name, extra, json_output=False):
        env = dict(self.env, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json") if json_output else self.env
        command = [str(BIN / "ansible-playbook"), f"stateful.pets.{name}", "-e", json.dumps(extra)]
        return Background(command, env, tempfile.mkdtemp(prefix=f"fence-bench-{name}-"))

    def module(self, name, module_args):
        command = [str(BIN / "ansible"), "localhost", "-m", f"stateful.pets.{name}", "-a", json.dumps(module_args)]
        return subprocess.run(command, capture_output=True, text=True, env=self.env, check=False)

    def deploy(self):
        extra = {"pets_namespace": self.namespace, "pets_replicas": 2, "pets_volumes": 2, "pets_build_image": False,
                 "replica_volumes_storage": "shared", "replica_volumes_hostpath_base": HOSTPATH}
        proc = self.playbook("deploy", extra)
        out, err = proc.output()
        if proc.returncode:
            raise RuntimeError(f"Deploying {self.namespace}/kubia failed (the pet image must already be on the nodes: run any "
                               f"integration target that uses setup_pets first): {out[-1500:]} {err[-500:]}")

    def pet(self):
        try:
            return self.core.read_namespaced_pod(PET, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def node(self, name):
        return self.core.read_node(name)

    def grace_period(self):
        pods = self.core.list_namespaced_pod("kube-system", label_selector="component=kube-controller-manager").items
        flags = [arg for pod in pods for c in pod.spec.containers for arg in (c.command or []) + (c.args or [])]
        found = [f.split("=", 1)[1] for f in flags if f.startswith("--node-monitor-grace-period=")]
        return found[0] if found else None

    def look(self, timeline, lost, old_uid):
        node, pet = self.node(lost), self.pet()
        same = pet is not None and pet.metadata.uid == old_uid
        timeline.mark("node Ready=Unknown", ready(node.status.conditions) == "Unknown")
        timeline.mark("node cordoned", bool(node.spec.unschedulable))
        timeline.mark("out-of-service taint", any(t.key == OUT_OF_SERVICE for t in node.spec.taints or []))
        timeline.mark(f"old {PET} Ready=False", same and ready(pet.status.conditions) != "True")
        timeline.mark(f"old {PET} Terminating", same and pet.metadata.deletion_timestamp is not None)
        timeline.mark(f"old {PET} deleted", not same)
        timeline.mark(f"new {PET} created", pet is not None and not same)
        timeline.mark(f"new {PET} Ready on another node", pet is not None and not same and pet.spec.node_name not in (None, lost)
                      and ready(pet.status.conditions) == "True")
        timeline.last = {"node": ready(node.status.conditions), "same": same, "pet_node": pet.spec.node_name if pet else None,
                         "pet_ready": ready(pet.status.conditions) if pet else None,
                         "terminating": bool(pet and pet.metadata.deletion_timestamp), "pet_phase": pet.status.phase if pet else None}

    def lose(self, lost):
        self.touched.add(lost)
        timeline = Timeline()
        docker("pause", lost)
        return timeline

    def pet_and_node(self):
        pet = self.pet()
        return pet.spec.node_name, pet.metadata.uid

    def alone(self):
        lost, old_uid = self.pet_and_node()
        timeline = self.lose(lost)
        while timeline.now() < self.args.observe and f"new {PET} Ready on another node" not in timeline.seen:
            self.look(timeline, lost, old_uid)
            time.sleep(self.args.poll)
        observed = timeline.now()
        self.restore()
        return {"node": lost, "timeline": timeline, "observed": observed}

    def with_handler(self, action):
        lost, old_uid = self.pet_and_node()
        timeline = self.lose(lost)
        proc, started, limit = None, None, 300
        while timeline.now() < limit:
            self.look(timeline, lost, old_uid)
            unknown = timeline.seen.get("node Ready=Unknown")
            if proc is None and unknown is not None and timeline.now() >= unknown + self.args.unreachable_for:
                extra = {"pets_namespace": self.namespace, "pets_name": "kubia", "fencing_fence_command": FENCE_ACTIONS[action],
                         "fencing_unreachable_for": self.args.unreachable_for, "fencing_wait": False}
                proc, started = self.playbook("fence", extra, json_output=True), timeline.now()
            if proc is not None and proc.poll() is not None and (proc.returncode or f"new {PET} Ready on another node" in timeline.seen):
                break
            time.sleep(self.args.poll)
        out, err = proc.output() if proc else ("", "")
        self.restore()
        return {"action": action, "node": lost, "timeline": timeline, "started": started, "rc": proc.returncode if proc else None,
                "steps": handler_steps(out), "error": "" if proc and proc.returncode == 0 else (out[-1500:] + err[-500:])}

    def wait(self, what, check, limit=300):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(1)
        raise RuntimeError(f"{what} did not happen within {limit} s.")

    def pets_ready(self):
        pods = self.core.list_namespaced_pod(self.namespace, label_selector="app=kubia").items
        return len(pods) == 2 and all(p.metadata.deletion_timestamp is None and ready(p.status.conditions) == "True" for p in pods)

    def restore(self):
        """Unpause or start every node this run froze, wait until it is Ready, unfence it and wait for the pets."""
        for lost in sorted(self.touched):
            state = docker("inspect", "--format", "{{.State.Status}}", lost)
            if state == "paused":
                docker("unpause", lost)
            elif state in ("exited", "created"):
                docker("start", lost)
            self.wait(f"Node {lost} Ready again", lambda lost=lost: ready(self.node(lost).status.conditions) == "True")
            done = self.module("node_fence", {"name": lost, "state": "absent", "wait": True, "wait_timeout": 180})
            if done.returncode:
                raise RuntimeError(f"Unfencing {lost} failed; uncordon it and remove the {OUT_OF_SERVICE} taint by hand: {done.stdout[-1500:]}")
        self.wait(f"Both pets of {self.namespace} Ready", self.pets_ready)

    def cleanup(self):
        try:
            self.restore()
        finally:
            self.core.delete_namespace(self.namespace)
            for pv in self.core.list_persistent_volume(label_selector=f"stateful.pets/namespace={self.namespace}").items:
                self.core.delete_persistent_volume(pv.metadata.name)
            # The nodes mount this host directory, so the pets' data can be removed from here.
            shutil.rmtree(Path(HOSTPATH) / self.namespace, ignore_errors=True)
            self.delete_fence_leases()

    def delete_fence_leases(self):
        """The fence Leases the handler left on the nodes this run froze (they record the last fence, for the cooldown gate)."""
        coordination = client.CoordinationV1Api(self.core.api_client)
        for lost in sorted(self.touched):
            try:
                coordination.delete_namespaced_lease(f"stateful-pets-fence-{lost}", "default")
            except ApiException as exc:
                if exc.status != 404:
                    raise


class Background:
    """A command run in the background whose output goes to files: a pipe read only at the end would block it once full."""

    def __init__(self, command, env, workdir):
        self.out, self.err = Path(workdir) / "stdout", Path(workdir) / "stderr"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)

    def poll(self):
        return self.proc.poll()

    @property
    def returncode(self):
        return self.proc.returncode

    def output(self):
        self.proc.wait()
        return self.out.read_text(), self.err.read_text()


def handler_steps(output):
    """The handler's node_fence run: its seconds, and of those the fence action's and the silence check's (json callback)."""
    try:
        tasks = [t for play in json.loads(output)["plays"] for t in play["tasks"]]
    except (ValueError, KeyError):
        return {}
    for task in tasks:
        duration = task["task"].get("duration", {})
        results = task["hosts"].get("localhost", {}).get("results") or []
        if HANDLER_TASK in task["task"]["name"] and "end" in duration and results:
            levels = [level for node in results[0].get("nodes") or [] for level in node.get("levels") or []]
            return {"module": stamp(duration["end"]) - stamp(duration["start"]),
                    "action": sum(a["seconds"] for level in levels for a in level["actions"]),
                    "silence": sum(level.get("verification_seconds") or 0 for level in levels),
                    "levels": len(levels)}
    return {}


def stamp(text):
    return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + text[19:].rstrip("Z"))


def seconds(value):
    return "not seen" if value is None else f"{value:.1f}"


def verdict_alone(alone):
    seen, last, observed = alone["timeline"].seen, alone["timeline"].last, alone["observed"]
    if f"new {PET} Ready on another node" in seen:
        return f"{PET} was Ready on another node after {seen[f'new {PET} Ready on another node']:.1f} s"
    state = "Terminating" if last.get("terminating") else f"phase {last.get('pet_phase')}"
    where = f"still bound to {last.get('pet_node')}" if last.get("same") else f"replaced, the new one not Ready elsewhere (on {last.get('pet_node')})"
    return (f"**never** within the window: after {observed:.0f} s `{PET}` was {where}, {state}, Ready={last.get('pet_ready')}, "
            f"and node {alone['node']} was Ready={last.get('node')}")


def render(bench, alone, handled, grace, started, nodes):
    grace_text = grace or "the default"
    grace_s = int(re.sub(r"s$", "", grace)) if grace and re.fullmatch(r"\d+s", grace) else None
    lines = [START, "## Losing a worker: Kubernetes alone vs the fencing handler", "",
             f"Measured by `tests/benchmarks/fence_bench.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, on the local kind "
             f"cluster ({nodes} nodes, kube-controller-manager `--node-monitor-grace-period` {grace_text}), "
             + ("(b) in one run; (a) kept from an earlier run (`--skip-alone`). " if alone is None else "all in one run. ")
             + f"Two pets (`stateful.pets.deploy`, hostPath volumes under `{HOSTPATH}`, which every node mounts). The worker that runs `{PET}` is "
             f"frozen with `docker pause`; the clock starts at the pause and a poll every {bench.args.poll} s watches the node and the pet.",
             f"Host: {os.cpu_count()} CPUs, 1-minute load average {bench.load[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
             "(the host is shared, so expect noise).", ""]
    lines += alone_lines(bench, alone)
    lines += [f"{A_END}: the worker that runs `{PET}` paused; once it had been Ready=Unknown for "
              f"{bench.args.unreachable_for} s (`fencing_unreachable_for`) the script ran `ansible-playbook stateful.pets.fence` with the "
              "fence action in the column's heading as `fencing_fence_command` (one fence level; `fencing_wait: false`: the script itself "
              "watches for the pet). The handler runs `node_fence` once: gates, fence Lease, cordon, the fence action, then the check that "
              "the node stays silent (no Lease renewal, no Ready=True) for the default `settle_time`, counted from its last sign of life, "
              "then the taint and the force-delete. `tests/cluster/power-off.sh` cuts the power: every process of the frozen node gets "
              "SIGKILL before it is thawed, as a BMC power-off would, so the node never reports again. `docker kill` and `docker stop` "
              "(SIGTERM, then SIGKILL after 10 s) both thaw the frozen node first, and its kubelet can renew its Lease once more.", ""]
    lines += handled_table(handled)
    for run in handled:
        if grace_s is not None and run["timeline"].seen.get(f"new {PET} Ready on another node") is not None:
            back, target = run["timeline"].seen[f"new {PET} Ready on another node"], grace_s + 30
            lines.append(f"- `{action_text(run['action'])}`: target grace ({grace_s} s) + 30 s = {target} s; measured {back:.1f} s, "
                         + ("**met**." if back <= target else f"**missed by {back - target:.1f} s**."))
        else:
            lines.append(f"- `{action_text(run['action'])}`: target grace + 30 s not evaluated (the grace period or the recovery was not observed).")
        if run["error"]:
            lines.append(f"- `{action_text(run['action'])}`: the fence playbook failed: `{' '.join(run['error'].split())[-600:]}`")
    lines += ["", END]
    return "\n".join(lines)


def alone_lines(bench, alone):
    """The (a) part: measured now, or with --skip-alone the one docs/benchmarks.md already has."""
    if alone is None:
        text = (ROOT / "docs" / "benchmarks.md").read_text()
        if A_START not in text or A_END not in text:
            raise RuntimeError("--skip-alone needs an (a) part in docs/benchmarks.md; run once without it.")
        kept = text[text.index(A_START):text.index(A_END)].rstrip("\n").split("\n")
        if "(measured on" not in kept[0]:
            measured = re.search(r"fence_bench.py` on (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", text[text.index(START):])
            kept[0] = kept[0].replace(A_START, f"{A_START} (measured on {measured.group(1) if measured else 'an earlier date'})", 1)
        return kept + [""]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [f"{A_START} (measured on {when}), node {alone['node']} paused and watched for {bench.args.observe} s"
             + (" (shorter than the 600 s the issue asks for)" if bench.args.observe < 600 else "") + f": {verdict_alone(alone)}.", "",
             "| Event (a) | Seconds after the pause |", "|---|---|"]
    for event in ("node Ready=Unknown", f"old {PET} Ready=False", f"old {PET} Terminating", f"old {PET} deleted",
                  f"new {PET} created", f"new {PET} Ready on another node"):
        lines.append(f"| {event} | {seconds(alone['timeline'].seen.get(event))} |")
    return lines + [""]


def action_text(action):
    return " ".join(FENCE_ACTIONS[action]).replace(str(ROOT) + "/", "")


def handled_table(handled):
    """One column per fence action: the phases of (b), in seconds."""
    def phases(run):
        seen, begun = run["timeline"].seen, run["started"]
        unknown, deleted = seen.get("node Ready=Unknown"), seen.get(f"old {PET} deleted")
        back = seen.get(f"new {PET} Ready on another node")
        rows = {"node": run["node"], "playbook exit code": str(run["rc"]),
                "detection: pause -> node Ready=Unknown (node-monitor grace)": seconds(unknown),
                "detection: Unknown for `unreachable_for`, playbook started": seconds(None if begun is None or unknown is None else begun - unknown),
                f"fence: playbook started -> old `{PET}` force-deleted": seconds(None if begun is None or deleted is None else deleted - begun)}
        steps = run["steps"]
        rows["... of which the handler's node_fence run"] = seconds(steps.get("module"))
        rows["... ... of which the fence action"] = seconds(steps.get("action"))
        rows["... ... of which the silence check (settle time)"] = seconds(steps.get("silence"))
        rows["... ... the rest: gates, Lease, cordon, taint, force-delete, detach"] = seconds(
            None if not steps else steps["module"] - steps["action"] - steps["silence"])
        rows[f"recreate + Ready: old `{PET}` deleted -> new `{PET}` Ready on another node"] = (
            seconds(None if back is None or deleted is None else back - deleted))
        rows[f"**total: pause -> `{PET}` Ready on another node**"] = f"**{seconds(back)}**"
        return rows
    columns = [phases(run) for run in handled]
    lines = ["| Phase (b), seconds | " + " | ".join(f"`{action_text(run['action'])}`" for run in handled) + " |",
             "|---|" + "---|" * len(handled)]
    lines += [f"| {row} | " + " | ".join(column[row] for column in columns) + " |" for row in columns[0]]
    return lines + [""]


def main():
    args = parse_args()
    bench = Bench(args)
    started = time.time()
    try:
        bench.deploy()
        alone = None if args.skip_alone else bench.alone()
        handled = [bench.with_handler(action) for action in args.fence_actions.split(",")]
        grace, nodes = bench.grace_period(), len(bench.core.list_node().items)
    finally:
        bench.cleanup()
    section = render(bench, alone, handled, grace, started, nodes)
    print(section)
    if args.write:
        write_section(section, START, END)


if __name__ == "__main__":
    main()
