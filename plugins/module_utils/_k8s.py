# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one door to the Kubernetes API for stateful.pets modules.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Every call returns the API's own JSON as plain dicts (camelCase keys, RFC 3339 time strings) and raises K8sError, the
one error type of the collection, with a full sentence that names the object; only run_as_module() turns it into a
failed result.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
import traceback

from ansible_collections.stateful.pets.plugins.module_utils._predicates import parse_time

try:
    import kubernetes
    import urllib3
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from kubernetes.client.rest import ApiException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # type: ignore[no-redef]
        status = 0
        reason = ""
        body = ""

    class Urllib3HTTPError(Exception):  # type: ignore[no-redef]
        pass


# The option spec needs only kubernetes.core, not the kubernetes library: keep it whole when the library is missing
# (validate-modules checks the documented connection options against it).
try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC as _UPSTREAM_AUTH_ARG_SPEC
except ImportError:
    _UPSTREAM_AUTH_ARG_SPEC = {}

AUTH_ARG_SPEC = dict(_UPSTREAM_AUTH_ARG_SPEC)

# (apiVersion, kind) -> (path prefix, plural, namespaced) of the kinds the modules address by name, without discovery.
KNOWN_KINDS = {
    ("v1", "Namespace"): ("/api/v1", "namespaces", False),
    ("v1", "Node"): ("/api/v1", "nodes", False),
    ("v1", "Pod"): ("/api/v1", "pods", True),
    ("v1", "PersistentVolumeClaim"): ("/api/v1", "persistentvolumeclaims", True),
    ("v1", "PersistentVolume"): ("/api/v1", "persistentvolumes", False),
    ("v1", "Event"): ("/api/v1", "events", True),
    ("apps/v1", "StatefulSet"): ("/apis/apps/v1", "statefulsets", True),
    ("apps/v1", "Deployment"): ("/apis/apps/v1", "deployments", True),
    ("apps/v1", "ReplicaSet"): ("/apis/apps/v1", "replicasets", True),
    ("apps/v1", "DaemonSet"): ("/apis/apps/v1", "daemonsets", True),
    ("apps/v1", "ControllerRevision"): ("/apis/apps/v1", "controllerrevisions", True),
    ("coordination.k8s.io/v1", "Lease"): ("/apis/coordination.k8s.io/v1", "leases", True),
    ("events.k8s.io/v1", "Event"): ("/apis/events.k8s.io/v1", "events", True),
    ("storage.k8s.io/v1", "VolumeAttachment"): ("/apis/storage.k8s.io/v1", "volumeattachments", False),
    ("storage.k8s.io/v1", "StorageClass"): ("/apis/storage.k8s.io/v1", "storageclasses", False),
}
API_VERSIONS = {kind: api_version for api_version, kind in KNOWN_KINDS if (api_version, kind) != ("events.k8s.io/v1", "Event")}
NODE_LEASE_NAMESPACE = "kube-node-lease"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class K8sError(Exception):
    """The one error type of stateful.pets. `status` is the HTTP status when the API server answered."""

    def __init__(self, msg, status=None, details=None):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.details = details or {}


def ref(namespace, name):
    """The `namespace/name` form used in every message."""
    return f"{namespace}/{name}" if namespace else name


def api_error(exc, verb, kind, namespace=None, name=None):
    """Turn an ApiException into a K8sError whose message says what failed and what to do."""
    what = f"{kind} {ref(namespace, name)}" if name else f"{kind} objects in namespace {namespace}" if namespace else f"{kind} objects"
    status = getattr(exc, "status", None)
    reason = _status_message(exc)
    if status == 404:
        msg = f"Cannot {verb} {what}: it was not found. Check the name and the namespace."
    elif status == 403:
        group, resource = _rbac_resource(exc, kind)
        rbac_verb = "patch" if verb == "apply" else verb  # server-side apply is a PATCH
        # The server's message names exactly what RBAC refused: a subresource (statefulsets/scale), or the create that
        # a server-side apply of a new object needs besides the patch.
        refused = _REFUSED_RE.search(reason or "")
        if refused:
            rbac_verb, resource, group = refused.groups()
        msg = (f"Cannot {verb} {what}: the API server refused it (403). Grant the verb '{rbac_verb}' on the resource '{resource}' "
               f"(API group {group or 'core'}) to this identity in RBAC, for example with a rule {{apiGroups: [\"{group}\"], "
               f"resources: [\"{resource}\"], verbs: [\"{rbac_verb}\"]}}. Server said: {reason}")
    elif status == 401:
        msg = f"Cannot {verb} {what}: the credentials were rejected (401). Check the kubeconfig or token."
    elif status == 409 and verb == "apply":
        msg = (f"Cannot apply {what}: another field manager owns a field it sets (409). Leave the field out of the definition, "
               f"or set force_conflicts to take it over. Server said: {reason}")
    elif status == 409:
        msg = f"Cannot {verb} {what}: it changed on the server meanwhile (409). Run the task again. Server said: {reason}"
    elif status == 422:
        msg = f"Cannot {verb} {what}: the API server rejected it as invalid (422). Server said: {reason}"
    else:
        msg = f"Cannot {verb} {what}: the API server answered {status} {getattr(exc, 'reason', '')}. Server said: {reason}"
    return K8sError(msg, status=status)


