"""The slice of a Kubernetes API server local pods use: EndpointSlices behind checked tokens.

The slice of a Kubernetes API server that pods of a local release use: EndpointSlices of the runner's Services
(list and watch, computed from the pods' readiness and deletion), behind service account tokens checked against
the release's own Roles and RoleBindings, so a missing permission fails here as it would on a cluster."""
from __future__ import annotations

import http.server
import json
import re
import secrets
import threading
import time
import urllib.parse

from ..objects import dig

SLICES = re.compile(r"^/apis/discovery\.k8s\.io/v1/namespaces/([^/]+)/endpointslices$")


def _selector_matches(selector: str, labels: dict) -> bool:
    """label selectors of the forms key=value, key!=value, key in (a,b), key notin (a,b), key, !key (comma-joined)."""
    for term in re.findall(r"[^,(]+(?:\([^)]*\))?", selector or ""):
        term = term.strip()
        if not term:
            continue
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s+\(([^)]*)\)", term)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            if (labels.get(m.group(1)) in values) != (m.group(2) == "in"):
                return False
        elif "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k.strip().rstrip("=")) != v.strip().lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class KubeAPI:
    """Serves /apis/discovery.k8s.io/v1/namespaces/<ns>/endpointslices for a LocalRunner."""

    def __init__(self, runner, host: str):
        self.runner = runner
        self.tokens: dict[str, tuple[str, str]] = {}    # token -> (namespace, service account)
        self.rv = 0
        self.history: list[tuple[int, str, dict]] = []  # (resourceVersion, event type, slice)
        self.current: dict[str, dict] = {}
        self.cond = threading.Condition()
        self.server = http.server.ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="kube-api").start()
        threading.Thread(target=self._track, daemon=True, name="kube-api-slices").start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # -- auth

    def issue(self, namespace: str, service_account: str) -> str:
        token = "local-" + secrets.token_urlsafe(16)
        self.tokens[token] = (namespace, service_account)
        return token

    def allowed(self, token: str, namespace: str, verb: str) -> bool:
        """RBAC as the API server decides it, for endpointslices in discovery.k8s.io: a RoleBinding (in the
        namespace) or ClusterRoleBinding of the token's service account to a Role/ClusterRole with the verb."""
        if token not in self.tokens:
            return False
        sa_ns, sa = self.tokens[token]
        objs = self.runner.objects
        roles = {(o["kind"], dig(o, "metadata", "namespace", default=self.runner.namespace), o["metadata"]["name"]): o
                 for o in objs if o.get("kind") in ("Role", "ClusterRole")}
        for b in (o for o in objs if o.get("kind") in ("RoleBinding", "ClusterRoleBinding")):
            if b["kind"] == "RoleBinding" and dig(b, "metadata", "namespace", default=self.runner.namespace) != namespace:
                continue
            if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa
                       and s.get("namespace", self.runner.namespace) == sa_ns for s in b.get("subjects") or []):
                continue
            ref = b.get("roleRef") or {}
            role_ns = None if ref.get("kind") == "ClusterRole" else dig(b, "metadata", "namespace", default=self.runner.namespace)
            role = roles.get((ref.get("kind"), role_ns or self.runner.namespace, ref.get("name"))) or roles.get(
                (ref.get("kind"), self.runner.namespace, ref.get("name")))
            for rule in (role or {}).get("rules") or []:
                if (set(rule.get("apiGroups") or []) & {"discovery.k8s.io", "*"}
                        and set(rule.get("resources") or []) & {"endpointslices", "*"}
                        and set(rule.get("verbs") or []) & {verb, "*"}):
                    return True
        return False

    # -- state

    def _track(self):
        """Recompute the slices from the pods every 100 ms; a change becomes a watch event with a new version."""
        while True:
            slices = {s["metadata"]["name"]: s for s in self.runner.endpoint_slices()}
            with self.cond:
                events = []
                for name, s in slices.items():
                    old = self.current.get(name)
                    if old is None or json.dumps(old, sort_keys=True) != json.dumps(s, sort_keys=True):
                        events.append(("ADDED" if old is None else "MODIFIED", s))
                events += [("DELETED", s) for name, s in self.current.items() if name not in slices]
                for kind, s in events:
                    self.rv += 1
                    s = json.loads(json.dumps(s))
                    s["metadata"]["resourceVersion"] = str(self.rv)
                    self.history.append((self.rv, kind, s))
                    if kind == "DELETED":
                        self.current.pop(s["metadata"]["name"], None)
                    else:
                        self.current[s["metadata"]["name"]] = s
                if events:
                    self.history = self.history[-2000:]
                    self.cond.notify_all()
            time.sleep(0.1)

    def _handler(self):
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):  # noqa: N802
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                m = SLICES.match(u.path)
                if not m:
                    return self._json(404, {"kind": "Status", "code": 404, "message": f"{u.path}: not served locally"})
                ns = m.group(1)
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                verb = "watch" if q.get("watch") in ("1", "true") else "list"
                if not api.allowed(token, ns, verb):
                    return self._json(403, {"kind": "Status", "code": 403, "reason": "Forbidden",
                                            "message": f"cannot {verb} endpointslices.discovery.k8s.io in {ns}"})
                sel = q.get("labelSelector", "")

                def wanted(s):
                    return (s["metadata"].get("namespace") == ns
                            and _selector_matches(sel, s["metadata"].get("labels") or {}))
                if verb == "list":
                    with api.cond:
                        items = [s for s in api.current.values() if wanted(s)]
                        rv = api.rv
                    return self._json(200, {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
                                            "metadata": {"resourceVersion": str(rv)}, "items": items})
                self._watch(wanted, int(q.get("resourceVersion") or 0), float(q.get("timeoutSeconds") or 300))

            def _watch(self, wanted, since: int, timeout: float):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                end = time.monotonic() + timeout
                try:
                    while time.monotonic() < end:
                        with api.cond:
                            if api.history and since < api.history[0][0] - 1:
                                events = [(since, "ERROR", {"kind": "Status", "code": 410, "reason": "Expired"})]
                            else:
                                events = [e for e in api.history if e[0] > since]
                            if not events:
                                api.cond.wait(timeout=min(1.0, max(0.0, end - time.monotonic())))
                                continue
                        for rv, kind, obj in events:
                            since = max(since, rv)
                            if kind != "ERROR" and not wanted(obj):
                                continue
                            line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                            self.wfile.flush()
                            if kind == "ERROR":
                                raise ConnectionAbortedError
                    self.wfile.write(b"0\r\n\r\n")
                except (ConnectionError, OSError):
                    pass
                self.close_connection = True

        return Handler
