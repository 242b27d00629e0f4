"""End-to-end model delivery with real parts: the vllm chart's rendered pod, run by the LocalRunner with the real vLLM
(CPU build), loads the tiny model from an S3-compatible store started here (moto's server), by prefetch (the init
container's real `aws s3 sync`) and by streaming (vLLM's Run:ai model streamer), and from a pre-filled read-only cache
volume with the Hub off; each answers a chat completion through the openai client. One engine per scenario."""
import os
import socket
import subprocess
import time
import urllib.request

import openai
import pytest
import yaml

import render_cache
from llmcharts import engine_env, paths
from llmcharts.local import LocalRunner
from llmcharts.local.models import stage_model, stage_model_dir
from llmcharts.objects import dig

from conftest import STATS

pytestmark = pytest.mark.engine
BUCKET, PREFIX = "models", "tiny/llama"
SECRET = "s3-credentials"
KEYS = {"AWS_ACCESS_KEY_ID": "e2e-access-key", "AWS_SECRET_ACCESS_KEY": "e2e-secret-key"}
HUB_ID, PINNED = "meta-llama/Llama-3.1-8B-Instruct", "0" * 40  # tinymodel's Hub cache entry is at commit 0...0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """moto's S3 server on a free port, with the tiny model uploaded under s3://models/tiny/llama by the AWS CLI."""
    venv = engine_env.s3_venv()
    work = tmp_path_factory.mktemp("store")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = open(work / "moto.log", "wb")
    proc = subprocess.Popen([str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        model = work / "tiny"
        stage_model_dir(model)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), "AWS_REGION": "us-east-1", **KEYS}
        aws = [str(venv / "bin" / "aws"), "--endpoint-url", endpoint]
        subprocess.run(aws + ["s3", "mb", f"s3://{BUCKET}"], env=env, check=True, capture_output=True)
        subprocess.run(aws + ["s3", "sync", str(model), f"s3://{BUCKET}/{PREFIX}"], env=env, check=True,
                       capture_output=True)
        yield {"endpoint": endpoint, "files": sorted(p.name for p in model.iterdir())}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def render(helms, tmp_path, values: dict, release: str) -> list[dict]:
    f = tmp_path / f"{release}.yaml"
    f.write_text(yaml.safe_dump(values))
    return render_cache.render(helms["helm4"], paths.CHARTS / "vllm", [paths.VALUES / "local" / "cpu.yaml", f],
                               release=release).objects


def engine_pod(objects: list[dict]) -> dict:
    return dig(next(o for o in objects if o["kind"] == "Deployment"), "spec", "template", "spec")


def serve_and_ask(objects, workdir, extra_env: dict, prepare=None) -> dict:
    """Run the release locally, wait until it is ready, ask the model one question; the runner and timings."""
    runner = LocalRunner(objects, workdir, secrets={SECRET: dict(KEYS)}, extra_env=extra_env)
    with runner:
        if prepare:
            prepare(workdir)
        t0 = time.monotonic()
        runner.start()
        ready = runner.wait_ready(timeout=900)
        service = next(o for o in objects if o["kind"] == "Service")["metadata"]["name"]
        client = openai.OpenAI(base_url=runner.service_url(service) + "/v1", api_key="unused", max_retries=0,
                               timeout=120)
        out = client.chat.completions.create(model="tiny", max_tokens=4, temperature=0,
                                             messages=[{"role": "user", "content": "Say hello."}])
        assert out.choices and out.choices[0].message.content is not None
        pod = next(iter(runner.pods.values()))
        return {"ready_s": round(ready, 1), "total_s": round(time.monotonic() - t0, 1), "pod": pod,
                "models": pod.volumes.get("models")}


def source(store, **more) -> dict:
    return {"uri": f"s3://{BUCKET}/{PREFIX}", "endpoint": store["endpoint"],
            "credentials": {"secretName": SECRET}, **more}


def test_prefetch_from_s3_compatible_store(helms, store, tmp_path):
    objects = render(helms, tmp_path, {"model": {"servedModelName": "tiny", "source": source(store)}}, "prefetch")
    pod = engine_pod(objects)
    fetch = pod["initContainers"][0]
    assert fetch["command"][:3] == ["aws", "s3", "sync"] and "--endpoint-url" in fetch["command"]
    assert {e["name"]: dig(e, "valueFrom", "secretKeyRef", "name") for e in fetch["env"]}["AWS_SECRET_ACCESS_KEY"] == SECRET
    r = serve_and_ask(objects, tmp_path / "run", {"HF_HUB_OFFLINE": "1"})
    fetched = r["models"] / "s3" / BUCKET / PREFIX
    assert sorted(p.name for p in fetched.iterdir()) == store["files"]  # what the engine loaded came from the store
    STATS["e2e timing: model prefetched from S3 (moto) and served (s)"] = r["total_s"]


def test_stream_from_s3_compatible_store(helms, store, tmp_path):
    objects = render(helms, tmp_path, {"model": {"servedModelName": "tiny", "source": source(store, load="stream")}},
                     "stream")
    pod = engine_pod(objects)
    assert "initContainers" not in pod
    args = pod["containers"][0]["args"]
    assert args[0] == f"s3://{BUCKET}/{PREFIX}" and "--load-format=runai_streamer" in args
    # The vllm image ships the Run:ai streamer (vllm[runai]); the CPU venv gets it from a folder on PYTHONPATH.
    r = serve_and_ask(objects, tmp_path / "run", {"HF_HUB_OFFLINE": "1",
                                                  "PYTHONPATH": str(engine_env.streamer_overlay())})
    assert not (r["models"] / "s3").exists()  # nothing was copied to the model volume
    STATS["e2e timing: model streamed from S3 (moto, Run:ai streamer) and served (s)"] = r["total_s"]


def test_prefilled_read_only_cache_with_hub_off(helms, tmp_path):
    values = {"global": {"production": True},
              "model": {"servedModelName": "tiny",
                        "source": {"uri": f"hf://{HUB_ID}", "revision": PINNED, "offline": True}},
              "modelStorage": {"type": "existingClaim", "existingClaim": "model-cache", "readOnly": True}}
    objects = render(helms, tmp_path, values, "cache")
    env = {e["name"]: e.get("value") for e in engine_pod(objects)["containers"][0]["env"]}
    assert env["HF_HUB_OFFLINE"] == "1" and env["HF_HUB_CACHE"] == "/models/huggingface/hub"
    cache = tmp_path / "run" / "pvc" / "model-cache"

    def prefill(_):
        stage_model(cache / "huggingface", HUB_ID)  # what the model-cache chart's Job leaves on the shared volume

    before = {}
    # HF_HUB_OFFLINE comes from the chart, not from the runner.
    r = serve_and_ask(objects, tmp_path / "run", {}, prepare=lambda w: (prefill(w), before.update(
        {p: p.stat().st_mtime for p in cache.rglob("*")})))
    after = {p: p.stat().st_mtime for p in cache.rglob("*")}
    assert after == before, "the engine wrote to the read-only cache"
    STATS["e2e timing: model served from a pre-filled read-only cache, Hub off (s)"] = r["total_s"]