# The RBAC resource (API group, plural) of each kind this collection touches, for when the server does not name it.
_RBAC_RESOURCES = {
    "ControllerRevision": ("apps", "controllerrevisions"),
    "Event": ("", "events"),
    "Lease": ("coordination.k8s.io", "leases"),
    "Namespace": ("", "namespaces"),
    "Node": ("", "nodes"),
    "PersistentVolume": ("", "persistentvolumes"),
    "PersistentVolumeClaim": ("", "persistentvolumeclaims"),
    "Pod": ("", "pods"),
    "Service": ("", "services"),
    "StatefulSet": ("apps", "statefulsets"),
    "StorageClass": ("storage.k8s.io", "storageclasses"),
    "VolumeAttachment": ("storage.k8s.io", "volumeattachments"),
}


# The API server's sentence for an RBAC refusal: ... cannot <verb> resource "<resource>" in API group "<group>" ...
_REFUSED_RE = re.compile(r'cannot ([a-z]+) resource "([^"]+)" in API group "([^"]*)"')


def _rbac_resource(exc, kind):
    """(API group, resource) that a 403 is about: from the server's Status details, else from the kind."""
    group, resource = _RBAC_RESOURCES.get(kind, ("", kind.lower() + "s"))
    try:
        details = json.loads(getattr(exc, "body", None) or "{}").get("details") or {}
    except (ValueError, AttributeError):
        details = {}
    if details.get("kind"):
        return details.get("group", ""), details["kind"]
    return group, resource


def _status_message(exc):
    body = getattr(exc, "body", None)
    if not body:
        return getattr(exc, "reason", "") or ""
    try:
        return json.loads(body).get("message") or str(body)
    except (ValueError, AttributeError):
        return str(body)[:500]


def _unreachable(exc, host):
    return K8sError(f"Cannot reach the Kubernetes API server at {host}: {exc}. Check that the cluster is up and the kubeconfig points at it.")


