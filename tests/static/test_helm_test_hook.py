"""The `helm test` hook (llm-common.tests.openaiPod), offline: the pod the chart renders is run as its container
would run it (its sh script, its env, curl) against a local OpenAI-compatible server, healthy or broken in one
way at a time. The hook must pass on the healthy server and fail, saying why, on each broken one.
Kubernetes schema validation and the invariants of the hook pod are the render matrix's (helm template renders
test hooks)."""
import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

import render_cache
from llmcharts import paths
from llmcharts.objects import dig

VLLM = paths.CHARTS / "vllm"
pytestmark = pytest.mark.skipif(not shutil.which("curl") or not shutil.which("sh"), reason="needs sh and curl")


class FakeOpenAI:
    """A minimal OpenAI-compatible server; each knob breaks one thing the hook must notice."""

    def __init__(self, base="/v1", models=("m",), key=None, enforce_key=True, completion_status=200):
        self.base, self.models, self.key, self.enforce_key = base, list(models), key, enforce_key
        self.completion_status = completion_status
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self):
                auth = self.headers.get("Authorization")
                outer.requests.append((self.command, self.path, auth))
                return not (outer.key and outer.enforce_key) or auth == f"Bearer {outer.key}"

            def do_GET(self):  # noqa: N802
                if not self._authorized():
                    return self._reply(401, {"error": "Unauthorized"})
                if self.path == outer.base + "/models":
                    return self._reply(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in outer.models]})
                self._reply(404, {"error": "not found"})

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if not self._authorized():
                    return self._reply(401, {"error": "Unauthorized"})
                if body.get("model") not in outer.models:
                    return self._reply(404, {"error": f"model {body.get('model')} does not exist"})
                if self.path == outer.base + "/completions":
                    if outer.completion_status != 200:
                        return self._reply(outer.completion_status, {"error": "engine failure"})
                    return self._reply(200, {"object": "text_completion", "choices": [{"index": 0, "text": " hi"}]})
                if self.path == outer.base + "/chat/completions":
                    return self._reply(200, {"object": "chat.completion", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": "hi"}}]})
                self._reply(404, {"error": "not found"})

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()


def hook_pod(helms, chart, values=(), set_values=None) -> dict:
    r = render_cache.render(helms["helm4"], chart, list(values), set_values=set_values)
    pods = [o for o in r.objects if o["kind"] == "Pod" and dig(o, "metadata", "annotations", "helm.sh/hook") == "test"]
    assert len(pods) == 1, [o["kind"] for o in r.objects]
    return pods[0]


def run_hook(pod: dict, server: FakeOpenAI, key: str | None = None) -> subprocess.CompletedProcess:
    """Run the hook container's command with its env, as the kubelet would; the in-cluster Service URL is pointed
    at the local server (same path), the Secret-backed env gets `key`."""
    c = pod["spec"]["containers"][0]
    env = {"PATH": os.environ["PATH"]}
    for e in c["env"]:
        if "value" in e:
            env[e["name"]] = e["value"]
        elif key is not None:
            env[e["name"]] = key
    path = env["BASE_URL"].split(".svc:", 1)[1].split("/", 1)[1]
    env["BASE_URL"] = f"{server.url}/{path}"
    env["TIMEOUT"] = "10"
    return subprocess.run(c["command"] + c["args"], env=env, capture_output=True, text=True, timeout=120)


def test_hook_passes_against_a_healthy_engine_with_an_api_key(helms):
    pod = hook_pod(helms, VLLM, [VLLM / "ci" / "full-values.yaml"])
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-api-key", "key": "api-key"}
    with FakeOpenAI(models=["llama-8b"], key="s3cret") as srv:
        r = run_hook(pod, srv, key="s3cret")
    assert r.returncode == 0, r.stdout + r.stderr
    for line in ("PASS: /models lists llama-8b", "PASS: requests without the API key are refused (401)",
                 "PASS: /completions returned choices"):
        assert line in r.stdout, r.stdout
    assert ("POST", "/v1/completions", "Bearer s3cret") in srv.requests


def test_hook_fails_when_the_served_model_is_not_listed(helms):
    pod = hook_pod(helms, VLLM, [VLLM / "ci" / "full-values.yaml"])
    with FakeOpenAI(models=["some-other-model"], key="k") as srv:
        r = run_hook(pod, srv, key="k")
    assert r.returncode != 0 and "FAIL: /models does not list llama-8b" in r.stdout, r.stdout


def test_hook_fails_when_the_api_key_is_not_enforced(helms):
    pod = hook_pod(helms, VLLM, [VLLM / "ci" / "full-values.yaml"])
    with FakeOpenAI(models=["llama-8b"], key="k", enforce_key=False) as srv:
        r = run_hook(pod, srv, key="k")
    assert r.returncode != 0 and "answered 200, not 401" in r.stdout, r.stdout


def test_hook_fails_when_the_completion_fails(helms):
    pod = hook_pod(helms, VLLM, [VLLM / "ci" / "minimal-values.yaml"])
    with FakeOpenAI(models=["Qwen/Qwen2.5-0.5B-Instruct"], completion_status=500) as srv:
        r = run_hook(pod, srv)
    assert r.returncode != 0 and "FAIL: POST" in r.stdout and "engine failure" in r.stdout, r.stdout


def test_hook_without_an_api_key_sends_none(helms):
    pod = hook_pod(helms, VLLM, [VLLM / "ci" / "minimal-values.yaml"])
    assert not any("valueFrom" in e for e in pod["spec"]["containers"][0]["env"])
    with FakeOpenAI(models=["Qwen/Qwen2.5-0.5B-Instruct"]) as srv:
        r = run_hook(pod, srv)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "without the API key" not in r.stdout and all(auth is None for _, _, auth in srv.requests)


def test_hook_pod_is_a_locked_down_pinned_test_pod(helms):
    pod = hook_pod(helms, VLLM, [VLLM / "ci" / "full-values.yaml"], set_values={"global.imageRegistry": "mirror.example"})
    c = pod["spec"]["containers"][0]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "test", "not an engine pod"
    assert c["image"] == "mirror.example/curlimages/curl:8.16.0", "pinned by tag, and the mirror applies"
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["automountServiceAccountToken"] is False
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


def test_helper_options_for_other_engine_charts(helms, tmp_path):
    """The parameters other engine charts use: a KServe-style /openai/v1 prefix, chat instead of the legacy
    completions route, another image, a key from their own Secret field."""
    chart = tmp_path / "engine"
    (chart / "templates" / "tests").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "engine", "version": "0.1.0", "appVersion": "1.0",
        "dependencies": [{"name": "llm-common", "version": "0.1.0",
                          "repository": f"file://{paths.CHARTS / 'llm-common'}"}]}))
    (chart / "values.yaml").write_text("token: {secretName: eng-key, secretKey: k}\n")
    (chart / "templates" / "tests" / "test-openai.yaml").write_text(
        '{{ include "llm-common.tests.openaiPod" (dict "context" . "service" "eng-predictor" "port" 80 '
        '"model" "tiny" "basePath" "/openai/v1/" "completion" false "chat" true "apiKey" .Values.token '
        '"image" (dict "registry" "quay.io" "repository" "curl/curl" "tag" "8.16.0")) }}\n')
    helms["helm4"].dependency_build(chart)
    pod = hook_pod(helms, chart)
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["BASE_URL"]["value"] == "http://eng-predictor.llm-test.svc:80/openai/v1"
    assert env["ROUTES"]["value"] == "chat/completions" and "COMPLETION_BODY" not in env
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "eng-key", "key": "k"}
    assert pod["spec"]["containers"][0]["image"] == "quay.io/curl/curl:8.16.0"
    with FakeOpenAI(base="/openai/v1", models=["tiny"], key="abc") as srv:
        r = run_hook(pod, srv, key="abc")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS: /chat/completions returned choices" in r.stdout
    assert not any(p.endswith("/completions") and not p.endswith("/chat/completions") for _, p, _ in srv.requests)
