"""End-to-end through the gateway: the llm-stack umbrella (values/llm-stack/cpu-local.yaml, with the CPU overlay
for its vLLM engine) runs locally - the real vllm-router with its registrar sidecar in front of the real vLLM -
and a user talks to the gateway with the openai client."""
import json
import time
import urllib.request

import openai
import pytest

from llmcharts import e2e, paths
from llmcharts.localrun import LocalRunner, local_overlay, wait_for_gateway_backends

from conftest import STATS

pytestmark = pytest.mark.engine
PRESET = paths.VALUES / "llm-stack" / "cpu-local.yaml"
API_KEY = "gateway-e2e-key"
MODEL = "qwen2.5-0.5b-instruct"


@pytest.fixture(scope="module")
def stack(helms, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw")
    overlay = local_overlay(paths.CHARTS / "llm-stack", tmp)
    r = helms["helm4"].template(paths.CHARTS / "llm-stack", [PRESET, overlay], release="gw", namespace="llm-test")
    assert r.ok, r.error
    runner = LocalRunner(r.objects, tmp / "run", secrets={"llm-api-key": {"api-key": API_KEY}},
                         namespace="llm-test", extra_env={"HF_HUB_OFFLINE": "1"}, tiny_models=True)
    with runner:
        t0 = time.monotonic()
        runner.start()
        runner.wait_ready(timeout=900)
        gateway = next(o for o in r.objects if o["kind"] == "Service" and
                       o["metadata"]["labels"].get("app.kubernetes.io/component") == "gateway")
        base = runner.service_url(gateway["metadata"]["name"])
        try:  # the registrar adds the engine; the router's health check admits it
            assert MODEL in wait_for_gateway_backends(base, timeout=180)
        except TimeoutError as e:
            pytest.fail(f"{e}\n{runner.tail_logs()}")
        STATS["e2e timing: gateway stack ready and routing (s)"] = round(time.monotonic() - t0, 1)
        yield {"objects": r.objects, "runner": runner, "base": base,
               "client": openai.OpenAI(base_url=base + "/v1", api_key=API_KEY, max_retries=0, timeout=60)}


def test_gateway_lists_the_model(stack):
    with urllib.request.urlopen(stack["base"] + "/v1/models", timeout=5) as resp:
        assert MODEL in json.loads(resp.read())["models"]


def test_completion_through_the_gateway(stack):
    r = stack["client"].completions.create(model=MODEL, prompt="Helm charts", max_tokens=8)
    assert r.model == MODEL and r.usage.completion_tokens >= 1


def test_streaming_chat_through_the_gateway(stack):
    chunks, finish = e2e.stream_chat(stack["client"], MODEL, "hi")
    assert chunks >= 2 and finish in ("length", "stop")


def test_wrong_api_key_is_refused_through_the_gateway(stack):
    bad = openai.OpenAI(base_url=stack["base"] + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=1)


def test_routing_is_by_model_name(stack):
    """A model the gateway has no backend for is not sent to some engine anyway."""
    with pytest.raises(openai.APIStatusError) as err:
        stack["client"].chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}],
                                                max_tokens=1)
    assert err.value.status_code in (404, 503)
    registered = json.loads(urllib.request.urlopen(stack["base"] + "/workers", timeout=5).read())
    assert [w["model_id"] for w in registered["workers"]] == [MODEL]


def test_gateway_metrics_port_serves_router_metrics(stack):
    port = stack["runner"].service_port(next(o for o in stack["objects"] if o["kind"] == "Service" and
                                             o["metadata"]["labels"].get("app.kubernetes.io/component") == "gateway")["metadata"]["name"], 29000)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "vllm_router_requests_total" in text