class Cluster:
    """The API as plain JSON dicts, built from kubernetes.core's connection options."""

    def __init__(self, api_client, dynamic=None):
        self.api_client = api_client
        self.dynamic = dynamic  # kubernetes.core's K8SClient: requests by path, and any kind through discovery
        self.host = api_client.configuration.host

    @classmethod
    def from_params(cls, params):
        if not HAS_KUBERNETES:
            raise K8sError("The Python library 'kubernetes' is required on the host that runs this module. Install it with pip.")
        auth = {key: params.get(key) for key in AUTH_ARG_SPEC if params.get(key) is not None}
        _check_kubeconfig_files(auth.get("kubeconfig"))
        try:
            client = get_api_client(**auth)
        except Exception as exc:  # kubernetes.core raises CoreException; config errors vary
            raise K8sError(f"Cannot build a Kubernetes client from the connection options: {exc}") from exc
        return cls(client.client.client, dynamic=client)

    # The one request helper ---------------------------------------------------------------------

    def _request(self, verb, kind, namespace, name, method, path, body=None, **params):
        """One request; the answer's JSON as a dict. `verb`, `kind`, `namespace` and `name` name the object in errors."""
        response = self._call(verb, kind, namespace, name, lambda: self.dynamic.client.request(method, path, body=body, serialize=False, **params))
        return json.loads(response.data) if response.data else {}

    def _call(self, verb, kind, namespace, name, func):
        try:
            return func()
        except ApiException as exc:
            raise api_error(exc, verb, kind, namespace, name) from exc
        except Urllib3HTTPError as exc:
            raise _unreachable(exc, self.host) from exc

    def _get(self, api_version, kind, namespace, name):
        return self._request("get", kind, namespace, name, "get", _path(api_version, kind, namespace, name))

    def _find(self, api_version, kind, namespace, name):
        """The object, or None when it does not exist."""
        try:
            return self._get(api_version, kind, namespace, name)
        except K8sError as exc:
            if exc.status == 404:
                return None
            raise

    def _list(self, api_version, kind, namespace=None, **selectors):
        """The items of a list, in `namespace` or across all namespaces; empty selectors are left out."""
        params = {key: value for key, value in selectors.items() if value}
        listed = self._request("list", kind, namespace, None, "get", _path(api_version, kind, namespace), **params)
        return _with_kind(listed.get("items") or [], api_version, kind)

    def _patch(self, api_version, kind, namespace, name, body, content_type, subresource=None):
        path = _path(api_version, kind, namespace, name, subresource)
        return self._request("patch", kind, namespace, name, "patch", path, body=body, content_type=content_type)

    # Namespaces and nodes -----------------------------------------------------------------------

    def namespace_exists(self, namespace):
        return self._find("v1", "Namespace", None, namespace) is not None

    def get_node(self, name):
        return self._get("v1", "Node", None, name)

    def list_nodes(self):
        return self._list("v1", "Node")

    def patch_node(self, name, body):
        """A strategic merge patch, as kubectl patch sends; a metadata.resourceVersion in `body` makes it conditional."""
        return self._patch("v1", "Node", None, name, body, STRATEGIC_MERGE_PATCH)

    def get_node_lease(self, name):
        """The node's heartbeat Lease, or None when there is none."""
        return self._find("coordination.k8s.io/v1", "Lease", NODE_LEASE_NAMESPACE, name)

    # Leases (the fence Leases of node_fence; a node's own heartbeat Lease is get_node_lease) ---------

    def find_lease(self, namespace, name):
        """The Lease, or None when there is none."""
        return self._find("coordination.k8s.io/v1", "Lease", namespace, name)

    def list_leases(self, namespace, label_selector=None):
        return self._list("coordination.k8s.io/v1", "Lease", namespace, label_selector=label_selector)

    def create_lease(self, namespace, lease):
        """Create a Lease; a 409 means another writer created it first."""
        name = lease["metadata"]["name"]
        return self._request("create", "Lease", namespace, name, "post", _path("coordination.k8s.io/v1", "Lease", namespace), body=lease)

    def replace_lease(self, namespace, lease):
        """Replace a Lease under its metadata.resourceVersion; a 409 means another writer changed it meanwhile."""
        name = lease["metadata"]["name"]
        return self._request("update", "Lease", namespace, name, "put", _path("coordination.k8s.io/v1", "Lease", namespace, name), body=lease)

    # StatefulSets and other workloads -----------------------------------------------------------

    def get_statefulset(self, namespace, name):
        return self._get("apps/v1", "StatefulSet", namespace, name)

    def patch_statefulset_replicas(self, namespace, name, replicas):
        """Set spec.replicas through the scale subresource; the Scale object as the server returns it."""
        return self._patch("apps/v1", "StatefulSet", namespace, name, {"spec": {"replicas": replicas}}, MERGE_PATCH, subresource="scale")

    def find_workload_kind(self, namespace, name):
        """The kind of a Deployment, ReplicaSet or DaemonSet with this name, or None when there is none."""
        for kind in ("Deployment", "ReplicaSet", "DaemonSet"):
            if self._find("apps/v1", kind, namespace, name) is not None:
                return kind
        return None

    # Pods ---------------------------------------------------------------------------------------

    def get_pod(self, namespace, name):
        return self._get("v1", "Pod", namespace, name)

    def find_pod(self, namespace, name):
        """The pod, or None when it does not exist."""
        return self._find("v1", "Pod", namespace, name)

    def list_pods(self, namespace=None, label_selector=None, field_selector=None):
        return self._list("v1", "Pod", namespace, label_selector=label_selector, field_selector=field_selector)

    def force_delete_pod(self, namespace, name, uid):
        """Delete exactly this instance of the pod (UID precondition), with no grace period."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "preconditions": {"uid": uid}}
        return self._request("delete", "Pod", namespace, name, "delete", _path("v1", "Pod", namespace, name), body=body, grace_period_seconds=0)

    def delete_pod(self, namespace, name):
        return self._request("delete", "Pod", namespace, name, "delete", _path("v1", "Pod", namespace, name))

    # Storage ------------------------------------------------------------------------------------

    def find_pvc(self, namespace, name):
        return self._find("v1", "PersistentVolumeClaim", namespace, name)

    def list_pvcs(self, namespace, label_selector=None):
        return self._list("v1", "PersistentVolumeClaim", namespace, label_selector=label_selector)

    def delete_pvc(self, namespace, name):
        return self._request("delete", "PersistentVolumeClaim", namespace, name, "delete", _path("v1", "PersistentVolumeClaim", namespace, name))

    def find_pv(self, name):
        return self._find("v1", "PersistentVolume", None, name)

    def list_pvs(self, label_selector=None):
        return self._list("v1", "PersistentVolume", label_selector=label_selector)

    def list_storage_classes(self):
        return self._list("storage.k8s.io/v1", "StorageClass")

    def create_pv(self, pv):
        name = pv["metadata"]["name"]
        return self._request("create", "PersistentVolume", None, name, "post", _path("v1", "PersistentVolume"), body=pv)

    def list_volume_attachments(self):
        return self._list("storage.k8s.io/v1", "VolumeAttachment")

    # Events -------------------------------------------------------------------------------------

    def events_for(self, namespace, kind, name, limit=5):
        """The newest `limit` events about one object, as short strings."""
        items = self._list("v1", "Event", namespace, field_selector=f"involvedObject.kind={kind},involvedObject.name={name}")
        items.sort(key=_event_time)
        return [f"{e.get('type')} {e.get('reason')}: {e.get('message')}" for e in items[-limit:]]

    def create_event(self, event):
        """Create an events.k8s.io/v1 Event in its metadata.namespace; the Event as stored."""
        namespace = event["metadata"]["namespace"]
        path = _path("events.k8s.io/v1", "Event", namespace)
        return self._request("create", "Event", namespace, event["metadata"].get("name"), "post", path, body=event)

    # Watches ------------------------------------------------------------------------------------

    def watch_pods(self, namespace, label_selector, timeout):
        """Yield (event_type, pod) until `timeout` seconds pass; the caller stops early by breaking."""
        yield from self._watch("Pod", namespace, None, timeout, label_selector=label_selector)

    def watch_named(self, kind, namespace, name, timeout, resource_version=None):
        """Yield (event_type, object) for one object of a known kind (a Pod, a Node, a Lease...) until `timeout` seconds pass; the caller stops by breaking.

        Without `resource_version` the first event is a synthetic ADDED carrying the current object, if it exists.
        """
        yield from self._watch(kind, namespace, name, timeout, field_selector=f"metadata.name={name}", resource_version=resource_version)

    def _watch(self, kind, namespace, name, timeout, **params):
        params = {key: value for key, value in params.items() if value}
        request = functools.partial(self.dynamic.client.request, "get", _path(API_VERSIONS[kind], kind, namespace))
        watcher = kubernetes.watch.Watch()
        try:
            for event in watcher.stream(request, serialize=False, timeout_seconds=max(1, int(timeout)), _request_timeout=max(2, int(timeout) + 5), **params):
                yield event["type"], event["object"]
        except ApiException as exc:
            raise api_error(exc, "watch", kind, namespace, name) from exc
        except Urllib3HTTPError as exc:
            raise _unreachable(exc, self.host) from exc
        finally:
            watcher.stop()

    # StatefulSet rollouts (statefulset_rollout) -------------------------------------------------

    def list_controller_revisions(self, namespace, label_selector=None):
        """The ControllerRevisions in `namespace` that match `label_selector`: a StatefulSet's template history."""
        return self._list("apps/v1", "ControllerRevision", namespace, label_selector=label_selector)

    def json_patch_statefulset(self, namespace, name, operations):
        """Apply a JSON patch (RFC 6902) to the StatefulSet; the StatefulSet as the server returns it."""
        return self._patch("apps/v1", "StatefulSet", namespace, name, operations, JSON_PATCH)

    def delete_pod_instance(self, namespace, name, uid):
        """Delete exactly this instance of the pod (UID precondition), with its own grace period."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}}
        return self._request("delete", "Pod", namespace, name, "delete", _path("v1", "Pod", namespace, name), body=body)

    # Commands in a container --------------------------------------------------------------------

    def exec_in_pod(self, namespace, name, container, command, timeout):
        """Run `command` (a list of arguments) in a container of the pod; (exit code, stdout, stderr).

        The exec subresource speaks WebSocket, which only the typed API's stream helper does; it loads here, when a
        command runs, and nowhere else.
        """
        from kubernetes.stream import stream  # pylint: disable=import-outside-toplevel

        api = kubernetes.client.CoreV1Api(self.api_client)
        try:
            session = stream(api.connect_get_namespaced_pod_exec, name, namespace, command=command, container=container,
                             stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
        except ApiException as exc:
            raise api_error(exc, "exec into", "Pod", namespace, name) from exc
        except Urllib3HTTPError as exc:
            raise _unreachable(exc, self.host) from exc
        stdout, stderr = [], []
        deadline = time.monotonic() + timeout
        try:
            while session.is_open():
                if time.monotonic() >= deadline:
                    raise K8sError(f"The command in pod {ref(namespace, name)} (container {container}) did not finish within {timeout} s,"
                                   " so it was left running. Raise timeout or make the command end sooner.",
                                   details={"stdout": "".join(stdout), "stderr": "".join(stderr)})
                session.update(timeout=1)
                if session.peek_stdout():
                    stdout.append(session.read_stdout())
                if session.peek_stderr():
                    stderr.append(session.read_stderr())
            status = session.read_channel(3)
        finally:
            session.close()
        return exit_code(status, namespace, name, container), "".join(stdout), "".join(stderr)

    # API-server proxy ---------------------------------------------------------------------------

    def proxy(self, path, method="GET", body=None, headers=None, timeout=30, max_body_size=None):
        """Send one request to an API-server proxy path; return (status, headers, body bytes).

        A str or bytes body is sent as is, as text/plain unless `headers` names a Content-Type; a dict or a list as JSON.

        An HTTP error status is returned, not raised, so that the caller can tell the API server's own refusals from the
        upstream's answers. A redirect is returned too, never followed: its Location may name any host. At most
        `max_body_size` bytes of the answer are read; a longer one raises K8sError.
        """
        headers = dict(headers or {})
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "text/plain"
        url, headers = self._authorized(method, path, headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            response = self.api_client.rest_client.pool_manager.request(
                method, url, body=body, headers=headers, redirect=False, retries=False, preload_content=False,
                timeout=urllib3.Timeout(total=timeout))
            try:
                data = read_capped(response, max_body_size, path)
            finally:
                response.release_conn()
            return response.status, dict(response.headers), data
        except Urllib3HTTPError as exc:
            raise _unreachable(exc, self.host) from exc

    def _authorized(self, method, path, headers):
        """(URL, headers with the credentials) of a request to `path`, as the API client would send it."""
        if hasattr(self.api_client, "param_serialize"):
            _method, url, headers, _body, _post = self.api_client.param_serialize(method, path, header_params=headers, auth_settings=["BearerToken"])
            return url, headers
        self.api_client.update_params_for_auth(headers, [], ["BearerToken"])
        return self.api_client.configuration.host + path, headers

    # Any kind, through discovery ----------------------------------------------------------------

    def _resource(self, obj):
        try:
            return self.dynamic.resource(obj["kind"], obj["apiVersion"])
        except Exception as exc:  # ResourceNotFoundError and friends from discovery
            raise K8sError(
                f"The API server at {self.host} serves no kind {obj['kind']} in apiVersion {obj['apiVersion']} ({exc}). "
                "Check the apiVersion and kind, or install the CRD that defines them."
            ) from exc

    def check_kind(self, obj):
        """Raise K8sError unless the server serves the kind of `obj`."""
        self._resource(obj)

    def _target(self, obj):
        """(resource, namespace, name) that `obj` addresses; the namespace is None for a cluster-scoped kind."""
        resource = self._resource(obj)
        meta = obj["metadata"]
        return resource, (meta.get("namespace") if resource.namespaced else None), meta.get("name")

    def _discovered_request(self, verb, obj, func):
        response = self._call(verb, obj["kind"], obj["metadata"].get("namespace"), obj["metadata"].get("name"), func)
        return json.loads(response.data) if response.data else {}

    def read_object(self, obj):
        """The live object with the kind, namespace and name of `obj`, or None when there is none."""
        resource, namespace, name = self._target(obj)
        try:
            return self._discovered_request("get", obj, lambda: self.dynamic.client.get(resource, name=name, namespace=namespace, serialize=False))
        except K8sError as exc:
            if exc.status == 404:
                return None
            raise

    def list_objects(self, api_version, kind, namespace=None, name=None, label_selector=None, field_selector=None):
        """Objects of one kind, in `namespace` when the kind is namespaced: the one named `name` (or none), or all of them
        that match the selectors (comma-separated `key=value` terms, as kubectl takes them)."""
        probe = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}
        if name and not (label_selector or field_selector):
            found = self.read_object(probe)
            return [found] if found is not None else []
        if name:
            field_selector = ",".join(term for term in (f"metadata.name={name}", field_selector) if term)
        resource, scope, _name = self._target(probe)
        selectors = {key: value for key, value in (("label_selector", label_selector), ("field_selector", field_selector)) if value}
        listed = self._call("list", kind, scope, None, lambda: self.dynamic.client.get(resource, namespace=scope, serialize=False, **selectors))
        return _with_kind(json.loads(listed.data).get("items") or [], api_version, kind)

    def delete_object(self, obj, dry_run=False, grace_period=None, propagation_policy=None):
        """Delete the object `obj` addresses (a server-side dry run when asked); the server's answer, as a dict."""
        resource, namespace, name = self._target(obj)
        options = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if dry_run:
            options["dryRun"] = ["All"]
        return self._discovered_request(
            "delete", obj, lambda: self.dynamic.client.delete(resource, name=name, namespace=namespace, body=options, serialize=False)
        )

    def server_side_apply(self, obj, field_manager, force_conflicts, dry_run=False):
        """Server-side apply `obj` (a dry run when asked); the object as the server returns it."""
        resource, namespace, name = self._target(obj)
        kwargs = {"field_manager": field_manager, "force_conflicts": force_conflicts, "serialize": False}
        if dry_run:
            kwargs["dry_run"] = "All"
        return self._discovered_request(
            "apply", obj, lambda: self.dynamic.client.server_side_apply(resource, body=obj, name=name, namespace=namespace, **kwargs)
        )


