"""End-to-end: the vllm chart's rendered Deployment runs as a local process with the real vLLM (CPU build) and
a tiny random model, and a user talks to it with the official openai client.

The release is the L4 preset (values/vllm/llama-3.1-8b-l4.yaml) plus values/local/cpu.yaml (what a CPU node
needs) and api-key-values.yaml. The preset names a Hub model id and a chart-created PVC with HF_HOME on it; the
tiny model is written there as a Hub cache entry, so the rendered args run unchanged (offline).
"""
import concurrent.futures
import json
import os
import re
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import openai
import pytest

import render_cache
from llmcharts import cli, discovery, e2e, paths
from llmcharts.objects import dig
from llmcharts.local import LocalRunner, rootfs

from conftest import STATS

pytestmark = pytest.mark.engine
HERE = paths.ROOT / "tests" / "engine"
PRESET = paths.VALUES / "vllm" / "llama-3.1-8b-l4.yaml"
API_KEY = "e2e-secret-key"
TIMINGS = {}


def render(helms, chart=paths.CHARTS / "vllm", *values):
    return render_cache.render(helms["helm4"], chart, [PRESET, paths.VALUES / "local" / "cpu.yaml",
                                                       HERE / "api-key-values.yaml", *values], release="e2e").objects


@pytest.fixture(scope="module")
def stack(helms, tmp_path_factory):
    objects = render(helms)
    workdir = tmp_path_factory.mktemp("e2e")
    runner = LocalRunner(objects, workdir, secrets={"hf-token": {"token": "hf_unused_offline"},
                                                    "e2e-api-key": {"api-key": API_KEY}},
                         extra_env={"HF_HUB_OFFLINE": "1"}, tiny_models=True)
    with runner:
        t0 = time.monotonic()
        runner.start()
        TIMINGS["stage tiny model + spawn"] = time.monotonic() - t0
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        claim = next(v["persistentVolumeClaim"]["claimName"] for v in dig(deployment, "spec", "template", "spec", "volumes")
                     if "persistentVolumeClaim" in v)
        # the preset's Hub model id was staged on its PVC, where the rendered HF_HOME points
        assert (workdir / "pvc" / claim / "huggingface" / "hub" / "models--meta-llama--Llama-3.1-8B-Instruct").is_dir()
        TIMINGS["engine ready (startup probe + readiness)"] = runner.wait_ready(timeout=900)
        service = next(o for o in objects if o["kind"] == "Service")["metadata"]["name"]
        base = runner.service_url(service)
        yield {"objects": objects, "runner": runner, "base": base,
               "client": openai.OpenAI(base_url=base + "/v1", api_key=API_KEY, max_retries=0, timeout=60)}


def test_models_lists_the_rendered_served_name(stack):
    name = e2e.assert_served_name_listed(stack["objects"], stack["client"])
    assert name == "llama-3.1-8b-instruct"


def test_completion(stack):
    r = stack["client"].completions.create(model="llama-3.1-8b-instruct", prompt="Kubernetes is", max_tokens=8)
    assert r.choices[0].finish_reason in ("length", "stop") and r.usage.completion_tokens >= 1


def test_streaming_chat_completion(stack):
    chunks, finish = e2e.stream_chat(stack["client"], "llama-3.1-8b-instruct", "Say hello")
    assert chunks >= 2 and finish in ("length", "stop")


