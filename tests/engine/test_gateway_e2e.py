"""End-to-end through the gateway: the llm-stack umbrella (values/llm-stack/cpu-local.yaml with the CPU overlay and
tests/engine/gateway-values.yaml: two engine replicas, an alias, a LoRA adapter) runs locally - HAProxy, the real
vllm-router and the registrar in front of two real vLLM replicas - and a user talks to the gateway with the openai
client, including to a LoRA adapter loaded at runtime. The tests also attack the gateway's admin surface, compare routing policies, restart and kill replicas
under load."""
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

import render_cache
from llmcharts import e2e, paths
from llmcharts.local import LocalRunner, local_overlay, wait_for_gateway_models

from conftest import STATS

pytestmark = pytest.mark.engine
HERE = paths.ROOT / "tests" / "engine"
STACK = paths.CHARTS / "llm-stack"
PRESET = paths.VALUES / "llm-stack" / "cpu-local.yaml"
API_KEY = "gateway-e2e-key"
MODEL, ALIAS, ADAPTER = "qwen2.5-0.5b-instruct", "tiny-alias", "tiny-sql"
ENGINE = "gw-vllm"
TIMINGS = {}


def gateway_service(objects) -> str:
    return next(o["metadata"]["name"] for o in objects if o["kind"] == "Service"
                and o["metadata"]["labels"].get("app.kubernetes.io/component") == "gateway")


@pytest.fixture(scope="module")
def stack(helms, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw")
    overlay = local_overlay(STACK, tmp)
    r = render_cache.render(helms["helm4"], STACK, [PRESET, overlay, HERE / "gateway-values.yaml"], release="gw")
    runner = LocalRunner(r.objects, tmp / "run", secrets={"llm-api-key": {"api-key": API_KEY}},
                         namespace="llm-test", extra_env={"HF_HUB_OFFLINE": "1"}, tiny_models=True)
    with runner:
        t0 = time.monotonic()
        runner.start()
        runner.wait_ready(timeout=900)
        base = runner.service_url(gateway_service(r.objects))
        try:
            wait_for_gateway_models(base, API_KEY, [MODEL, ALIAS, ADAPTER], timeout=180)
        except TimeoutError as e:
            pytest.fail(f"{e}\n{runner.tail_logs()}")
        TIMINGS["gateway stack (2 replicas) ready and routing"] = time.monotonic() - t0
        yield {"objects": r.objects, "runner": runner, "base": base, "helms": helms, "tmp": tmp,
               "client": openai.OpenAI(base_url=base + "/v1", api_key=API_KEY, max_retries=0, timeout=60)}
    for k, v in TIMINGS.items():
        STATS[f"e2e timing: {k} (s)"] = round(v, 1)


def router_workers(stack) -> list[dict]:
    """The router's worker list as seen from inside the gateway pod (its loopback listener, port 8001: locally, the
    pod's own loopback address, which is not its IP). From outside the pod this API is not reachable; see the attack
    test."""
    host = urllib.parse.urlsplit(stack["base"]).hostname
    pod = next(p for p in stack["runner"].pods.values() if p.ip == host and not p.deleted)
    with urllib.request.urlopen(f"http://{pod.lo}:8001/workers", timeout=5) as r:
        return json.loads(r.read())["workers"]


def engine_pods(stack):
    return stack["runner"].pods_of(ENGINE)


# ------------------------------------------------------------------ the OpenAI API through the gateway

def test_models_list_is_openai_shaped_and_lists_every_name(stack):
    ids = {m.id for m in stack["client"].models.list().data}
    assert {MODEL, ALIAS, ADAPTER} <= ids
    req = urllib.request.Request(stack["base"] + "/v1/models", headers={"Authorization": f"Bearer {API_KEY}"})
    raw = json.loads(urllib.request.urlopen(req, timeout=5).read())
    assert raw["object"] == "list" and all(m["object"] == "model" for m in raw["data"])


def test_completion_streaming_chat_and_adapter_through_the_gateway(stack):
    c = stack["client"]
    r = c.completions.create(model=MODEL, prompt="Helm charts", max_tokens=8)
    assert r.model == MODEL and r.usage.completion_tokens >= 1
    chunks, finish = e2e.stream_chat(c, ALIAS, "hi")
    assert chunks >= 2 and finish in ("length", "stop")
    r = c.completions.create(model=ADAPTER, prompt="SELECT", max_tokens=8)
    assert r.model == ADAPTER and r.usage.completion_tokens >= 1


def test_wrong_api_key_is_refused_through_the_gateway(stack):
    bad = openai.OpenAI(base_url=stack["base"] + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=1)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_a_model_nobody_serves_is_not_found(stack):
    with pytest.raises(openai.NotFoundError):
        stack["client"].chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}],
                                                max_tokens=1)


