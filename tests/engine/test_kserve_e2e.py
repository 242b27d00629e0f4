"""End-to-end for the KServe chart: the InferenceService's predictor pod, built from the rendered runtime as
KServe's controller builds it ({{.Name}} becomes the InferenceService name), runs locally with the real vLLM
(CPU build) and is called through its <name>-predictor Service as a KServe user would."""
import openai
import pytest

import render_cache
from llmcharts import paths
from llmcharts.local import LocalRunner

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


def test_graceful_stop(predictor):
    timing = predictor["runner"].stop()
    t = next(iter(timing.values()))
    assert not t["sigkill"] and t["exited_after"] < t["grace"]
