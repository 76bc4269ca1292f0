# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Records every request the kubernetes library sends, for the access_actions target (test only, never shipped).

Put this directory first on PYTHONPATH and set STATEFUL_PETS_API_RECORD to a file: every Python process of the run
(the controller, where the modules run for a local task, and any module process) appends one JSON line per request,
{"method": ..., "url": ...}, before it is sent. rbac_calls.py turns the lines into RBAC attributes.
"""

import json
import os

_RECORD = os.environ.get("STATEFUL_PETS_API_RECORD")


def _write(method, url):
    line = json.dumps({"method": method.upper(), "url": url, "pid": os.getpid()}) + "\n"
    with open(_RECORD, "a", encoding="utf-8") as handle:
        handle.write(line)


def _install():
    try:
        import urllib3
        from kubernetes.stream import ws_client
    except ImportError:
        return

    # The API client sends through its urllib3 pool, and pod_proxy uses that pool directly (with redirects off).
    plain_request = urllib3.PoolManager.request

    def recorded_request(self, method, url, *args, **kwargs):
        _write(method, url)
        return plain_request(self, method, url, *args, **kwargs)

    urllib3.PoolManager.request = recorded_request

    # exec and attach speak WebSocket: a GET upgrade that the API server also authorizes as the verb create.
    plain_ws_init = ws_client.WSClient.__init__

    def recorded_ws_init(self, configuration, url, *args, **kwargs):
        _write("GET", url)
        plain_ws_init(self, configuration, url, *args, **kwargs)

    ws_client.WSClient.__init__ = recorded_ws_init


if _RECORD:
    _install()
