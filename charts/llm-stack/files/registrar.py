#!/usr/bin/env python3
"""llm-stack gateway registrar: keeps vllm-router's workers equal to the ready engine replicas and every name each
one serves, and answers the gateway's GET /v1/models in the OpenAI shape.

It runs as a sidecar of the gateway pod: `python3 registrar.py /etc/llm-gateway/backends.json [--serviceaccount DIR]`
(the chart renders the file and this script into a ConfigMap; DIR holds the projected token and CA). Standard
library only.

Security model. The router's admin API (POST/DELETE /workers) has no authentication of its own, so the router
listens on loopback only; the pod's public port is HAProxy, which forwards the OpenAI routes and the probes and
nothing else. This registrar is the only writer of the worker list. Its own listener is loopback-only and
read-only (GET /v1/models, GET /healthz): nothing in the pod can be used from outside to add or remove workers.
A client's Authorization header goes only to engines this file names or that discovery found.

Discovery. For a backend with "discovery": "endpoints" the registrar lists and watches the EndpointSlices of the
engine's Service (discovery.k8s.io/v1; the chart's Role grants list and watch on endpointslices, nothing more).
Every endpoint whose `ready` condition is true and that is not `terminating` is a worker; a pod being deleted is
marked terminating at once, so it is removed while its preStop sleep still holds SIGTERM back, and it finishes
its in-flight requests with no new ones arriving. "discovery": "url" backends (Ray Serve's own proxy, models of
other releases) are one worker each, at the URL given.

Names. Each endpoint's /v1/models (with the engine's API key, from the env var the file names) lists its base
name, served-name aliases and LoRA adapters, including adapters loaded at runtime; they are read again every
refreshSeconds. Until an endpoint answers, the names known at render time stand in. vllm-router keeps one model
per worker URL, so the first name of an endpoint is registered at its own URL and each further name at a
loopback "hop" URL, http://127.0.0.1:<hop>/<address>/<port>/<tag>, which the pod's HAProxy forwards to that
endpoint with the prefix stripped (the tag, a hash of the name, only keeps the URLs apart).
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import http.server
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

SA_DIR = "/var/run/secrets/llm-gateway/serviceaccount"


def log(msg: str) -> None:
    print(time.strftime("%Y-%m-%dT%H:%M:%S ") + msg, flush=True)


# ------------------------------------------------------------------ Kubernetes API (EndpointSlices)

class KubeAPI:
    """Just enough of a Kubernetes client for list + watch of EndpointSlices with a service account token.

    The API server is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, verified with the service
    account's CA. LLMCHARTS_KUBE_API overrides the URL: the project's local runner (no cluster) serves
    EndpointSlices of the pods it runs there over plain http.
    """

    def __init__(self, sa_dir: str = SA_DIR):
        self.sa_dir = sa_dir
        override = os.environ.get("LLMCHARTS_KUBE_API")
        if override:
            self.base = override.rstrip("/")
        else:
            host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
            port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            self.base = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        ca = os.path.join(sa_dir, "ca.crt")
        self.context = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)

    def _headers(self) -> dict:
        # Projected tokens are rotated by the kubelet: read the file for every request.
        with open(os.path.join(self.sa_dir, "token")) as f:
            return {"Authorization": "Bearer " + f.read().strip(), "Accept": "application/json"}

    def _conn(self, timeout: float):
        u = urllib.parse.urlsplit(self.base)
        if u.scheme == "https":
            return http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout, context=self.context)
        return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)

    def _path(self, namespace: str, selector: str, **params) -> str:
        q = urllib.parse.urlencode({"labelSelector": selector, **params})
        return f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices?{q}"

    def list(self, namespace: str, selector: str) -> tuple[list, str]:
        conn = self._conn(30)
        try:
            conn.request("GET", self._path(namespace, selector), headers=self._headers())
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"list endpointslices in {namespace}: HTTP {r.status}: {body[:300]!r}")
            data = json.loads(body)
            return data.get("items") or [], data["metadata"]["resourceVersion"]
        finally:
            conn.close()

    def watch(self, namespace: str, selector: str, rv: str, timeout: int = 300):
        """Yield (type, object) watch events until the server ends the watch."""
        conn = self._conn(timeout + 30)
        try:
            conn.request("GET", self._path(namespace, selector, watch="1", resourceVersion=rv,
                                           timeoutSeconds=str(timeout), allowWatchBookmarks="true"),
                         headers=self._headers())
            r = conn.getresponse()
            if r.status != 200:
                raise RuntimeError(f"watch endpointslices in {namespace}: HTTP {r.status}: {r.read()[:300]!r}")
            while True:
                line = r.readline()
                if not line:
                    return
                if line.strip():
                    ev = json.loads(line)
                    yield ev.get("type"), ev.get("object") or {}
        finally:
            conn.close()


class SliceWatcher(threading.Thread):
    """Keeps the EndpointSlices of some Services of one namespace current (list, then watch; list again after an
    error or a 410), and sets `changed` whenever they change."""

    def __init__(self, api: KubeAPI, namespace: str, services: list[str], changed: threading.Event):
        super().__init__(daemon=True, name=f"slices-{namespace}")
        self.api, self.namespace, self.changed = api, namespace, changed
        self.selector = f"kubernetes.io/service-name in ({','.join(sorted(set(services)))})"
        self.slices: dict[str, dict] = {}
        self.synced = False
        self.lock = threading.Lock()

    def run(self):
        delay = 1.0
        while True:
            try:
                items, rv = self.api.list(self.namespace, self.selector)
                with self.lock:
                    self.slices = {i["metadata"]["name"]: i for i in items}
                    self.synced = True
                self.changed.set()
                delay = 1.0
                while True:
                    for kind, obj in self.api.watch(self.namespace, self.selector, rv):
                        if kind == "ERROR":
                            raise RuntimeError(f"watch error: {obj.get('message')}")
                        rv = (obj.get("metadata") or {}).get("resourceVersion", rv)
                        if kind == "BOOKMARK":
                            continue
                        with self.lock:
                            if kind == "DELETED":
                                self.slices.pop(obj["metadata"]["name"], None)
                            else:
                                self.slices[obj["metadata"]["name"]] = obj
                        self.changed.set()
            except Exception as e:  # noqa: BLE001 - any failure: list again after a back-off
                log(f"endpointslices in {self.namespace}: {e}; listing again in {delay:.0f}s")
                time.sleep(delay)
                delay = min(delay * 2, 30)

    def endpoints(self, service: str, port_name: str | None) -> list[tuple[str, int]]:
        """(address, port) of the ready, not terminating endpoints of one Service."""
        out = []
        with self.lock:
            slices = [s for s in self.slices.values()
                      if (s.get("metadata", {}).get("labels") or {}).get("kubernetes.io/service-name") == service]
        for s in slices:
            ports = s.get("ports") or []
            port = next((p.get("port") for p in ports if port_name and p.get("name") == port_name), None)
            if port is None and len(ports) == 1:
                port = ports[0].get("port")
            if port is None:
                continue
            for ep in s.get("endpoints") or []:
                cond = ep.get("conditions") or {}
                # A nil `ready` means unknown and is read as ready (discovery.k8s.io/v1 EndpointConditions).
                if cond.get("ready") is False or cond.get("terminating") is True:
                    continue
                for addr in ep.get("addresses") or []:
                    out.append((addr, int(port)))
        return sorted(set(out))


# ------------------------------------------------------------------ engines and the router

def base_url(address: str, port: int, prefix: str = "") -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{prefix}"


def hop_url(hop: str, address: str, port: int, name: str, prefix: str = "") -> str:
    tag = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{hop}/{address}/{port}/{tag}{prefix}"


def http_json(method: str, url: str, body=None, headers: dict | None = None, timeout: float = 5):
    """(status, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def model_cards(base: str, authorization: str | None, timeout: float) -> tuple[int, list]:
    """An engine's /v1/models: (HTTP status, the model cards)."""
    headers = {"Authorization": authorization} if authorization else {}
    try:
        status, data = http_json("GET", base + "/v1/models", headers=headers, timeout=timeout)
    except (OSError, urllib.error.URLError):
        return 0, []
    cards = (data or {}).get("data") if isinstance(data, dict) else None
    return status, [c for c in cards or [] if isinstance(c, dict) and isinstance(c.get("id"), str)]


class Registrar:
    def __init__(self, config: dict, api: KubeAPI | None = None, sa_dir: str = SA_DIR):
        self.cfg = config
        self.started = time.monotonic()
        self.router = config["router"].rstrip("/")
        self.hop = config["hop"].rstrip("/")
        self.refresh = float(config.get("refreshSeconds", 10))
        self.timeout = float(config.get("requestTimeoutSeconds", 5))
        self.backends = config["backends"]
        self.changed = threading.Event()
        self.lock = threading.Lock()
        self.names: dict[str, tuple[float, list[str]]] = {}  # endpoint base URL -> (read at, names)
        self.state: list[dict] = []       # [{backend, base, names}] as last registered
        self.last_sync = 0.0
        self.watchers: dict[str, SliceWatcher] = {}
        by_ns: dict[str, list[str]] = {}
        for b in self.backends:
            if b.get("discovery") == "endpoints":
                by_ns.setdefault(b["namespace"], []).append(b["service"])
        if by_ns:
            api = api or KubeAPI(sa_dir)
            for ns, services in by_ns.items():
                self.watchers[ns] = SliceWatcher(api, ns, services, self.changed)

    def key(self, backend: dict) -> str | None:
        env = backend.get("keyEnv")
        value = os.environ.get(env, "") if env else ""
        return f"Bearer {value}" if value else None

    def bases(self, backend: dict) -> list[str]:
        """The base URLs of a backend's workers: one per ready endpoint, or its URL."""
        if backend.get("discovery") == "endpoints":
            w = self.watchers[backend["namespace"]]
            return [base_url(a, p, backend.get("pathPrefix", ""))
                    for a, p in w.endpoints(backend["service"], backend.get("portName"))]
        return [backend["url"].rstrip("/")]

    def served_names(self, backend: dict, base: str, now: float) -> list[str]:
        """What an endpoint serves: its /v1/models, read again every refreshSeconds (the last answer stands while
        it does not answer); the names known at render time until it first answers."""
        entry = self.names.get(base)
        if entry is None or now - entry[0] >= self.refresh:
            status, cards = model_cards(base, self.key(backend), self.timeout)
            if status == 200 and cards:
                fresh = list(dict.fromkeys(c["id"] for c in cards))
                if entry is None or fresh != entry[1]:
                    log(f"{backend['source']}: {base} serves {fresh}")
                entry = self.names[base] = (now, fresh)
        return entry[1] if entry else list(backend.get("names") or [])

    def desired(self) -> tuple[dict, list]:
        """{worker URL: model name} for every (endpoint, name), and the state behind it. A name two backends
        claim stays with the first (render-time rules refuse that; an adapter loaded at runtime can still do it)."""
        now = time.monotonic()
        want, state, owner = {}, [], {}
        for i, b in enumerate(self.backends):
            for base in self.bases(b):
                names = [n for n in self.served_names(b, base, now) if owner.setdefault(n, i) == i]
                if b.get("discovery") != "endpoints":
                    names = names[:1]  # a URL backend is one worker: no hop for a hostname
                state.append({"index": i, "base": base, "names": names})
                for k, name in enumerate(names):
                    u = urllib.parse.urlsplit(base)
                    want[base if k == 0 else hop_url(self.hop, u.hostname, u.port, name, u.path)] = name
        live = {s["base"] for s in state}
        for gone in [k for k in self.names if k not in live]:
            del self.names[gone]
        return want, state

    def reconcile(self) -> None:
        want, state = self.desired()
        status, data = http_json("GET", self.router + "/workers", timeout=self.timeout)
        if status != 200 or not isinstance(data, dict):
            raise RuntimeError(f"router GET /workers: HTTP {status}")
        have = {w["url"]: w.get("model_id") for w in data.get("workers") or []}
        for url, model in have.items():
            if want.get(url) != model:
                s, _ = http_json("DELETE", self.router + "/workers/" + urllib.parse.quote(url, safe=""),
                                 timeout=self.timeout)
                log(f"removed {model} at {url}" if s < 300 else f"could not remove {url}: HTTP {s}")
        for url, model in want.items():
            if have.get(url) != model:
                s, _ = http_json("POST", self.router + "/workers", {"url": url, "model_id": model},
                                 timeout=self.timeout)
                log(f"registered {model} at {url}" if s < 300 else f"could not register {model} at {url}: HTTP {s}")
        with self.lock:
            self.state = state
            self.last_sync = time.monotonic()

    def run(self) -> None:
        for w in self.watchers.values():
            w.start()
        while True:
            self.changed.wait(timeout=self.refresh)
            self.changed.clear()
            if not all(w.synced for w in self.watchers.values()):
                continue
            try:
                self.reconcile()
            except Exception as e:  # noqa: BLE001 - the router may be restarting: try again next round
                log(f"reconcile: {e}")
                time.sleep(1)
                self.changed.set()

    # -- the loopback listener

    def healthy(self) -> bool:
        """Synced with the router within three refresh periods (the first sync gets 30 s more)."""
        with self.lock:
            return time.monotonic() - max(self.last_sync, self.started) < 3 * self.refresh + 30

    def list_models(self, authorization: str | None) -> tuple[int, dict]:
        """GET /v1/models for a client: the routable names that the engines list for this client's key (the
        key is checked by each engine: a wrong one is refused by all of them)."""
        with self.lock:
            state = list(self.state)
        routable: dict[int, set] = {}
        probe: dict[int, tuple[dict, str]] = {}
        for s in state:
            routable.setdefault(s["index"], set()).update(s["names"])
            probe.setdefault(s["index"], s["base"])
        if not probe:
            return 503, {"error": {"message": "no model is being served yet", "type": "ServiceUnavailable",
                                   "code": 503}}
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(probe))) as pool:
            answers = dict(zip(probe, pool.map(lambda base: model_cards(base, authorization, self.timeout),
                                               probe.values())))
        cards, statuses = {}, [st for st, _ in answers.values()]
        for i, (status, got) in answers.items():
            if status != 200:
                continue
            for c in got:
                if c["id"] in routable[i] and c["id"] not in cards:
                    cards[c["id"]] = {**c, "object": "model"}
        if not cards and statuses and all(st in (401, 403) for st in statuses):
            return 401, {"error": {"message": "Unauthorized", "type": "AuthenticationError", "code": 401}}
        return 200, {"object": "list", "data": list(cards.values())}


def serve(registrar: Registrar, host: str, port: int) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict):
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            if path == "/v1/models":
                self._send(*registrar.list_models(self.headers.get("Authorization")))
            elif path == "/healthz":
                ok = registrar.healthy()
                self._send(200 if ok else 503, {"status": "ok" if ok else "stale"})
            else:
                self._send(404, {"error": {"message": "not found", "code": 404}})

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="listener").start()
    return server


def probe(config: dict) -> int:
    """Exec probe: the registrar answers and has synced with the router recently."""
    host, port = config["listen"].rsplit(":", 1)
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=3) as r:
            return 0 if r.status == 200 else 1
    except (OSError, urllib.error.URLError):
        return 1


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: registrar.py CONFIG.json [--serviceaccount DIR] [--probe]", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        config = json.load(f)
    if "--probe" in argv[2:]:
        return probe(config)
    sa_dir = argv[argv.index("--serviceaccount") + 1] if "--serviceaccount" in argv else SA_DIR
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    registrar = Registrar(config, sa_dir=sa_dir)
    host, port = config["listen"].rsplit(":", 1)
    serve(registrar, host, int(port))
    log(f"registrar: {len(registrar.backends)} backends, router {registrar.router}, listening on {host}:{port}")
    registrar.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