def test_wrong_api_key_is_refused(stack):
    bad = openai.OpenAI(base_url=stack["base"] + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    with pytest.raises(openai.AuthenticationError):
        bad.completions.create(model="llama-3.1-8b-instruct", prompt="x", max_tokens=1)


def test_rendered_probe_paths_answer(stack):
    checked = e2e.assert_probe_paths_answer(stack["objects"], stack["base"])
    assert len(checked) == 3


def _engine(stack):
    """(pod, the vLLM container, the engine's own address inside the pod: its loopback and port)."""
    pod = next(p for p in stack["runner"].pods.values() if not p.deleted)
    c = next(c for c in pod.containers if c.name == "vllm")
    flags = dict(a[2:].split("=", 1) for a in c.argv() if a.startswith("--") and "=" in a)
    return pod, c, f"http://{flags['host']}:{flags['port']}"


def test_every_container_runs_with_a_read_only_root(stack):
    """readOnlyRootFilesystem is the chart's default for the engine and the guard, and the runner enforced it for
    real (src/llmcharts/local/rootfs.py): each process sees "/" read-only, writes only to its emptyDirs (/tmp, HOME)
    and the model volume, and runs as the pod's runAsUser. The engine served every test above, and drains below, so."""
    runner = stack["runner"]
    if runner.read_only_unavailable:
        pytest.skip(f"read-only roots are not enforced on this machine: {runner.read_only_unavailable}")
    pod, _, _ = _engine(stack)
    for c in pod.containers:
        assert rootfs.read_only(c.spec), f"{c.name}: readOnlyRootFilesystem is not on"
        assert "ro" in rootfs.root_mount_options(c.proc.pid), f"{c.name}: its root is writable"
        uid = int(next(line.split()[1] for line in Path(f"/proc/{c.proc.pid}/status").read_text().splitlines()
                       if line.startswith("Uid:")))
        want = dig(c.spec, "securityContext", "runAsUser", default=dig(pod.spec, "securityContext", "runAsUser"))
        assert uid == os.getuid() and want is not None  # outside: this machine's user; inside: runAsUser
        inside = Path(f"/proc/{c.proc.pid}/uid_map").read_text().split()
        assert int(inside[0]) == want, (c.name, inside, want)


def test_the_engine_listens_only_on_the_pods_loopback(stack):
    """The guard is the pod's only listener on the network: the engine's port answers nothing at the pod's IP (where
    every other pod reaches it), and inside the pod the engine serves /invocations without a key, the bypass the
    guard closes (so the refusals below are the guard's, not an engine that lacks the route)."""
    pod, _, inside = _engine(stack)
    port = int(inside.rsplit(":", 1)[1])
    assert inside.startswith(f"http://{pod.lo}:") and pod.lo != pod.ip
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((pod.ip, port), timeout=5).close()
    assert e2e.http_status(inside + "/invocations", "POST", {"model": "llama-3.1-8b-instruct", "prompt": "x",
                                                     "max_tokens": 1}) == 200


def test_without_the_key_every_route_but_health_and_metrics_is_refused(stack):
    """From outside the pod, without the key: every route the real engine serves (its OpenAPI document, read inside
    the pod) is refused: 401 under /v1 (vLLM's own check), 404 from the guard elsewhere, /invocations and the
    runtime-LoRA /adapters routes (VLLM_ALLOW_RUNTIME_LORA_UPDATING is on in this release) among them; GET /health
    and /metrics answer 200 for probes and Prometheus. With the key, /v1 answers."""
    _, container, inside = _engine(stack)
    assert container.env().get("VLLM_ALLOW_RUNTIME_LORA_UPDATING") == "True"
    with urllib.request.urlopen(inside + "/openapi.json", timeout=30) as r:
        spec = json.loads(r.read())
    routes = sorted((path, method.upper()) for path, ops in spec["paths"].items() for method in ops)
    served = {r[0] for r in routes}
    assert {"/invocations", "/adapters", "/adapters/{adapter_name}", "/v1/completions", "/health"} <= served, served
    outcome = {}
    for path, method in routes:
        url = stack["base"] + re.sub(r"\{[^}]+\}", "x", path)
        outcome[(path, method)] = e2e.http_status(url, method, None if method in ("GET", "HEAD", "DELETE") else {})
    open_ = {("/health", "GET"): 200, ("/metrics", "GET"): 200}
    want = {r: open_.get(r, 401 if r[0].startswith("/v1/") else 404) for r in routes}
    wrong = {f"{m} {p}": f"{outcome[(p, m)]} (want {want[(p, m)]})" for p, m in routes if outcome[(p, m)] != want[(p, m)]}
    assert not wrong, f"routes answering a client without the key: {wrong}"
    assert e2e.http_status(stack["base"] + "/metrics") == 200
    assert e2e.http_status(stack["base"] + "/invocations", "POST", {"model": "llama-3.1-8b-instruct", "prompt": "x"}) == 404
    assert e2e.http_status(stack["base"] + "/v1/models", key=API_KEY) == 200
    STATS["e2e: engine routes refused without the key (guard 404 / vLLM 401)"] = sum(
        1 for r in routes if want[r] != 200)


def test_every_metric_the_charts_reference_is_exposed(stack, helms):
    """HPA/KEDA/ServiceMonitor metric names of every vllm render exist on the real engine's /metrics."""
    referenced = set()
    for case in discovery.cases():
        if case.chart.name == "vllm":
            referenced |= e2e.referenced_metrics(render_cache.render(helms["helm4"], case.chart, [case.values],
                                                                       release=case.release).objects)
    assert "vllm:num_requests_waiting" in referenced  # the autoscaling default is among them
    missing = referenced - e2e.exposed_metrics(stack["base"])
    assert not missing, f"charts reference metrics the engine does not expose: {sorted(missing)}"


def test_planner_predicts_the_kv_cache_vllm_allocates(stack, capsys):
    """`llmcharts plan` for the served tiny model with the render's VLLM_CPU_KVCACHE_SPACE, dtype and
    max-model-len predicts the KV cache vLLM logs ("CPU KV cache size: N tokens", vllm/v1/core/kv_cache_utils.py
    update_kv_cache_capacity) within 5%."""
    container = next(c for p in stack["runner"].pods.values() for c in p.containers
                     if "vllm.entrypoints.openai.api_server" in c.argv())
    deadline = time.monotonic() + 60
    while not (m := re.search(r"KV cache size: ([\d,]+) tokens", container.log.read_text(errors="replace"))):
        assert time.monotonic() < deadline, f"no KV cache size line in {container.log}"
        time.sleep(1)
    logged = int(m.group(1).replace(",", ""))
    flags = dict(a[2:].split("=", 1) for a in container.argv() if a.startswith("--") and "=" in a)
    snapshot = next(Path(container.env()["HF_HOME"]).glob("hub/models--*/snapshots/*/config.json")).parent
    rc = cli.main(["plan", "--model", str(snapshot), "--gpu", "NVIDIA-L4", "--json", "--dtype", flags["dtype"],
                   "--max-model-len", flags["max-model-len"],
                   "--kv-cache-memory", container.env()["VLLM_CPU_KVCACHE_SPACE"] + "GiB"])
    predicted = json.loads(capsys.readouterr().out)["kv_cache_tokens"]
    STATS["e2e: KV cache tokens logged by vLLM"] = logged
    STATS["e2e: KV cache tokens predicted by the planner"] = predicted
    assert rc == 0 and abs(predicted - logged) <= 0.05 * logged, (predicted, logged)


def _copy_chart(tmp_path, edit):
    """A test copy of charts/ with one file edited; returns the copied vllm chart."""
    dst = tmp_path / "charts"
    shutil.copytree(paths.CHARTS / "vllm", dst / "vllm", ignore=shutil.ignore_patterns("charts"))
    shutil.copytree(paths.CHARTS / "llm-common", dst / "llm-common")
    rel, old, new = edit
    f = dst / rel
    text = f.read_text()
    assert old in text, f"{rel} no longer contains {old!r}"
    f.write_text(text.replace(old, new, 1))
    return dst / "vllm"


def test_broken_probe_path_is_caught(stack, helms, tmp_path):
    chart = _copy_chart(tmp_path, ("vllm/values.yaml", "  readiness:\n    path: /health", "  readiness:\n    path: /healthz"))
    helms["helm3"].dependency_build(chart)
    with pytest.raises(AssertionError, match="/healthz answers 404"):
        e2e.assert_probe_paths_answer(render(helms, chart), stack["base"])


def test_broken_served_model_name_is_caught(stack, helms, tmp_path):
    chart = _copy_chart(tmp_path, ("vllm/templates/_helpers.tpl", '.Values.model.servedModelName | default .Values.model.name',
                                   '.Values.model.servedModelName | default .Values.model.name | printf "%s-v2"'))
    helms["helm3"].dependency_build(chart)
    with pytest.raises(AssertionError, match="llama-3.1-8b-instruct-v2"):
        e2e.assert_served_name_listed(render(helms, chart), stack["client"])


def test_broken_flag_is_caught(helms, tmp_path):
    chart = _copy_chart(tmp_path, ("llm-common/templates/_vllm.tpl", '(list "max-model-len"', '(list "max-model-length"'))
    helms["helm3"].dependency_build(chart)
    args = e2e.engine_containers(render(helms, chart))[0]["args"]
    with pytest.raises(AssertionError, match="--max-model-length"):
        e2e.assert_args_parse([("broken", args)])


def test_drain_finishes_inflight_streams(stack):
    """Stop the pod as Kubernetes would (not ready, preStop sleep, SIGTERM, SIGKILL at the grace period) while
    8 streams are generating: every stream must finish normally. Runs last: it stops the engine."""
    client, n, started = stack["client"], 8, threading.Barrier(9, timeout=120)
    last_chunk_at = [0.0] * n

    def stream(i):
        got_first, finish, chunks = False, None, 0
        try:
            for ch in client.chat.completions.create(
                    model="llama-3.1-8b-instruct", messages=[{"role": "user", "content": f"story {i}"}],
                    max_tokens=2500, stream=True, extra_body={"ignore_eos": True, "min_tokens": 2500}):
                if ch.choices and ch.choices[0].delta.content:
                    chunks += 1
                    last_chunk_at[i] = time.monotonic()
                    if not got_first:
                        got_first = True
                        started.wait()
                if ch.choices and ch.choices[0].finish_reason:
                    finish = ch.choices[0].finish_reason
        except Exception as e:  # a dropped stream
            return ("dropped", repr(e)[:200], chunks)
        return ("ok" if finish == "length" else "dropped", finish, chunks)

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(stream, i) for i in range(n)]
        started.wait()
        t_stop = time.monotonic()
        timing = stack["runner"].stop()
        results = [f.result() for f in futures]
    deployment = next(iter(timing.values()))
    sigterm_at = t_stop + deployment["sigterm_at"]
    dropped = [r for r in results if r[0] != "ok"]
    after_sigterm = sum(1 for t in last_chunk_at if t > sigterm_at)
    STATS["drain: streams"] = n
    STATS["drain: dropped"] = len(dropped)
    STATS["drain: streams still generating after SIGTERM"] = after_sigterm
    TIMINGS["drain: preStop sleep"] = deployment["preStop"]
    TIMINGS["drain: SIGTERM to exit"] = deployment["exited_after"] - deployment["sigterm_at"]
    assert not dropped, f"{len(dropped)} of {n} streams dropped: {dropped}"
    assert after_sigterm > 0, "no stream was still running at SIGTERM: the test did not exercise the drain"
    assert not deployment["sigkill"], "the engine needed SIGKILL"


def pytest_sessionfinish():
    pass


@pytest.fixture(scope="module", autouse=True)
def _report_timings():
    yield
    for k, v in TIMINGS.items():
        STATS[f"e2e timing: {k} (s)"] = round(v, 1)
