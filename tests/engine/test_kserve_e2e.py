"""End-to-end for the KServe chart: the InferenceService's predictor pod, built from the rendered runtime as
KServe's controller builds it ({{.Name}} becomes the InferenceService name), runs locally with the real vLLM
(CPU build) and is called through its <name>-predictor Service as a KServe user would."""
import openai
import pytest

import render_cache
from llmcharts import paths
from llmcharts.local import LocalRunner, rootfs

from conftest import STATS

pytestmark = pytest.mark.engine
CHART = paths.CHARTS / "kserve-llm"


@pytest.fixture(scope="module")
def predictor(helms, tmp_path_factory):
    r = render_cache.render(helms["helm4"], CHART, [CHART / "ci" / "cpu-values.yaml", paths.VALUES / "local" / "cpu.yaml"],
                            release="ks")
    runner = LocalRunner(r.objects, tmp_path_factory.mktemp("kserve"), namespace="llm-test",
                         extra_env={"HF_HUB_OFFLINE": "1"}, tiny_models=True)
    with runner:
        runner.start()
        STATS["e2e timing: KServe predictor ready (s)"] = round(runner.wait_ready(timeout=900), 1)
        base = runner.service_url("qwen-cpu-predictor", 80)
        yield {"objects": r.objects, "runner": runner, "base": base,
               "client": openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=60)}


def test_served_name_is_the_inference_service_name(predictor):
    """The runtime renders KServe's literal {{.Name}}; the controller's substitution makes it the isvc name."""
    assert "qwen-cpu" in {m.id for m in predictor["client"].models.list().data}


def test_completion_and_streaming_chat(predictor):
    c = predictor["client"]
    r = c.completions.create(model="qwen-cpu", prompt="KServe", max_tokens=8)
    assert r.usage.completion_tokens >= 1
    finish = [ch.choices[0].finish_reason for ch in c.chat.completions.create(
        model="qwen-cpu", messages=[{"role": "user", "content": "hi"}], max_tokens=8, stream=True) if ch.choices]
    assert finish[-1] in ("length", "stop") and len(finish) >= 2


def test_runtime_probe_paths_answer(predictor):
    """The rendered runtime's probes, as the predictor pod carries them, answer 200 on the real engine."""
    import urllib.request
    container = predictor["runner"].pods_of("qwen-cpu-predictor")[0].containers[0]
    paths_ = [container.spec[k]["httpGet"]["path"] for k in ("startupProbe", "readinessProbe", "livenessProbe")]
    for path in paths_:
        with urllib.request.urlopen(predictor["base"] + path, timeout=5) as r:
            assert r.status == 200, path


def test_predictor_runs_read_only_behind_the_guard(predictor):
    """The predictor pod KServe builds from the runtime runs its engine and guard with read-only roots (enforced by
    the runner where this machine allows it, src/llmcharts/local/rootfs.py), the engine on the pod's loopback only:
    from outside the pod its port answers nothing, and /invocations (served by vLLM without a key) is refused."""
    import socket
    import urllib.error
    import urllib.request
    runner = predictor["runner"]
    pod = runner.pods_of("qwen-cpu-predictor")[0]
    engine = next(c for c in pod.containers if c.name == "kserve-container")
    port = int(next(a.split("=", 1)[1] for a in engine.argv() if a.startswith("--port=")))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((pod.ip, port), timeout=5).close()
    req = urllib.request.Request(predictor["base"] + "/invocations", method="POST", data=b"{}",
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 404
    assert {c.name for c in pod.containers} == {"kserve-container", "guard"}
    if runner.read_only_unavailable:
        pytest.skip(f"read-only roots are not enforced on this machine: {runner.read_only_unavailable}")
    for c in pod.containers:
        assert rootfs.read_only(c.spec) and "ro" in rootfs.root_mount_options(c.proc.pid), c.name


def test_graceful_stop(predictor):
    timing = predictor["runner"].stop()
    t = next(iter(timing.values()))
    assert not t["sigkill"] and t["exited_after"] < t["grace"]