def _path(api_version, kind, namespace=None, name=None, subresource=None):
    """The API path of a known kind: its collection (in `namespace` when namespaced), one object, or a subresource."""
    prefix, plural, namespaced = KNOWN_KINDS[(api_version, kind)]
    path = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced and namespace else f"{prefix}/{plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


def read_capped(response, max_body_size, what):
    """The body of a streamed urllib3 response, or K8sError when it is longer than `max_body_size` bytes (None: no cap)."""
    chunks, size = [], 0
    for chunk in response.stream(65536):
        size += len(chunk)
        if max_body_size is not None and size > max_body_size:
            raise K8sError(f"The answer to {what} is longer than {max_body_size} bytes, so it was not read. Raise max_body_size if it is "
                           "expected.", details={"failure": "body_too_large"})
        chunks.append(chunk)
    return b"".join(chunks)


def exit_code(status, namespace, name, container):
    """The exit code of an exec session from its status channel (a v1 Status, as JSON text).

    Success is 0; a command that ran and failed names its code in an ExitCode cause; anything else means the command
    did not run at all (no such executable, no such container), which is an error.
    """
    try:
        parsed = json.loads(status) if status else {}
    except ValueError:
        parsed = {}
    if parsed.get("status") == "Success":
        return 0
    for cause in (parsed.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message"))
    raise K8sError(f"Cannot run the command in pod {ref(namespace, name)} (container {container}): "
                   f"{parsed.get('message') or status or 'the API server sent no exit status'}.")


def _with_kind(items, api_version, kind):
    """List items as the API returns single objects: with their apiVersion and kind (a list leaves them out)."""
    for item in items:
        item.setdefault("apiVersion", api_version)
        item.setdefault("kind", kind)
    return items


def _check_kubeconfig_files(kubeconfig):
    """Name a kubeconfig file that does not exist before any client is built (the client's own message does not)."""
    source = ""
    if kubeconfig is None and os.environ.get("K8S_AUTH_KUBECONFIG"):
        kubeconfig, source = os.environ["K8S_AUTH_KUBECONFIG"], " (from K8S_AUTH_KUBECONFIG)"
    if not isinstance(kubeconfig, str):
        return
    for path in kubeconfig.split(os.pathsep):
        if path and not os.path.exists(os.path.expanduser(path)):
            raise K8sError(f"The kubeconfig file {path}{source} does not exist. Point kubeconfig (or K8S_AUTH_KUBECONFIG) at an existing file.")


def _event_time(event):
    stamp = event.get("lastTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp")
    parsed = parse_time(stamp)
    return parsed.timestamp() if parsed else 0.0
