#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: statefulset_rollout
short_description: Update the pets of a StatefulSet one ordinal at a time, with a canary partition and automatic rollback
version_added: 0.2.0
description:
  - Changes the pod template of a StatefulSet (O(images), O(image) or O(template_patch)) and brings its pods to the new
    revision one ordinal at a time, highest first; or, given neither, resumes a rollout that was left at a partition.
  - A C(RollingUpdate) set is stepped by lowering C(spec.updateStrategy.rollingUpdate.partition) one ordinal at a time.
    An C(OnDelete) set, which never replaces its pods itself, has them deleted one at a time, highest first.
  - After every ordinal the module watches (it does not poll) until the pod runs the target revision (its
    C(controller-revision-hash) label equals C(status.updateRevision)), is Running and Ready for the set's
    C(minReadySeconds), and the StatefulSet status agrees; only then does it take the next step.
  - Before any write it refuses to start while any pet is missing, not Running and Ready, or terminating, unless
    O(allow_unhealthy=true).
  - When a step does not finish within O(step_timeout) (or the run within O(timeout)), O(on_failure=rollback) puts back
    the template and the partition the set had before the run, deletes the pods stuck on the new revision (which
    Kubernetes does not do by itself, see kubernetes/kubernetes#67250), and waits until every pet is Ready on the
    revision it ran before. O(on_failure=pause) leaves everything as it is. Either way the task fails and reports why.
  - Each step is shown as a line while it runs when the task runs in the controller, and is returned in RV(progress).
    Every write is recorded as an C(events.k8s.io/v1) Event on the StatefulSet or the Pod it changed.
author:
  - stateful.pets contributors (@stateful-pets)
requirements:
  - kubernetes >= 24.2.0 (Python library)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - stateful.pets._attributes
  - stateful.pets._attributes.actiongroup_pets
attributes:
  check_mode:
    support: full
    details:
      - Reads the StatefulSet, its pods and its revisions, runs the health gate, and returns the plan (ordinals, order,
        from and to revision) and the template diff without any write. The target revision is V(null) when the
        controller would make a new one.
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - A run with nothing left to do (every ordinal at or above O(partition) already on the target revision) reports no change.
options:
  name:
    description: Name of the StatefulSet.
    type: str
    required: true
  namespace:
    description: Namespace of the StatefulSet.
    type: str
    required: true
  images:
    description:
      - The new image of each named container (init containers included), as a mapping from container name to image.
      - Every image must name a tag or a digest.
    type: dict
  image:
    description:
      - The new image of the template's only container. Fails when the template has more than one; use O(images) then.
      - Must name a tag or a digest.
    type: str
  template_patch:
    description:
      - A mapping merged into C(spec.template) before the images are set. Mappings merge key by key and a V(null)
        removes a key; lists whose items all carry a C(name) (containers, env, volumes, volumeMounts) merge item by item
        by name; any other list or value replaces the old one.
    type: dict
  partition:
    description:
      - The canary boundary. The rollout stops once every ordinal at or above O(partition) is updated, and leaves the lower
        ordinals on their revision. A later run with O(partition=0) (and the same or no image) finishes it.
      - Must be between V(0) and the replica count.
      - For an C(OnDelete) set only the pods at or above it are replaced.
    type: int
    default: 0
  on_failure:
    description:
      - What to do when a step does not finish in time.
      - V(rollback) restores the template and partition from before the run, deletes the pods stuck on the new revision,
        waits up to O(step_timeout) for each pet that has to go back, and reports RV(rolled_back=true).
      - V(pause) changes nothing more and reports where the rollout stopped; run the task again to resume.
    type: str
    choices: [rollback, pause]
    default: rollback
  step_timeout:
    description:
      - Seconds one ordinal may take, from its patch or deletion until its pod is Ready on the target revision and the
        StatefulSet status agrees. Must not be greater than O(timeout).
    type: int
    default: 300
  timeout:
    description: Seconds the whole rollout may take, the rollback not included. Must be more than 0.
    type: int
    default: 1800
  allow_unhealthy:
    description:
      - Start even when some pets are not healthy; they are named in a warning. An unhealthy pet that the rollout reaches
        is deleted so that the controller makes it again on the target revision.
      - With C(podManagementPolicy=OrderedReady) the controller still waits for an unhealthy pet below the partition,
        so the rollout can time out.
    type: bool
    default: false
seealso:
  - module: stateful.pets.statefulset_scale
  - module: kubernetes.core.k8s_rollback
    description: Rolls back Deployments and DaemonSets; it does not handle StatefulSets.
notes:
  - The module needs the verbs C(get), C(list), C(watch) and C(patch) on C(statefulsets), C(list) on
    C(controllerrevisions), C(list), C(watch) and C(delete) on C(pods), and C(create) on C(events) in the API group
    C(events.k8s.io).
  - The target revision is the StatefulSet's C(status.updateRevision) once the controller has seen the new template;
    when the new template equals an older revision's, the controller reuses that revision.
"""

EXAMPLES = r"""
- name: Update the kubia pets to a new tag, one pet at a time, highest ordinal first
  stateful.pets.statefulset_rollout:
    name: kubia
    namespace: pets
    image: pets/kubia:1.1.0

- name: Canary - update only kubia-2, leave kubia-0 and kubia-1 on the old image
  stateful.pets.statefulset_rollout:
    name: kubia
    namespace: pets
    images:
      kubia: pets/kubia:1.1.0
    partition: 2

- name: Finish the rollout once the canary looks good
  stateful.pets.statefulset_rollout:
    name: kubia
    namespace: pets
    partition: 0

- name: Change an environment variable; stop where it fails instead of rolling back
  stateful.pets.statefulset_rollout:
    name: kubia
    namespace: pets
    template_patch:
      spec:
        containers:
          - name: kubia
            env:
              - name: PETS_PORT
                value: "8080"
    on_failure: pause
    step_timeout: 120
  register: pets_rollout

- name: Show each step
  ansible.builtin.debug:
    var: pets_rollout.progress
"""

RETURN = r"""
strategy:
  description: The StatefulSet's update strategy, V(RollingUpdate) or V(OnDelete).
  returned: success
  type: str
  sample: RollingUpdate
revision_before:
  description: The StatefulSet's C(status.updateRevision) before the run.
  returned: success
  type: str
  sample: kubia-6d4cf56db6
revision_after:
  description:
    - The StatefulSet's C(status.updateRevision) at the end; after a rollback, the revision of the restored template.
    - In check mode, the revision the new template would reuse, or V(null) when the controller would make a new one.
  returned: success
  type: str
  sample: kubia-5c7d8f9b4
partition_before:
  description: The C(RollingUpdate) partition before the run; V(null) for an C(OnDelete) set.
  returned: success
  type: int
  sample: 0
partition_after:
  description: The C(RollingUpdate) partition at the end (in check mode, the one it would have); V(null) for an C(OnDelete) set.
  returned: success
  type: int
  sample: 0
min_ready_seconds:
  description: How long each updated pod had to stay Ready, the set's C(spec.minReadySeconds).
  returned: success
  type: int
  sample: 0
steps:
  description:
    - One entry per ordinal, in the order taken (highest first). In check mode, the planned steps, with the times set to V(null).
  returned: success
  type: list
  elements: dict
  contains:
    ordinal:
      description: The ordinal of the pod.
      type: int
      sample: 2
    pod:
      description: The pod's name.
      type: str
      sample: kubia-2
    action:
      description:
        - V(partition) when the step lowered the partition, V(delete) when the module deleted the pod, V(wait) when the
          controller was already replacing it.
      type: str
      sample: partition
    node:
      description: The node the updated pod runs on (in check mode, the node of the current pod).
      type: str
      sample: pets-worker
    from_revision:
      description: The revision the pod ran before the step.
      type: str
      sample: kubia-6d4cf56db6
    to_revision:
      description: The revision it runs after the step; V(null) in check mode when the controller would make a new one.
      type: str
      sample: kubia-5c7d8f9b4
    seconds:
      description: Seconds from the patch or deletion until the module saw the pod Ready on the target revision.
      type: float
      sample: 3.41
    patched_at:
      description: When the partition patch or the deletion was sent, in seconds since the epoch.
      type: float
      sample: 1795750000.12
    ready_at:
      description:
        - When the module saw the pod Ready on the target revision (for minReadySeconds), in seconds since the epoch.
        - The next step's RV(steps[].patched_at) minus this is the module's own overhead, its check of the StatefulSet status included.
      type: float
      sample: 1795750003.53
  sample:
    - ordinal: 2
      pod: kubia-2
      action: partition
      node: pets-worker
      from_revision: kubia-6d4cf56db6
      to_revision: kubia-5c7d8f9b4
      seconds: 3.41
      patched_at: 1795750000.12
      ready_at: 1795750003.53
rolled_back:
  description: Whether a failed rollout was rolled back (then the task has failed too).
  returned: always
  type: bool
  sample: false
failure_reason:
  description: Why the rollout stopped (the pod, the revision, what it waited on and its last events), or V(null).
  returned: always
  type: str
  sample: "pod pets/kubia-2 was not Running and Ready on revision kubia-7b9c within 60 s; it waits on becoming Running and Ready: ..."
stopped_at:
  description: The ordinal whose step failed, or V(null).
  returned: always
  type: int
  sample: 2
rollback_steps:
  description: The pods the rollback brought back, in the order it waited for them.
  returned: when rolled back
  type: list
  elements: dict
  sample:
    - ordinal: 2
      pod: kubia-2
      action: delete
      from_revision: kubia-7b9c8d7f6
      to_revision: kubia-6d4cf56db6
      seconds: 2.8
diff:
  description: The pod template and the partition, before and after (in check mode, what they would become).
  returned: success
  type: dict
  sample:
    before:
      partition: 0
      template: {spec: {containers: [{name: kubia, image: "pets/kubia:1.0.0"}]}}
    after:
      partition: 0
      template: {spec: {containers: [{name: kubia, image: "pets/kubia:1.1.0"}]}}
progress:
  description: One line per step, as shown while the task ran.
  returned: always
  type: list
  elements: str
  sample:
    - "kubia-2 → rev 5c7d8f9b4 Ready on pets-worker in 3.4 s"
"""

from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster, K8sError  # noqa: E402 (imports follow the documentation blocks)
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._rollout import bad_input_message, param_errors  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._rollout_run import Rollout  # noqa: E402


def argument_spec():
    spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        images=dict(type="dict"),
        image=dict(type="str"),
        template_patch=dict(type="dict"),
        partition=dict(type="int", default=0),
        on_failure=dict(type="str", choices=["rollback", "pause"], default="rollback"),
        step_timeout=dict(type="int", default=300),
        timeout=dict(type="int", default=1800),
        allow_unhealthy=dict(type="bool", default=False),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def run(params, check_mode, diff, reporter):
    errors = param_errors(params)
    if errors:
        raise K8sError(bad_input_message(params["namespace"], params["name"], errors))
    cluster = Cluster.from_params(params)
    return Rollout(cluster, params, check_mode, reporter).run()


def main():
    run_as_module(argument_spec(), run, mutually_exclusive=[("image", "images")])


if __name__ == "__main__":
    main()
