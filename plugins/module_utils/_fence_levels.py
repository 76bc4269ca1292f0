# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fence levels: ordered lists of fence actions, each level verified by the node's silence, as Pacemaker escalates.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

A level succeeds when every one of its actions (commands run in order, each with a timeout) exits 0 and the node then
stays silent for `settle_time` seconds: no renewal of its heartbeat Lease in kube-node-lease, and no Ready=True posted
by its kubelet. Silence is counted from the node's last sign of life, which may fall inside the actions (a node that
is being stopped often renews its Lease once on its way down), but a sign of life after the actions ended fails the
level at once. The wait watches the node's Lease, so a renewal is seen the moment it happens.
"""

from __future__ import annotations

import subprocess
import time

from ansible_collections.stateful.pets.plugins.module_utils._k8s import NODE_LEASE_NAMESPACE
from ansible_collections.stateful.pets.plugins.module_utils._predicates import condition, parse_time

NODE_PLACEHOLDER = "{node}"
OUTPUT_TAIL = 500
# The kubelet renews its Lease every 10 s, up to 4 % later (jitter); a shorter silence proves nothing about a live kubelet.
MIN_SETTLE_TIME = 11


def invalid_levels(levels):
    """Sentences describing what is wrong with `levels`, or an empty list."""
    problems = []
    for number, level in enumerate(levels or [], 1):
        actions = level.get("actions") or []
        if not actions:
            problems.append(f"Fence level {number} has no actions; give each level at least one action with a command.")
        for index, action in enumerate(actions, 1):
            if not action.get("command"):
                problems.append(f"Action {index} of fence level {number} has no command; give it as a list of arguments.")
            if (action.get("timeout") or 0) < 1:
                problems.append(f"Action {index} of fence level {number} needs a timeout of at least 1 second, not {action.get('timeout')}.")
    return problems


def level_label(number, level):
    return f"level {number}" + (f" ({level['name']})" if level.get("name") else "")


def argv(command, node):
    return [str(part).replace(NODE_PLACEHOLDER, node) for part in command]


def plan(levels, node):
    """What the levels would run, one sentence per level, for check mode and the result."""
    return [f"run fence {level_label(number, level)}: " + "; ".join(" ".join(argv(a["command"], node)) for a in level["actions"])
            for number, level in enumerate(levels, 1)]


def run_action(command, node, timeout):
    """Run one fence action; a dict with the argv, rc, the tails of stdout and stderr, seconds, and timed_out."""
    args = argv(command, node)
    started = time.monotonic()
    entry = {"command": args, "rc": None, "stdout": "", "stderr": "", "timed_out": False}
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        entry.update(rc=done.returncode, stdout=done.stdout[-OUTPUT_TAIL:].strip(), stderr=done.stderr[-OUTPUT_TAIL:].strip())
    except subprocess.TimeoutExpired as exc:
        entry.update(timed_out=True, stderr=_text(exc.stderr)[-OUTPUT_TAIL:].strip())
    except OSError as exc:
        entry.update(rc=127, stderr=str(exc))
    entry["seconds"] = round(time.monotonic() - started, 2)
    return entry


def _text(output):
    if output is None:
        return ""
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output


def action_failure(entry):
    """A sentence for a failed action, or None when it succeeded."""
    command = " ".join(entry["command"])
    if entry["timed_out"]:
        return f"'{command}' did not finish within its timeout and was killed."
    if entry["rc"] != 0:
        said = entry["stderr"] or entry["stdout"]
        return f"'{command}' exited with rc {entry['rc']}" + (f": {said}" if said else ".")
    return None


def last_sign_of_life(node, node_lease):
    """The latest time the node itself spoke: its Lease renewal, or a Ready=True heartbeat its kubelet posted."""
    stamps = [parse_time(((node_lease or {}).get("spec") or {}).get("renewTime"))]
    ready = condition(node, "Ready")
    if ready and ready.get("status") == "True":
        stamps.append(parse_time(ready.get("lastHeartbeatTime")))
    stamps = [stamp for stamp in stamps if stamp is not None]
    return max(stamps) if stamps else None


def silence_verdict(name, last_sign, actions_ended, now, settle_time):
    """(state, detail): 'alive' when the node spoke after the actions ended, 'silent' once silent for settle_time, else 'wait'."""
    if last_sign is not None and last_sign > actions_ended:
        after = (last_sign - actions_ended).total_seconds()
        return "alive", f"Node {name} spoke {after:.1f} s after the fence actions ended (Lease renewal or Ready=True): it is still running."
    quiet = None if last_sign is None else (now - last_sign).total_seconds()
    if quiet is None or quiet >= settle_time:
        since = "ever" if quiet is None else f"{quiet:.1f} s"
        return "silent", f"Node {name} has been silent for {since} (no Lease renewal, no Ready=True), at least the settle time of {settle_time} s."
    return "wait", f"Node {name} has been silent for {quiet:.1f} s; waiting for {settle_time} s."


def verify_silence(cluster, name, actions_ended, settle_time, clock, sleep=time.sleep):
    """(silent, detail): watch the node's heartbeat Lease until the node has been silent for settle_time, or speaks.

    `clock()` returns an aware datetime; `actions_ended` is one of its readings.
    """
    while True:
        node, node_lease = cluster.get_node(name), cluster.get_node_lease(name)
        state, detail = silence_verdict(name, last_sign_of_life(node, node_lease), actions_ended, clock(), settle_time)
        if state != "wait":
            return state == "silent", detail
        last = last_sign_of_life(node, node_lease)
        remaining = settle_time - (clock() - last).total_seconds()
        if remaining < 1:
            # A watch lasts whole seconds; the next read sees a renewal of this last fraction as well.
            sleep(remaining)
            continue
        version = ((node_lease or {}).get("metadata") or {}).get("resourceVersion")
        for _type, lease in cluster.watch_named("Lease", NODE_LEASE_NAMESPACE, name, int(remaining), resource_version=version):
            renewed = parse_time(((lease or {}).get("spec") or {}).get("renewTime"))
            if renewed is not None and renewed > actions_ended:
                return False, silence_verdict(name, renewed, actions_ended, clock(), settle_time)[1]