def test_every_replica_is_a_worker_under_every_name(stack):
    pods = engine_pods(stack)
    assert len(pods) == 2
    workers = router_workers(stack)
    by_name = {}
    for w in workers:
        by_name.setdefault(w["model_id"], set()).add(w["url"])
    assert by_name[MODEL] == {f"http://{p.ip}:8000" for p in pods}
    for name in (ALIAS, ADAPTER):  # further names of a replica go through the pod's loopback hop
        assert len(by_name[name]) == 2 and all("/" + p.ip + "/8000/" in " ".join(by_name[name]) for p in pods)


def test_gateway_metrics_port_serves_router_metrics(stack):
    url = stack["runner"].service_url(gateway_service(stack["objects"]), 29000)
    assert "vllm_router_requests_total" in urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()


def engine_post(pod, path: str, body: dict) -> int:
    """POST to one engine replica directly (as an operator inside the cluster would), with the API key."""
    return e2e.http_status(f"http://{pod.ip}:8000{path}", "POST", body, key=API_KEY)


def test_adapter_loaded_at_runtime_is_routed_then_removed(stack):
    """engine.lora.runtimeUpdates: an adapter loaded into every replica at runtime (POST /v1/load_lora_adapter, no
    restart) is answered through the gateway within the registrar's refresh (intervalSeconds) + a margin; unloaded, it
    leaves the gateway's list as fast and is not found there."""
    name, bound = "tiny-runtime", 30.0
    pods = engine_pods(stack)
    # The static adapter's files, by their path on this machine (locally a pod's /models is a host folder).
    path = str(pods[0].volumes["models"] / "adapters" / "tiny-sql")
    for p in pods:
        assert engine_post(p, "/v1/load_lora_adapter", {"lora_name": name, "lora_path": path}) == 200
    t0 = time.monotonic()
    wait_for_gateway_models(stack["base"], API_KEY, [name], timeout=bound)
    r = stack["client"].completions.create(model=name, prompt="SELECT", max_tokens=4)
    assert r.model == name and r.usage.completion_tokens >= 1
    STATS["gateway: runtime LoRA adapter routable after load (s)"] = round(time.monotonic() - t0, 1)
    for p in pods:
        assert engine_post(p, "/v1/unload_lora_adapter", {"lora_name": name}) == 200
    t0 = time.monotonic()
    while name in {m.id for m in stack["client"].models.list().data}:
        assert time.monotonic() - t0 < bound, f"{name} still listed {bound:.0f}s after it was unloaded"
        time.sleep(1)
    STATS["gateway: runtime LoRA adapter gone after unload (s)"] = round(time.monotonic() - t0, 1)
    with pytest.raises(openai.NotFoundError):
        stack["client"].completions.create(model=name, prompt="x", max_tokens=1)


# ------------------------------------------------------------------ the admin surface

