"""The gateway registrar (charts/llm-stack/files/registrar.py) as a unit: which endpoints of an EndpointSlice are
workers, which URL each (replica, name) is registered at, and which names GET /v1/models lists for a client. The
end-to-end tests (tests/engine/test_gateway_e2e.py) run it for real against the router and vLLM."""
import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llmcharts import paths

spec = importlib.util.spec_from_file_location("registrar", paths.CHARTS / "llm-stack" / "files" / "registrar.py")
registrar = importlib.util.module_from_spec(spec)
spec.loader.exec_module(registrar)


def slice_(service, endpoints, ports=(("http", 8000),)):
    return {"metadata": {"name": f"{service}-x", "labels": {"kubernetes.io/service-name": service}},
            "ports": [{"name": n, "port": p} for n, p in ports],
            "endpoints": [{"addresses": [a], "conditions": c} for a, c in endpoints]}


def watcher(*slices):
    w = registrar.SliceWatcher(api=None, namespace="ns", services=["eng"], changed=threading.Event())
    w.slices = {s["metadata"]["name"]: s for s in slices}
    w.synced = True
    return w


def test_only_ready_endpoints_that_are_not_terminating_are_workers():
    w = watcher(slice_("eng", [("10.0.0.1", {"ready": True}), ("10.0.0.2", {"ready": False}),
                              ("10.0.0.3", {"ready": True, "terminating": True}),
                              ("10.0.0.4", {})]))  # a nil ready condition means ready (discovery.k8s.io/v1)
    assert w.endpoints("eng", "http") == [("10.0.0.1", 8000), ("10.0.0.4", 8000)]
    assert w.endpoints("other", "http") == []


def test_the_port_is_the_service_port_by_name_or_the_only_one():
    w = watcher(slice_("eng", [("10.0.0.1", {"ready": True})], ports=(("metrics", 9090), ("http", 8080))))
    assert w.endpoints("eng", "http") == [("10.0.0.1", 8080)]
    assert w.endpoints("eng", "") == []  # two ports and no name: ambiguous, no worker
    w = watcher(slice_("eng", [("10.0.0.1", {"ready": True})], ports=(("", 8080),)))
    assert w.endpoints("eng", "") == [("10.0.0.1", 8080)]


class Engine:
    """An engine's /v1/models, answering only with the right key."""

    def __init__(self, ids, key="k"):
        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                ok = self.headers.get("Authorization") == f"Bearer {key}"
                body = json.dumps({"object": "list", "data": [{"id": i, "object": "model"} for i in ids]} if ok
                                  else {"error": "unauthorized"}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def two_engines(monkeypatch):
    a, b = Engine(["llama", "llama-alias", "sql-lora"]), Engine(["mistral"])
    monkeypatch.setenv("KEY_A", "k")
    monkeypatch.setenv("KEY_B", "k")
    cfg = {"router": "http://127.0.0.1:1", "hop": "http://127.0.0.1:8002", "refreshSeconds": 5,
           "requestTimeoutSeconds": 2, "backends": [
               {"source": "vllm", "names": ["llama"], "discovery": "endpoints", "namespace": "ns", "service": "eng",
                "port": 8000, "portName": "http", "pathPrefix": "", "keyEnv": "KEY_A"},
               {"source": "gateway.extraBackends[0]", "names": ["mistral"], "discovery": "url",
                "url": f"http://127.0.0.1:{b.port}", "keyEnv": "KEY_B"}]}
    r = registrar.Registrar(cfg, api=object())
    r.watchers["ns"] = watcher(slice_("eng", [("127.0.0.1", {"ready": True})], ports=(("http", a.port),)))
    return r, a, b


def test_every_name_of_every_replica_gets_its_own_worker_url(two_engines):
    r, a, b = two_engines
    want, _ = r.desired()
    direct = f"http://127.0.0.1:{a.port}"
    assert want == {
        direct: "llama",
        registrar.hop_url("http://127.0.0.1:8002", "127.0.0.1", a.port, "llama-alias"): "llama-alias",
        registrar.hop_url("http://127.0.0.1:8002", "127.0.0.1", a.port, "sql-lora"): "sql-lora",
        f"http://127.0.0.1:{b.port}": "mistral"}
    # the hop URL is what the gateway's HAProxy "hop" frontend takes apart: /<address>/<port>/<tag>/<rest>
    hop = registrar.hop_url("http://127.0.0.1:8002", "127.0.0.1", a.port, "sql-lora", "/openai")
    assert hop.split("/", 3)[3].split("/")[:2] == ["127.0.0.1", str(a.port)] and hop.endswith("/openai")


def test_a_name_two_backends_claim_stays_with_the_first(two_engines):
    r, a, b = two_engines
    r.backends[1]["names"] = ["llama"]
    r.backends[1]["keyEnv"] = "NOT_SET"  # the extra backend does not answer: its render-time names stand in
    want, _ = r.desired()
    assert list(want.values()).count("llama") == 1 and f"http://127.0.0.1:{b.port}" not in want


def test_models_lists_what_the_engines_list_for_this_key(two_engines):
    r, a, b = two_engines
    r.desired()
    r.state = r.desired()[1]
    status, body = r.list_models("Bearer k")
    assert status == 200 and body["object"] == "list"
    assert sorted(m["id"] for m in body["data"]) == ["llama", "llama-alias", "mistral", "sql-lora"]
    status, body = r.list_models("Bearer wrong")
    assert status == 401
