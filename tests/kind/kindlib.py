"""The cluster end-to-end tests' plumbing: whether a cluster can be had here (and why not), the targets
(tests/kind/values/*.yaml), kubectl and the pinned helm against that cluster, port-forwards, and the OpenAI
smoke checks.

Where the cluster comes from (LLMCHARTS_E2E_CLUSTER):
  kind     (default) the kind cluster LLMCHARTS_KIND_CLUSTER (default llm-charts): reused when it exists (CI creates
           it with scripts/kind-create.sh before `ct install`), else created here and deleted at the end
           (LLMCHARTS_KIND_KEEP=1 keeps it). Needs a reachable Docker daemon and kind on PATH.
  current  the current kube-context, e.g. a real GPU cluster (.github/workflows/gpu-e2e.yaml).
A target is a values file with header comments "# chart: <chart>", "# base: <values file>" (installed first) and
"# cluster: kind|gpu" (kind targets run on kind, gpu targets on a current cluster with real GPUs);
LLMCHARTS_E2E_TARGETS (comma-separated names) narrows the list.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from llmcharts import paths

HERE = Path(__file__).resolve().parent
VALUES = HERE / "values"
CT_OVERLAYS = HERE / "ct"
MODE = os.environ.get("LLMCHARTS_E2E_CLUSTER", "kind")
KIND_CLUSTER = os.environ.get("LLMCHARTS_KIND_CLUSTER", "llm-charts")
KUBECTL = paths.TOOLS_BIN / "kubectl"
HELM = paths.TOOLS_BIN / "helm3"  # what ct uses in CI, and helm 3 is the older of the two we support
# Preloaded on every kind node (the sandbox image), so scheduling probes pull nothing.
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"


# ------------------------------------------------------------------ can a cluster be had here?

def unavailable(mode: str = MODE, env: dict | None = None) -> str | None:
    """None when the e2e tests can run here; else the reason, for the skip message."""
    env = dict(os.environ if env is None else env)
    if mode == "current":
        try:
            r = subprocess.run([str(KUBECTL), "version", "--request-timeout=10s", "-o", "json"], capture_output=True,
                               text=True, timeout=30, env=env)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"LLMCHARTS_E2E_CLUSTER=current, but kubectl could not run: {e}"
        if r.returncode != 0 or '"serverVersion"' not in r.stdout:
            last = (r.stderr.strip().splitlines() or ["no server version"])[-1]
            return f"LLMCHARTS_E2E_CLUSTER=current, but no cluster is reachable through the current kube-context ({last})"
        return None
    if mode != "kind":
        return f"LLMCHARTS_E2E_CLUSTER={mode!r} is neither 'kind' nor 'current'"
    problems = []
    docker = shutil.which("docker", path=env.get("PATH"))
    if not docker:
        problems.append("Docker is not installed (no docker on PATH)")
    else:
        try:
            r = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                               timeout=30, env=env)
            if r.returncode != 0 or not r.stdout.strip():
                last = (r.stderr.strip().splitlines() or ["no server version"])[-1]
                problems.append(f"the Docker daemon is not reachable (`docker info`: {last})")
        except (OSError, subprocess.TimeoutExpired) as e:
            problems.append(f"`docker info` did not answer ({e})")
    if not shutil.which("kind", path=env.get("PATH")):
        problems.append("kind is not on PATH")
    if not problems:
        return None
    return ("kind e2e needs Docker and kind: " + "; ".join(problems) +
            ". Where they exist: scripts/test -m kind tests/kind (GitHub: .github/workflows/kind-e2e.yaml)")


def opted_in(markexpr: str) -> bool:
    """The e2e tests pull several GB and start a cluster: they run when asked for (-m kind, or LLMCHARTS_KIND=1)."""
    return os.environ.get("LLMCHARTS_KIND") == "1" or re.search(r"(?<!not )\bkind\b", markexpr or "") is not None


# ------------------------------------------------------------------ targets

def header(path: Path) -> dict:
    """The "# key: value" lines at the top of a values file."""
    out: dict = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        m = re.match(r"#\s*([a-z][a-z-]*):\s*(.+?)\s*$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


@dataclass(frozen=True)
class Target:
    path: Path
    chart: str
    base: Path
    cluster: str

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def chart_dir(self) -> Path:
        return paths.CHARTS / self.chart

    @property
    def values(self) -> list[Path]:
        return [self.base, self.path]


def all_targets() -> list[Target]:
    out = []
    for f in sorted(VALUES.glob("*.yaml")):
        h = header(f)
        out.append(Target(f, h.get("chart", ""), paths.ROOT / h.get("base", ""), h.get("cluster", "")))
    return out


def targets(mode: str = MODE) -> list[Target]:
    want = "kind" if mode == "kind" else "gpu"
    names = [n.strip() for n in os.environ.get("LLMCHARTS_E2E_TARGETS", "").split(",") if n.strip()]
    return [t for t in all_targets() if t.cluster == want and (not names or t.name in names)]


# ------------------------------------------------------------------ the cluster

@dataclass
class Cluster:
    kubeconfig: Path | None
    created: bool = False
    log: list = field(default_factory=list)

    @property
    def env(self) -> dict:
        env = dict(os.environ)
        if self.kubeconfig:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def run(self, cmd: list, timeout: int = 120, check: bool = False, input: str | None = None):
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=self.env,
                           input=input)
        self.log.append(f"$ {' '.join(map(str, cmd))} -> {r.returncode}")
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    def kubectl(self, *args, **kw):
        return self.run([KUBECTL, *args], **kw)

    def helm(self, *args, **kw):
        return self.run([HELM, *args], **kw)

    def get(self, *args) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json", check=True).stdout)

    def diagnostics(self, namespace: str) -> str:
        r = subprocess.run([str(paths.ROOT / "scripts" / "kind-diagnostics.sh"), namespace], capture_output=True,
                           text=True, timeout=300, env=self.env)
        return r.stdout[-20000:]


def connect(tmp: Path) -> Cluster:
    if MODE == "current":
        return Cluster(kubeconfig=None)
    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, timeout=60).stdout.split()
    created = KIND_CLUSTER not in clusters
    if created:
        r = subprocess.run([str(paths.ROOT / "scripts" / "kind-create.sh"), "--name", KIND_CLUSTER], capture_output=True,
                           text=True, timeout=1200)
        if r.returncode != 0:
            raise AssertionError(f"scripts/kind-create.sh failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    cfg = tmp / "kubeconfig"
    cfg.write_text(subprocess.run(["kind", "get", "kubeconfig", "--name", KIND_CLUSTER], capture_output=True, text=True,
                                  timeout=60, check=True).stdout)
    return Cluster(kubeconfig=cfg, created=created)


def disconnect(cluster: Cluster) -> None:
    if cluster.created and os.environ.get("LLMCHARTS_KIND_KEEP") != "1":
        subprocess.run(["kind", "delete", "cluster", "--name", KIND_CLUSTER], capture_output=True, timeout=600)


# ------------------------------------------------------------------ an installed target

@dataclass
class Release:
    cluster: Cluster
    target: Target
    name: str
    namespace: str
    objects: list = field(default_factory=list)   # the release's manifest
    hooks: list = field(default_factory=list)     # its hooks (the helm test pod)
    secret_values: dict = field(default_factory=dict)  # (secret, key) -> value created for the test

    @property
    def test_pod(self) -> dict:
        pods = [h for h in self.hooks if h.get("kind") == "Pod" and
                "test" in str((h.get("metadata", {}).get("annotations") or {}).get("helm.sh/hook", ""))]
        assert pods, f"{self.target.chart} renders no `helm test` pod (llm-common.tests.openaiPod)"
        return pods[0]

    def test_env(self) -> dict:
        env = {}
        for e in self.test_pod["spec"]["containers"][0].get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
            else:
                ref = e["valueFrom"]["secretKeyRef"]
                env[e["name"]] = self.secret_values.get((ref["name"], ref["key"]))
        return env

    def pods(self, component: str = "engine") -> list[dict]:
        sel = f"app.kubernetes.io/instance={self.name},app.kubernetes.io/component={component}"
        return self.cluster.get("pods", "-n", self.namespace, "-l", sel)["items"]


def parse_manifests(text: str) -> list[dict]:
    import yaml
    return [d for d in yaml.safe_load_all(text) if d]


def secret_refs(objects: list[dict]) -> set[tuple[str, str, str]]:
    """(env name, secret, key) of every secretKeyRef in the rendered pods."""
    from llmcharts.invariants import pod_templates
    out = set()
    for pod in pod_templates(objects):
        for c in pod.containers():
            for e in c.get("env") or []:
                ref = ((e.get("valueFrom") or {}).get("secretKeyRef")) or {}
                if ref and not ref.get("optional"):
                    out.add((e["name"], ref["name"], ref["key"]))
    return out


def render(target: Target, release: str, namespace: str) -> list[dict]:
    r = subprocess.run([str(HELM), "template", release, str(target.chart_dir), "-n", namespace,
                        *[a for v in target.values for a in ("-f", str(v))]], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"helm template {target.name}: {r.stderr}")
    return parse_manifests(r.stdout)


def install(cluster: Cluster, target: Target) -> Release:
    name = target.name[:40].strip("-")
    ns = f"e2e-{target.name}-{secrets.token_hex(3)}"[:63].strip("-")
    rel = Release(cluster, target, name, ns)
    cluster.kubectl("create", "namespace", ns, check=True)
    # Secrets the render reads: API keys get a fresh random value (the checks send it); a Hugging Face token is taken
    # from $HF_TOKEN when set. Anything else must exist already.
    for env_name, secret, key in sorted(secret_refs(render(target, name, ns))):
        if re.search(r"API_?KEY", env_name):
            value = secrets.token_hex(16)
        elif env_name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN") and os.environ.get("HF_TOKEN"):
            value = os.environ["HF_TOKEN"]
        else:
            continue
        if (secret, key) in rel.secret_values:
            continue
        cluster.kubectl("-n", ns, "create", "secret", "generic", secret, f"--from-literal={key}={value}", check=True)
        rel.secret_values[(secret, key)] = value
    r = cluster.helm("upgrade", "--install", name, target.chart_dir, "-n", ns, "--wait", "--timeout", "25m",
                     *[a for v in target.values for a in ("-f", v)], timeout=1800)
    if r.returncode != 0:
        raise AssertionError(f"helm install of {target.name} did not become Ready:\n{r.stderr[-3000:]}\n"
                             f"{cluster.diagnostics(ns)}")
    rel.objects = parse_manifests(cluster.helm("get", "manifest", name, "-n", ns, check=True).stdout)
    rel.hooks = parse_manifests(cluster.helm("get", "hooks", name, "-n", ns, check=True).stdout)
    return rel


def uninstall(rel: Release) -> None:
    rel.cluster.helm("uninstall", rel.name, "-n", rel.namespace, "--wait", "--timeout", "5m", timeout=600)
    rel.cluster.kubectl("delete", "namespace", rel.namespace, "--wait=false")


# ------------------------------------------------------------------ port-forward

class PortForward:
    """kubectl port-forward to a Service, on a free local port; a context manager giving the local base URL."""

    def __init__(self, cluster: Cluster, namespace: str, service: str, port: int):
        self.cmd = [str(KUBECTL), "-n", namespace, "port-forward", f"svc/{service}", f":{port}", "--address", "127.0.0.1"]
        self.env = cluster.env
        self.proc = None

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line or "")
            if m:
                return f"http://127.0.0.1:{m.group(1)}"
            if not line and self.proc.poll() is not None:
                break
        self.__exit__()
        raise AssertionError(f"kubectl port-forward did not start: {' '.join(self.cmd)}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


# ------------------------------------------------------------------ OpenAI smoke checks

def http(method: str, url: str, body: dict | None = None, key: str | None = None, timeout: int = 300):
    """(status, parsed JSON or text) of one request."""
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read().decode(errors="replace")
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def stream_chat(url: str, model: str, key: str | None, timeout: int = 300) -> tuple[list[dict], bool]:
    """The chunks of a streamed chat completion and whether it ended with [DONE]."""
    body = {"model": model, "messages": [{"role": "user", "content": "Count to three."}], "max_tokens": 8,
            "temperature": 0, "stream": True}
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    chunks, done = [], False
    with urllib.request.urlopen(req, timeout=timeout) as r:
        assert "text/event-stream" in r.headers.get("Content-Type", ""), r.headers.get("Content-Type")
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            data = line[len("data:"):].strip()
            if data == "[DONE]":
                done = True
                break
            chunks.append(json.loads(data))
    return chunks, done


def openai_smoke(base: str, model: str, key: str | None) -> list[str]:
    """The OpenAI client's view of a served model, one assertion per step; returns what was checked.
    base is the OpenAI root (http://host:port/v1)."""
    done = []
    status, models = http("GET", f"{base}/models", key=key, timeout=30)
    assert status == 200, f"GET /models: {status} {models}"
    ids = [m.get("id") for m in models.get("data", [])]
    assert model in ids, f"/models lists {ids}, not {model!r}"
    done.append("models lists the served name")
    if key:
        status, _ = http("GET", f"{base}/models", timeout=30)
        assert status == 401, f"GET /models without the API key answered {status}, expected 401"
        status, _ = http("GET", f"{base}/models", key="wrong-" + key, timeout=30)
        assert status == 401, f"GET /models with a wrong API key answered {status}, expected 401"
        done.append("requests without or with a wrong key are refused (401)")
    status, out = http("POST", f"{base}/completions", {"model": model, "prompt": "The capital of France is",
                                                         "max_tokens": 8, "temperature": 0}, key=key)
    assert status == 200, f"POST /completions: {status} {out}"
    assert out["choices"] and isinstance(out["choices"][0].get("text"), str), out
    assert out["usage"]["completion_tokens"] >= 1 and out["usage"]["prompt_tokens"] >= 1, out["usage"]
    done.append("completion")
    status, out = http("POST", f"{base}/chat/completions", {"model": model, "max_tokens": 8, "temperature": 0,
                                                              "messages": [{"role": "user", "content": "Say hello."}]},
                       key=key)
    assert status == 200, f"POST /chat/completions: {status} {out}"
    msg = out["choices"][0]["message"]
    assert msg["role"] == "assistant" and isinstance(msg.get("content"), str), out
    done.append("chat completion")
    chunks, finished = stream_chat(f"{base}/chat/completions", model, key)
    assert chunks and finished, f"streamed chat: {len(chunks)} chunks, [DONE] seen: {finished}"
    assert all(c.get("object") == "chat.completion.chunk" for c in chunks), chunks[:2]
    done.append(f"streamed chat ({len(chunks)} chunks, [DONE])")
    status, out = http("POST", f"{base}/completions", {"model": model + "-no-such-model", "prompt": "x",
                                                         "max_tokens": 1}, key=key)
    assert status in (400, 404), f"an unknown model answered {status}, expected 404 (or 400)"
    done.append(f"unknown model refused ({status})")
    return done
