"""Stop and restart a tenant's cron around a migration, through the Kubernetes API.

This file is shipped as is into the tenant's `odoo-platform-scripts` ConfigMap and run with the Odoo
image's own python3 (standard library only), so the upgrade Jobs need no second image whose version
would change their spec. Usage: `python3 cron_scaler.py REPLICAS DEPLOYMENT POD_SELECTOR TIMEOUT_SECONDS`.

- A missing Deployment (a tenant's first deploy) is not an error: there is no cron to stop yet.
- Scaling to 0 waits until no cron pod is left, so no scheduled action runs against a database
  that `--update=all` is migrating.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Optional

ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
POLL_SECONDS = 5

Api = Callable[[str, str, Optional[dict[str, Any]]], tuple[int, dict[str, Any]]]


def kubernetes_api(account: str = ACCOUNT) -> tuple[Api, str]:
    """A caller for the in-cluster API server with the pod's token, and the pod's namespace."""
    with open(f"{account}/namespace") as handle:
        namespace = handle.read().strip()
    context = ssl.create_default_context(cafile=f"{account}/ca.crt")
    server = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}"

    def call(method: str, path: str, body: Optional[dict[str, Any]] = None) -> tuple[int, dict[str, Any]]:
        with open(f"{account}/token") as handle:  # projected tokens rotate: read each time
            token = handle.read().strip()
        request = urllib.request.Request(
            server + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"},
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {}

    return call, namespace


def scale(api: Api, namespace: str, replicas: int, deployment: str, selector: str, timeout: float,
          sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> str:
    """Scale `deployment`; with 0, wait until no pod matches `selector`. Returns what happened."""
    status, _ = api("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale",
                    {"spec": {"replicas": replicas}})
    if status == 404:
        return f"{deployment} does not exist yet: nothing to scale"
    if status != 200:
        raise RuntimeError(f"scaling {deployment} to {replicas} failed: HTTP {status}")
    if replicas:
        return f"{deployment} scaled to {replicas}"
    query = urllib.parse.urlencode({"labelSelector": selector})
    deadline = clock() + timeout
    while True:
        status, pods = api("GET", f"/api/v1/namespaces/{namespace}/pods?{query}", None)
        if status != 200:
            raise RuntimeError(f"listing {selector} pods failed: HTTP {status}")
        left = [pod["metadata"]["name"] for pod in pods.get("items", [])]
        if not left:
            return f"{deployment} stopped: no pod left"
        if clock() > deadline:
            raise RuntimeError(f"{deployment} still has pods after {timeout:.0f}s: {', '.join(left)}")
        sleep(POLL_SECONDS)


def main(argv: list[str]) -> int:
    replicas, deployment, selector, timeout = int(argv[1]), argv[2], argv[3], float(argv[4])
    api, namespace = kubernetes_api()
    print(scale(api, namespace, replicas, deployment, selector, timeout), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
