# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one door to the Kubernetes API for stateful.pets modules.

Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
Do not use this from other collections or standalone plugins/modules!

Every helper here raises K8sError with a full sentence that names the object; only a module's
main() turns it into fail_json.
"""

from __future__ import annotations

import functools
import json
import os
import time
import traceback

try:
    import kubernetes
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

STATEFULSET_OWNER_KIND = "StatefulSet"
# The kinds the typed-free reads below address.
API_VERSIONS = {"Pod": "v1", "PersistentVolumeClaim": "v1", "StatefulSet": "apps/v1"}


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
    "Event": ("", "events"),
    "Lease": ("coordination.k8s.io", "leases"),
    "Namespace": ("", "namespaces"),
    "Node": ("", "nodes"),
    "PersistentVolume": ("", "persistentvolumes"),
    "PersistentVolumeClaim": ("", "persistentvolumeclaims"),
    "Pod": ("", "pods"),
    "Service": ("", "services"),
    "StatefulSet": ("apps", "statefulsets"),
}


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
    """Typed access to the API, built from kubernetes.core's connection options."""

    def __init__(self, api_client, dynamic=None):
        self.api_client = api_client
        self.dynamic = dynamic  # kubernetes.core's K8SClient: any kind by apiVersion and kind
        self.host = api_client.configuration.host

    # The typed API classes load lazily and take about 0.4 s to import; apply and objects_info never need them.
    @functools.cached_property
    def core(self):
        return kubernetes.client.CoreV1Api(self.api_client)

    @functools.cached_property
    def apps(self):
        return kubernetes.client.AppsV1Api(self.api_client)

    @functools.cached_property
    def coordination(self):
        return kubernetes.client.CoordinationV1Api(self.api_client)

    @classmethod
    def from_params(cls, params):
        if not HAS_KUBERNETES:
            raise K8sError("The Python library 'kubernetes' is required on the host that runs this module. Install it with pip.")
        auth = {key: params.get(key) for key in AUTH_ARG_SPEC if params.get(key) is not None}
        kubeconfig = auth.get("kubeconfig")
        if isinstance(kubeconfig, str) and not os.path.exists(os.path.expanduser(kubeconfig)):
            raise K8sError(f"The kubeconfig file {kubeconfig} does not exist. Point kubeconfig (or K8S_AUTH_KUBECONFIG) at an existing file.")
        try:
            client = get_api_client(**auth)
        except Exception as exc:  # kubernetes.core raises CoreException; config errors vary
            raise K8sError(f"Cannot build a Kubernetes client from the connection options: {exc}") from exc
        return cls(client.client.client, dynamic=client)

    def _call(self, verb, kind, namespace, name, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ApiException as exc:
            raise api_error(exc, verb, kind, namespace, name) from exc
        except Urllib3HTTPError as exc:
            raise _unreachable(exc, self.host) from exc

    def _find(self, kind, namespace, name, read):
        """Call `read()` like _call does, but answer None when the object does not exist."""
        try:
            return read()
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise api_error(exc, "get", kind, namespace, name) from exc
        except Urllib3HTTPError as exc:
            raise _unreachable(exc, self.host) from exc

    # Namespaces and nodes
    def namespace_exists(self, namespace):
        return self._find("Namespace", None, namespace, lambda: self.core.read_namespace(namespace)) is not None

    def get_node(self, name):
        return self._call("get", "Node", None, name, self.core.read_node, name)

    def list_nodes(self):
        return self._call("list", "Node", None, None, self.core.list_node).items

    def patch_node(self, name, body):
        return self._call("patch", "Node", None, name, self.core.patch_node, name, body)

    def get_node_lease(self, name):
        """The node's heartbeat Lease, or None when there is none."""
        return self._find("Lease", "kube-node-lease", name, lambda: self.coordination.read_namespaced_lease(name, "kube-node-lease"))

    # StatefulSets
    def get_statefulset(self, namespace, name):
        return self._get_json("StatefulSet", namespace, name)

    def patch_statefulset_replicas(self, namespace, name, replicas):
        body = {"spec": {"replicas": replicas}}
        return self._call("patch", "StatefulSet", namespace, name, self.apps.patch_namespaced_stateful_set_scale, name, namespace, body)

    # Pods
    def get_pod(self, namespace, name):
        return self._call("get", "Pod", namespace, name, self.core.read_namespaced_pod, name, namespace)

    def find_pod(self, namespace, name):
        """The pod, or None when it does not exist."""
        return self._find("Pod", namespace, name, lambda: self.core.read_namespaced_pod(name, namespace))

    def list_pods(self, namespace=None, label_selector=None, field_selector=None):
        return self._get_json("Pod", namespace, label_selector=label_selector, field_selector=field_selector)["items"]

    def force_delete_pod(self, namespace, name, uid):
        """Delete exactly this instance of the pod (UID precondition), with no grace period."""
        body = kubernetes.client.V1DeleteOptions(grace_period_seconds=0, preconditions=kubernetes.client.V1Preconditions(uid=uid))
        return self._call("delete", "Pod", namespace, name, self.core.delete_namespaced_pod, name, namespace, body=body, grace_period_seconds=0)

    def delete_pod(self, namespace, name):
        return self._call("delete", "Pod", namespace, name, self.core.delete_namespaced_pod, name, namespace)

    def watch_pods(self, namespace, label_selector, timeout):
        """Yield (event_type, pod) until `timeout` seconds pass; the caller stops early by breaking."""
        yield from self._watch("Pod", namespace, None, timeout, label_selector=label_selector)

    # Storage
    def find_pvc(self, namespace, name):
        return self._find("PersistentVolumeClaim", namespace, name, lambda: self.core.read_namespaced_persistent_volume_claim(name, namespace))

    def list_pvcs(self, namespace, label_selector=None):
        return self._get_json("PersistentVolumeClaim", namespace, label_selector=label_selector)["items"]

    # Events
    def events_for(self, namespace, kind, name, limit=5):
        """The newest `limit` events about one object, as short strings."""
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        items = self._call("list", "Event", namespace, None, self.core.list_namespaced_event, namespace, field_selector=selector).items
        items.sort(key=_event_time)
        return [f"{e.type} {e.reason}: {e.message}" for e in items[-limit:]]

    # API-server proxy
    def proxy(self, path, method="GET", body=None, headers=None, timeout=30):
        """Send one request to an API-server proxy path; return (status, headers, body bytes).

        A str or bytes body is sent as is, as text/plain unless `headers` names a Content-Type.

        An HTTP error status is returned, not raised, so that the caller can tell the API server's
        own refusals from the upstream's answers.
        """
        headers = dict(headers or {})
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "text/plain"
        try:
            if hasattr(self.api_client, "param_serialize"):
                # Newer generated clients: serialize, then send; this call_api returns error statuses, it does not raise.
                request = self.api_client.param_serialize(method, path, header_params=headers, body=body, auth_settings=["BearerToken"])
                response = self.api_client.call_api(*request, _request_timeout=timeout)
                response.read()
            else:
                response = self.api_client.call_api(
                    path,
                    method,
                    header_params=headers,
                    body=body,
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _return_http_data_only=True,
                    _request_timeout=timeout,
                )
            return response.status, dict(response.getheaders()), response.data
        except ApiException as exc:
            return exc.status, dict(exc.headers or {}), (exc.body or b"")
        except Urllib3HTTPError as exc:
            raise _unreachable(exc, self.host) from exc

    # Added for statefulset_scale
    def to_dict(self, obj):
        """A client model object as the API's own JSON form (camelCase keys, RFC 3339 times); JSON stays as it is."""
        return obj if isinstance(obj, dict) else self.api_client.sanitize_for_serialization(obj)

    def find_workload_kind(self, namespace, name):
        """The kind of a Deployment, ReplicaSet or DaemonSet with this name, or None when there is none."""
        for kind, func in (
            ("Deployment", self.apps.read_namespaced_deployment),
            ("ReplicaSet", self.apps.read_namespaced_replica_set),
            ("DaemonSet", self.apps.read_namespaced_daemon_set),
        ):
            if self._find(kind, namespace, name, lambda read=func: read(name, namespace)) is not None:
                return kind
        return None

    def watch_named(self, kind, namespace, name, timeout, resource_version=None):
        """Yield (event_type, object) for one Pod or StatefulSet until `timeout` seconds pass; the caller stops by breaking.

        Without `resource_version` the first event is a synthetic ADDED carrying the current object, if it exists.
        """
        yield from self._watch(kind, namespace, name, timeout, field_selector=f"metadata.name={name}", resource_version=resource_version)

    # Reads and watches as plain JSON through the dynamic client: no typed API classes to import (about half a
    # second of CPU, which a rollout waiting on two cores would feel) and no model objects to build.
    def _plain_request(self, kind, params):
        """The resource of `kind` (one of API_VERSIONS) and the parameters that are set, for the JSON reads and watches."""
        return self._resource({"kind": kind, "apiVersion": API_VERSIONS[kind]}), {key: value for key, value in params.items() if value}

    def _get_json(self, kind, namespace, name=None, **params):
        """One object (`name`) or a list, as the API's JSON; a list spans all namespaces when `namespace` is None."""
        resource, params = self._plain_request(kind, params)
        response = self._call("get" if name else "list", kind, namespace, name,
                              lambda: self.dynamic.client.get(resource, name=name, namespace=namespace, serialize=False, **params))
        return json.loads(response.data)

    def _watch(self, kind, namespace, name, timeout, **params):
        resource, params = self._plain_request(kind, params)
        watcher = kubernetes.watch.Watch()
        try:
            for event in watcher.stream(resource.get, namespace=namespace, serialize=False, timeout_seconds=max(1, int(timeout)),
                                        _request_timeout=max(2, int(timeout) + 5), **params):
                yield event["type"], event["object"]
        except ApiException as exc:
            raise api_error(exc, "watch", kind, namespace, name) from exc
        except Urllib3HTTPError as exc:
            raise _unreachable(exc, self.host) from exc
        finally:
            watcher.stop()

    # Any kind, through discovery
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

    def read_object(self, obj):
        """The live object with the kind, namespace and name of `obj`, as a dict, or None when there is none."""
        resource, namespace, name = self._target(obj)
        found = self._find(obj["kind"], namespace, name, lambda: self.dynamic.client.get(resource, name=name, namespace=namespace))
        return found.to_dict() if found is not None else None

    def list_objects(self, api_version, kind, namespace=None, name=None):
        """Objects of one kind as dicts: the one named `name` (or none), or all of them, in `namespace` when it is namespaced."""
        probe = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}
        if name:
            found = self.read_object(probe)
            return [found] if found is not None else []
        resource, scope, _name = self._target(probe)
        listed = self._call("list", kind, scope, None, lambda: self.dynamic.client.get(resource, namespace=scope))
        return listed.to_dict().get("items") or []

    def server_side_apply(self, obj, field_manager, force_conflicts, dry_run=False):
        """Server-side apply `obj` (a dry run when asked); the object as the server returns it, as a dict."""
        resource, namespace, name = self._target(obj)
        kwargs = {"field_manager": field_manager, "force_conflicts": force_conflicts}
        if dry_run:
            kwargs["dry_run"] = "All"
        applied = self._call(
            "apply", obj["kind"], namespace, name,
            lambda: self.dynamic.client.server_side_apply(resource, body=obj, name=name, namespace=namespace, **kwargs),
        )
        return applied.to_dict()


def _event_time(event):
    stamp = event.last_timestamp or event.event_time or event.metadata.creation_timestamp
    return stamp.timestamp() if stamp else 0.0


def monotonic():
    return time.monotonic()