class Rogue:
    """A listener an attacker would like the gateway to send traffic to: records every request it gets."""

    def __init__(self):
        seen = self.seen = []

        class H(BaseHTTPRequestHandler):
            def _any(self):
                seen.append((self.command, self.path, self.headers.get("Authorization")))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            do_GET = do_POST = do_DELETE = _any

            def log_message(self, *a):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _call(method: str, url: str, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def admin_attempts(base: str, rogue: str, real: str) -> list[tuple]:
    q = urllib.parse.quote
    return [("POST", f"{base}/workers", {"url": rogue, "model_id": MODEL}),
            ("POST", f"{base}/add_worker?url={q(rogue)}", None),
            ("DELETE", f"{base}/workers/{q(real, safe='')}", None),
            ("POST", f"{base}/remove_worker?url={q(real)}", None),
            ("POST", f"{base}/flush_cache", None),
            ("GET", f"{base}/workers", None),
            ("GET", f"{base}/list_workers", None),
            ("GET", f"{base}/get_loads", None),
            ("POST", f"{base}/v1/load_lora_adapter", {"lora_name": "x", "lora_path": "/tmp"})]


def test_nobody_outside_the_pod_can_register_or_remove_workers(stack):
    """Through every port of the gateway's Service: the public port answers 404 to the router's admin routes;
    the metrics port is the router's Prometheus exporter, which answers any request with the metrics page and
    nothing else. The router's workers are unchanged, and a listener an attacker tried to register gets none of
    the clients' requests (so none of their keys or prompts either)."""
    base, rogue = stack["base"], Rogue()
    with pytest.raises(ConnectionRefusedError):  # the admin listener is on the pod's loopback, not its address
        socket.create_connection((urllib.parse.urlsplit(base).hostname, 8001), timeout=5).close()
    before = sorted((w["url"], w["model_id"]) for w in router_workers(stack))
    real = before[0][0]
    public = {f"{m} {u.split('/', 3)[3]}": _call(m, u, b) for m, u, b in admin_attempts(base, rogue.url, real)}
    assert all(status in (404, 405) for status, _ in public.values()), {k: v[0] for k, v in public.items()}
    metrics = stack["runner"].service_url(gateway_service(stack["objects"]), 29000)
    exporter = {f"{m} {u.split('/', 3)[3]}": _call(m, u, b) for m, u, b in admin_attempts(metrics, rogue.url, real)}
    for key, (status, body) in exporter.items():
        assert body.lstrip().startswith("# ") and "vllm_router_" in body, (key, status, body[:200])  # metrics text
    assert sorted((w["url"], w["model_id"]) for w in router_workers(stack)) == before
    n = 20
    for i in range(n):
        stack["client"].completions.create(model=MODEL, prompt=f"request {i}", max_tokens=2)
    assert rogue.seen == [], f"the rogue listener got {len(rogue.seen)} of {n} requests"
    STATS["gateway attack: admin attempts refused"] = len(public) + len(exporter)
    STATS["gateway attack: requests that reached a rogue listener"] = len(rogue.seen)


# ------------------------------------------------------------------ routing policy

def replica_requests(pods) -> dict:
    """Finished requests per replica, from each replica's own /metrics (vllm:request_success_total)."""
    out = {}
    for p in pods:
        text = urllib.request.urlopen(f"http://{p.ip}:8000/metrics", timeout=5).read().decode()
        out[p.name] = sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                          if l.startswith("vllm:request_success_total{"))
    return out


def _send_shared_prefix(client, n: int) -> None:
    prefix = "You are a helpful assistant for Kubernetes operators. " * 40
    for i in range(n):
        client.completions.create(model=MODEL, prompt=prefix + f"Question {i}: what is a pod?", max_tokens=2)


def test_routing_policy_has_an_effect(stack):
    """round_robin (this release's policy) spreads requests with a shared long prefix over both replicas;
    cache_aware (a second gateway release, finding the same engine pods through gateway.extraBackends' service
    form) keeps them on one replica, where the prefix is cached."""
    pods, n = engine_pods(stack), 8
    before = replica_requests(pods)
    _send_shared_prefix(stack["client"], n)
    rr = {k: replica_requests(pods)[k] - v for k, v in before.items()}
    assert sorted(rr.values()) == [n / 2, n / 2], f"round_robin: {rr}"

    r = render_cache.render(stack["helms"]["helm4"], STACK, [paths.VALUES / "llm-stack" / "seed-gateway.yaml"],
                            release="ca", set_values={"gateway.policy": "cache_aware", "gateway.extraBackends": [
                                {"model": MODEL, "service": ENGINE, "port": 8000}]})
    runner = stack["runner"]
    names = runner.add(r.objects)
    runner.start(names=names)
    runner.wait_ready(timeout=300, names=names)
    base = runner.service_url(gateway_service(r.objects))
    wait_for_gateway_models(base, API_KEY, [MODEL], timeout=120)
    client = openai.OpenAI(base_url=base + "/v1", api_key=API_KEY, max_retries=0, timeout=60)
    before = replica_requests(pods)
    _send_shared_prefix(client, n)
    ca = {k: replica_requests(pods)[k] - v for k, v in before.items()}
    runner.stop(names=names)
    assert sorted(ca.values()) == [0, n], f"cache_aware: {ca}"
    STATS["gateway policy: round_robin requests per replica"] = str(sorted(rr.values()))
    STATS["gateway policy: cache_aware requests per replica"] = str(sorted(ca.values()))


