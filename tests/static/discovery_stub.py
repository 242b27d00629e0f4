"""A read-only Kubernetes *discovery* endpoint on loopback, for `helm install --dry-run=client` under helm 3.

Helm 3 (through 3.21 at least) checks that the cluster is reachable and reads server capabilities even for
--dry-run=client (helm/helm#13144, #30514; fixed in helm 4, which needs nothing). This answers exactly the
discovery calls it makes (/version, /api, /apis and each group's resource list) with a Kubernetes version and the API groups our charts
use; every other path is a 404, so anything beyond a client-side dry run fails loudly instead of passing.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from llmcharts import crds

# group/version -> [(kind, plural, namespaced)]: the built-in kinds the charts render. Custom resources are
# added from the custom-resource schemas the harness validates against, as a cluster with those CRDs would list them.
BUILTIN = {
    "v1": [("Service", "services", True), ("ServiceAccount", "serviceaccounts", True),
           ("PersistentVolumeClaim", "persistentvolumeclaims", True), ("ConfigMap", "configmaps", True),
           ("Secret", "secrets", True), ("Pod", "pods", True), ("Namespace", "namespaces", False)],
    "apps/v1": [("Deployment", "deployments", True), ("StatefulSet", "statefulsets", True)],
    "policy/v1": [("PodDisruptionBudget", "poddisruptionbudgets", True)],
    "autoscaling/v2": [("HorizontalPodAutoscaler", "horizontalpodautoscalers", True)],
    "networking.k8s.io/v1": [("NetworkPolicy", "networkpolicies", True), ("Ingress", "ingresses", True)],
    "gateway.networking.k8s.io/v1": [("HTTPRoute", "httproutes", True)],
    "rbac.authorization.k8s.io/v1": [("Role", "roles", True), ("RoleBinding", "rolebindings", True),
                                     ("ClusterRole", "clusterroles", False),
                                     ("ClusterRoleBinding", "clusterrolebindings", False)],
}


def _group_versions(crd_dirs) -> dict:
    gvs = {k: list(v) for k, v in BUILTIN.items()}
    for crd in crds.catalog(tuple(str(d) for d in crd_dirs)).all():
        if (crd.kind, crd.plural, crd.namespaced) not in gvs.setdefault(crd.api_version, []):
            gvs[crd.api_version].append((crd.kind, crd.plural, crd.namespaced))
    return gvs


def _routes(minor: str, crd_dirs) -> dict:
    gvs = _group_versions(crd_dirs)
    routes = {}
    groups: dict = {}
    for gv, kinds in gvs.items():
        routes["/api/" + gv if gv == "v1" else "/apis/" + gv] = {
            "kind": "APIResourceList", "groupVersion": gv,
            "resources": [{"name": plural, "singularName": kind.lower(), "namespaced": ns, "kind": kind,
                           "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                          for kind, plural, ns in kinds]}
        if "/" in gv:
            g, v = gv.split("/")
            groups.setdefault(g, []).append(v)
    routes["/version"] = {"major": "1", "minor": minor, "gitVersion": f"v1.{minor}.0", "platform": "linux/amd64"}
    routes["/api"] = {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    routes["/apis"] = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
         "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}} for g, vs in groups.items()]}
    return routes


@contextmanager
def discovery_kubeconfig(tmp: Path, crd_dirs=(), minor: str = "37"):
    routes = _routes(minor, crd_dirs)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = routes.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body or {"kind": "Status", "code": 404}).encode())

        def log_message(self, *a):
            pass

    class Server(ThreadingHTTPServer):
        # client-go asks for every group's resources at once; with the default listen backlog (5) the extra
        # connections are dropped and retried by TCP a second later, which made each helm 3 dry run take 1.3 s.
        request_queue_size = 128
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cfg = tmp / "kubeconfig"
    cfg.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: discovery, cluster: {{server: "http://127.0.0.1:{server.server_address[1]}"}}}}]
users: [{{name: none, user: {{}}}}]
contexts: [{{name: discovery, context: {{cluster: discovery, user: none}}}}]
current-context: discovery
""")
    try:
        yield cfg
    finally:
        server.shutdown()
