#!/usr/bin/python
# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pod_proxy
short_description: Send an HTTP request to a pod or a Service through the Kubernetes API server proxy
version_added: 0.1.0
description:
  - Sends one HTTP request through the API server's C(proxy) subresource, to a pod
    (C(/api/v1/namespaces/<namespace>/pods/<name>[:<port>]/proxy/<path>)) or to a Service
    (C(/api/v1/namespaces/<namespace>/services/<name>[:<port>]/proxy/<path>)).
  - It uses the same connection options as kubernetes.core, so no C(kubectl proxy) and no extra port are needed.
  - Before it sends to a pod, it reads the pod and fails when the pod is missing or not Ready (see O(require_ready)).
  - Failures say which side failed, and RV(failure) names it, so playbooks can react to each.
    The API server's own error answers (a C(kind=Status) object) are told apart from the upstream's answers.
author:
  - stateful.pets contributors (@stateful-pets)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - stateful.pets._attributes
  - stateful.pets._attributes.actiongroup_pets
attributes:
  check_mode:
    support: full
    details:
      - V(GET) requests are sent in check mode too, because they change nothing.
      - Other methods are not sent in check mode; the module reports C(changed=true) and returns no answer.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - V(GET) reports no change. Other methods always report a change, because only the upstream knows what they do.
options:
  kind:
    description:
      - Whether O(name) is a pod or a Service.
    type: str
    choices: [pod, service]
    default: pod
  name:
    description:
      - Name of the pod or the Service.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the pod or the Service.
    type: str
    required: true
  port:
    description:
      - Port to send to, as a number or a name.
      - For a pod, a name is looked up among the pod's container ports, because the API server only dials numbers.
        When unset, the API server uses the pod's first declared container port.
      - For a Service, the API server resolves the Service port by name or number.
        When unset, it uses the Service's unnamed port.
    type: str
  scheme:
    description:
      - Scheme the API server uses to reach the upstream.
    type: str
    choices: [http, https]
    default: http
  path:
    description:
      - Path on the upstream, without the leading C(/proxy/). Give it unencoded; the module percent-encodes it.
      - Must not contain C(?) or C(#); use O(query) for the query string.
    type: str
    default: ""
  query:
    description:
      - Query string parameters. A list value repeats the key.
    type: dict
  method:
    description:
      - HTTP method.
    type: str
    choices: [GET, POST, PUT, DELETE]
    default: GET
  body:
    description:
      - Request body. A dictionary or a list is sent as JSON with C(Content-Type=application/json).
      - A string is sent as is, as C(text/plain) unless O(headers) sets C(Content-Type).
    type: raw
  headers:
    description:
      - Extra request headers.
    type: dict
    default: {}
  expected_status:
    description:
      - HTTP status codes that count as success. Any other status fails the task.
      - When unset, every upstream answer below 500 succeeds and a 5xx answer fails.
      - Errors of the API server itself always fail, whatever this says.
    type: list
    elements: int
  require_ready:
    description:
      - For a pod, fail before sending when the pod is not Ready.
      - Set to V(false) to reach a pod that is running but fails its readiness probe, for example to see why.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the answer.
    type: int
    default: 30
  max_body_size:
    description:
      - The most bytes of the answer's body that the module reads. A longer answer fails the task (RV(failure) is
        V(body_too_large)) instead of filling the controller's memory.
    type: int
    default: 1048576
    version_added: 0.2.0
notes:
  - The API server's certificate is verified, against the CA of the kubeconfig or O(ca_cert), unless
    O(validate_certs=false) (or C(K8S_AUTH_VERIFY_SSL=false), or C(insecure-skip-tls-verify) in the kubeconfig) says not to.
  - A redirect (a 3xx answer) is returned as it is, with its C(Location) in RV(headers); it is never followed, since it
    may point at any host.
  - An upstream that is itself a Kubernetes API server answers errors with the same C(kind=Status) objects as the
    proxying API server, so its errors are reported as the API server's own.
  - The identity needs C(get) on C(pods) (for the readiness check) and C(get)/C(create)/C(update)/C(delete) on
    C(pods/proxy) or C(services/proxy), matching the method.
seealso:
  - name: Manually constructing API server proxy URLs
    description: How the API server proxies to pods and Services.
    link: https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Read what pet kubia-1 says
  stateful.pets.pod_proxy:
    namespace: pets
    name: kubia-1
    port: http
  register: pet

- name: Store data on pet kubia-1
  stateful.pets.pod_proxy:
    namespace: pets
    name: kubia-1
    port: 8080
    method: POST
    body: "Hey there! This greeting was submitted to kubia-1."
    expected_status: 200

- name: Ask the public Service; some pet answers
  stateful.pets.pod_proxy:
    kind: service
    namespace: pets
    name: kubia-public
    port: "80"
    path: /
    query:
      verbose: "true"
  register: answer

- name: Show which pet answered
  ansible.builtin.debug:
    msg: "{{ answer.body.splitlines() | first }}"
"""

RETURN = r"""
url:
  description: The API path the request was sent to, with its query string.
  returned: always
  type: str
  sample: /api/v1/namespaces/pets/pods/kubia-1:8080/proxy/