# ------------------------------------------------------------------ replicas going away

class Load:
    """Steady traffic through the gateway from a few threads, each pausing between requests (a steady stream, not
    saturation: on 2 cores a saturated engine starves the replica being started); every request's start, end and
    outcome."""

    def __init__(self, client, threads: int = 2, max_tokens: int = 8, pause: float = 0.3):
        self.client, self.max_tokens, self.pause = client, max_tokens, pause
        self.stop = threading.Event()
        self.results: list[tuple[float, float, str]] = []
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def _run(self, i):
        k = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                self.client.completions.create(model=MODEL, prompt=f"load {i} {k}", max_tokens=self.max_tokens)
                outcome = "ok"
            except Exception as e:  # noqa: BLE001 - every failure counts
                outcome = repr(e)[:200]
            self.results.append((t0, time.monotonic(), outcome))
            k += 1
            self.stop.wait(self.pause)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)

    def failures(self):
        return [r for r in self.results if r[2] != "ok"]


def test_rolling_restart_under_steady_load_fails_no_request(stack):
    runner, old = stack["runner"], {p.name for p in engine_pods(stack)}
    t0 = time.monotonic()
    with Load(stack["client"]) as load:
        time.sleep(2)
        steps = runner.rollout_restart(ENGINE)
        time.sleep(3)
    TIMINGS["rolling restart of 2 replicas under load"] = time.monotonic() - t0
    for i, step in enumerate(steps):
        TIMINGS[f"rolling restart: new replica {i + 1} ready"] = step["new_ready_s"]
        TIMINGS[f"rolling restart: old replica {i + 1} drained and gone"] = step["deleted"]["exited_after"]
    STATS["gateway rolling restart: requests"] = len(load.results)
    STATS["gateway rolling restart: failed"] = len(load.failures())
    assert load.failures() == [], load.failures()[:5]
    assert len(load.results) >= 20
    new = engine_pods(stack)
    assert len(new) == 2 and not ({p.name for p in new} & old)
    deadline = time.monotonic() + 30
    while {w["url"] for w in router_workers(stack) if w["model_id"] == MODEL} != {f"http://{p.ip}:8000" for p in new}:
        assert time.monotonic() < deadline, "the gateway does not route to the new replicas"
        time.sleep(0.5)


def test_sigkill_of_one_replica_fails_only_its_inflight_requests(stack):
    """SIGKILL the engine of one replica under load: only requests in flight at that moment may fail; the other
    replica serves the rest; the kubelet (here the local runner) restarts the killed one, which the gateway takes
    back once it is ready."""
    runner, base = stack["runner"], stack["base"]
    victim, survivor = engine_pods(stack)
    engine = next(c for c in victim.containers if c.name == "vllm")
    victim_url = f"http://{victim.ip}:8000"
    with Load(stack["client"], threads=3, max_tokens=32) as load:
        time.sleep(5)
        t_kill = time.monotonic()
        engine.send(signal.SIGKILL)
        removed = back = None
        deadline = t_kill + 600
        while back is None and time.monotonic() < deadline:
            urls = {w["url"] for w in router_workers(stack) if w["model_id"] == MODEL}
            if removed is None and victim_url not in urls:
                removed = time.monotonic() - t_kill
            if removed is not None and victim_url in urls and victim.ready:
                back = time.monotonic() - t_kill
            time.sleep(0.2)
        time.sleep(5)
    assert removed is not None and back is not None, runner.tail_logs()
    assert engine.restarts == 1, engine.events
    failed = load.failures()
    late = [f for f in failed if f[0] > t_kill]
    TIMINGS["SIGKILL: replica out of the gateway"] = removed
    TIMINGS["SIGKILL: replica restarted, ready and routed again"] = back
    STATS["gateway SIGKILL: requests"] = len(load.results)
    STATS["gateway SIGKILL: failed (in flight on the killed replica)"] = len(failed)
    assert not late, f"{len(late)} requests started after the kill failed: {late[:3]}"
    assert len(failed) <= 3, failed
    assert sum(1 for r in load.results if r[0] > t_kill and r[2] == "ok") >= 10, "the survivor did not carry the load"