status:
  description: HTTP status of the answer.
  returned: when the request was sent
  type: int
  sample: 200
body:
  description: The answer's body as text (undecodable bytes are replaced).
  returned: when the request was sent
  type: str
  sample: "You've hit kubia-1\nData stored on this pod: No data posted yet\n"
json:
  description: The answer's body parsed as JSON, or V(null) when it is not JSON.
  returned: when the request was sent
  type: raw
  sample: {"hostname": "kubia-1"}
headers:
  description: Headers of the answer.
  returned: when the request was sent
  type: dict
  sample: {"Content-Type": "text/plain"}
failure:
  description:
    - On failure, which kind it is.
    - V(invalid_request) (bad options), V(pod_not_found), V(pod_not_ready), V(service_not_found),
      V(service_not_ready) (no ready endpoint), V(api_unreachable), V(api_refused) (401 or 403), V(api_error)
      (another API server error), V(upstream_error) (the upstream answered 5xx), V(unexpected_status)
      (not in O(expected_status)), V(body_too_large) (longer than O(max_body_size)).
  returned: failure
  type: str
  sample: pod_not_ready
"""

from ansible_collections.stateful.pets.plugins.module_utils._k8s import AUTH_ARG_SPEC, Cluster, K8sError, Urllib3HTTPError  # noqa: E402 (imports follow the documentation blocks)
from ansible_collections.stateful.pets.plugins.module_utils._module import run_as_module  # noqa: E402
from ansible_collections.stateful.pets.plugins.module_utils._proxy import (  # noqa: E402
    classify,
    decode_body,
    encode_body,
    pod_readiness,
    proxy_error,
    proxy_path,
    resolve_pod_port,
    validate_port,
)


def argument_spec():
    spec = dict(AUTH_ARG_SPEC)
    spec.update(
        kind=dict(type="str", choices=["pod", "service"], default="pod"),
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        port=dict(type="str"),
        scheme=dict(type="str", choices=["http", "https"], default="http"),
        path=dict(type="str", default=""),
        query=dict(type="dict"),
        method=dict(type="str", choices=["GET", "POST", "PUT", "DELETE"], default="GET"),
        body=dict(type="raw"),
        headers=dict(type="dict", default={}),
        expected_status=dict(type="list", elements="int"),
        require_ready=dict(type="bool", default=True),
        timeout=dict(type="int", default=30),
        max_body_size=dict(type="int", default=1048576),
    )
    return spec


def run(params, check_mode, diff, reporter):
    """Do the request: the result dict, or K8sError whose details name the `failure` (and hold the answer, if any)."""
    del diff, reporter  # one request, no steps to report
    try:
        return send(params, check_mode)
    except K8sError as exc:
        if "failure" in exc.details:
            raise
        failure, msg = describe_k8s_error(exc)
        raise K8sError(msg, status=exc.status, details={"failure": failure}) from exc


def send(params, check_mode):
    kind, namespace, name = params["kind"], params["namespace"], params["name"]
    port = validate_port(params["port"])
    if params["max_body_size"] < 1:
        raise proxy_error(f"max_body_size must be at least 1 byte, got {params['max_body_size']}.", "invalid_request")
    payload, headers = encode_body(params["body"], params["headers"])
    # Validate the whole request before touching the cluster.
    url = proxy_path(kind, namespace, name, port, params["path"], params["query"], params["scheme"])
    sends = params["method"] == "GET" or not check_mode
    if not sends:
        return dict(changed=True, url=url, msg=f"Check mode: the {params['method']} request was not sent.")
    cluster = Cluster.from_params(params)
    if kind == "pod":
        pod = cluster.find_pod(namespace, name)
        if pod is None:
            raise proxy_error(f"Pod {namespace}/{name} was not found. Check the name and the namespace.", "pod_not_found")
        if params["require_ready"]:
            why = pod_readiness(pod)
            if why:
                raise proxy_error(f"{why} Wait for it to become Ready, or set require_ready=false to send anyway.", "pod_not_ready")
        port = resolve_pod_port(pod, port)
        url = proxy_path(kind, namespace, name, port, params["path"], params["query"], params["scheme"])
    status, answer_headers, raw = cluster.proxy(url, params["method"], payload, headers, params["timeout"], params["max_body_size"])
    text, parsed = decode_body(raw, answer_headers)
    result = dict(changed=params["method"] != "GET", url=url, status=status, body=text, json=parsed, headers=answer_headers)
    try:
        classify(kind, namespace, name, status, answer_headers, parsed, text, params["expected_status"])
    except K8sError as exc:
        raise K8sError(exc.msg, details=dict(result, **exc.details)) from None
    return result


def describe_k8s_error(exc):
    """(failure, message) for a K8sError: a failed connection means the API server cannot be reached."""
    if exc.status is None and isinstance(exc.__cause__, Urllib3HTTPError):
        if exc.msg.startswith("Cannot reach"):
            return "api_unreachable", exc.msg
        return "api_unreachable", f"Cannot reach the Kubernetes API server: {exc.__cause__}. Check that the cluster is up and the kubeconfig points at it."
    return "api_error", exc.msg


def main():
    run_as_module(argument_spec(), run)


if __name__ == "__main__":
    main()
