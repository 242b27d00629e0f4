"""What the cluster tests install and where, decided offline, and whether a render fits kind.

What the cluster tests install and where, decided offline: targets, ct overlays, the mock GPU pools, the fake GPU
fleet, and whether a render fits them (its pods, its GPUs, its Secrets, its `helm test` hook)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from llmcharts import paths
from llmcharts.objects import dig, gpu_resources, quantity, secret_refs
from llmcharts.pods import pod_templates

KIND = paths.ROOT / "tests" / "kind"
VALUES = KIND / "values"
CT_OVERLAYS = KIND / "ct"
FLEET_FILE = KIND / "fleet.yaml"
MOCK_SCRIPT = paths.ROOT / "scripts" / "kind-gpu-mock.sh"
PREPARE_SCRIPT = paths.ROOT / "scripts" / "kind-prepare.sh"
# The charts every cluster path covers; each needs a ct overlay and a kind target.
CHARTS = ("vllm", "tgi", "kserve-llm", "ray-llm", "llm-stack")
# A GitHub-hosted runner (4 vCPU, 16 GiB) holds the whole kind cluster.
MAX_POD_CPU_REQUEST = 2.0
MAX_POD_MEMORY_LIMIT = quantity("8Gi")
# Images that start without GPU devices: vLLM's CPU build, TGI's CPU line, the CPU Ray stand-in (images/ray-llm-cpu),
# the gateway (vllm-router and its HAProxy), the llm-d simulator, and the test hook's curl.
CPU_CAPABLE = re.compile(r"(vllm-openai-cpu:|text-generation-inference:[\w.]+-intel-cpu|/ray-llm-cpu:|/vllm-router:"
                         r"|/haproxy:|llm-d-inference-sim:|curlimages/curl:)")


# ------------------------------------------------------------------ headers, targets, overlays

def header(path: Path) -> dict:
    """The "# key: value" lines at the top of a values file (a key given twice becomes a list)."""
    out: dict = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        m = re.match(r"#\s*([a-z][a-z-]*):\s*(.+?)\s*$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def as_list(v) -> list:
    return v if isinstance(v, list) else ([v] if v else [])


@dataclass(frozen=True)
class Target:
    """A values file of tests/kind/values: "# chart:", "# base:" (installed first), "# cluster: kind|gpu"."""
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


def targets(mode: str, env: dict | None = None) -> list[Target]:
    """The targets a run installs: kind targets on kind, gpu targets on a current cluster; narrowed by
    LLMCHARTS_E2E_TARGETS (names) and LLMCHARTS_E2E_CHARTS (charts), both comma-separated."""
    env = os.environ if env is None else env
    want = "kind" if mode == "kind" else "gpu"
    names = {n.strip() for n in env.get("LLMCHARTS_E2E_TARGETS", "").split(",") if n.strip()}
    charts = {n.strip() for n in env.get("LLMCHARTS_E2E_CHARTS", "").split(",") if n.strip()}
    return [t for t in all_targets() if t.cluster == want and (not names or t.name in names)
            and (not charts or t.chart in charts)]


def overlays() -> dict[str, Path]:
    return {p.stem: p for p in sorted(CT_OVERLAYS.glob("*.yaml"))}


def overlay_secrets(overlay: Path) -> set[tuple[str, str]]:
    """(secret, key) pairs scripts/kind-ct-install.sh creates from "# ct-secret: NAME KEY" lines."""
    return {tuple(v.split()[:2]) for v in as_list(header(overlay).get("ct-secret"))}


def chart_needs(chart: str) -> dict[str, list[str]]:
    """What scripts/kind-prepare.sh sets up for a chart: "# operators:" and "# images:" of its overlay."""
    h = header(CT_OVERLAYS / f"{chart}.yaml")
    return {k: [w for v in as_list(h.get(k)) for w in v.split()] for k in ("operators", "images")}


# ------------------------------------------------------------------ the mock pools and the fake fleet

def _mock_default(var: str) -> str:
    m = re.search(rf'"\$\{{{var}:-([^}}]+)\}}"', MOCK_SCRIPT.read_text())
    if not m:
        raise ValueError(f"scripts/kind-gpu-mock.sh has no default for {var}")
    return m.group(1)


def mock_pools() -> dict[str, tuple[int, str, str]]:
    """resource -> (GPUs per node, product label, product) of the kind mock pools (scripts/kind-gpu-mock.sh)."""
    return {"nvidia.com/gpu": (int(_mock_default("NVIDIA_GPU_COUNT")), "nvidia.com/gpu.product",
                               _mock_default("NVIDIA_GPU_PRODUCT")),
            "amd.com/gpu": (int(_mock_default("AMD_GPU_COUNT")), "amd.com/gpu.product-name", _mock_default("AMD_GPU_PRODUCT"))}


def fleet() -> dict:
    """tests/kind/fleet.yaml: the fake GPU node pools (kwok) the scheduling tests create."""
    return yaml.safe_load(FLEET_FILE.read_text())


# ------------------------------------------------------------------ does a render fit?

def runs_on_kind(objects: list[dict], secrets_created) -> list[str]:
    """What would keep this render from running on the mock-GPU kind cluster."""
    pools = mock_pools()
    labels = {label for _, label, _ in pools.values()}
    problems = []
    for pod in pod_templates(objects):
        spec, selector = pod.spec, pod.spec.get("nodeSelector") or {}
        for c in pod.containers():
            image = c.get("image", "")
            if not CPU_CAPABLE.search(image):
                problems.append(f"{pod.name}: image {image} needs devices the mock GPU nodes do not have")
            for resource, (req, lim) in gpu_resources(c).items():
                if resource not in pools:
                    problems.append(f"{pod.name}: {resource} is not mocked by scripts/kind-gpu-mock.sh")
                    continue
                per_node, label, product = pools[resource]
                if int(lim or req) > per_node:
                    problems.append(f"{pod.name}: {lim} x {resource}, the mock nodes have {per_node}")
                if label in selector and selector[label] != product:
                    problems.append(f"{pod.name}: selects {label}={selector[label]}, the mock pool is {product}")
            cpu = quantity(dig(c, "resources", "requests", "cpu"))
            if cpu and cpu > MAX_POD_CPU_REQUEST:
                problems.append(f"{pod.name}: requests {cpu} CPUs, more than a runner spares ({MAX_POD_CPU_REQUEST})")
            mem = quantity(dig(c, "resources", "limits", "memory"))
            if mem and mem > MAX_POD_MEMORY_LIMIT:
                problems.append(f"{pod.name}: memory limit {dig(c, 'resources', 'limits', 'memory')} is above 8Gi")
        for _, e, ref in secret_refs([pod]):
            if not ref.get("optional") and not secrets_created(e["name"], ref["name"], ref["key"]):
                problems.append(f"{pod.name}: env {e['name']} needs Secret {ref['name']}/{ref['key']}, "
                                "which nothing creates on the kind cluster")
        for key in selector:
            if key not in labels and not key.startswith("kubernetes.io/"):
                problems.append(f"{pod.name}: nodeSelector {key} is a label the kind nodes do not have")
        for v in spec.get("volumes") or []:
            if "hostPath" in v:
                problems.append(f"{pod.name}: hostPath volume {v['name']} (the kind node has no such path)")
        if spec.get("priorityClassName"):
            problems.append(f"{pod.name}: priority class {spec['priorityClassName']} does not exist on kind")
    for o in objects:
        kind, name = o.get("kind"), dig(o, "metadata", "name")
        if kind == "PersistentVolumeClaim" and dig(o, "spec", "storageClassName") not in (None, "standard"):
            problems.append(f"PVC {name}: storageClass {o['spec']['storageClassName']} is not kind's")
        replicas = dig(o, "spec", "replicas") if kind == "Deployment" else dig(o, "spec", "minReplicas")
        if kind in ("Deployment", "HorizontalPodAutoscaler") and replicas and replicas > 1 \
                and dig(o, "metadata", "labels", "app.kubernetes.io/component") != "gateway":
            problems.append(f"{kind}/{name}: {replicas} replicas of an engine on one runner")
        if kind == "InferenceService" and (dig(o, "spec", "predictor", "minReplicas") or 1) > 1:
            problems.append(f"InferenceService/{name}: {o['spec']['predictor']['minReplicas']} replicas on one runner")
        if kind == "InferenceService" and str(dig(o, "spec", "predictor", "model", "storageUri") or "").startswith(
                ("pvc://", "s3://", "gs://")):
            problems.append(f"InferenceService/{name}: storageUri {o['spec']['predictor']['model']['storageUri']} "
                            "is not reachable from kind")
        if kind == "LLMInferenceService":
            problems.append(f"LLMInferenceService/{name}: its controller (llmisvc) is not installed on kind")
    return problems


def served_services(objects: list[dict]) -> set[tuple[str, int]]:
    """(name, port) of the Services a release ends up with: rendered ones, and the <isvc>-predictor:80 Service KServe
    creates for each InferenceService in RawDeployment/Standard mode."""
    out = {(o["metadata"]["name"], p["port"]) for o in objects if o.get("kind") == "Service" for p in o["spec"]["ports"]}
    out |= {(f"{o['metadata']['name']}-predictor", 80) for o in objects if o.get("kind") == "InferenceService"}
    return out


def served_names(objects: list[dict]) -> set[str]:
    """Every word an engine is started with (args, command, Ray serve config model ids, KServe {{.Name}} resolved)."""
    words = set()
    for p in pod_templates(objects):
        if not p.is_engine:
            continue
        owner = p.owner.get("metadata", {}).get("name", "")
        for c in p.containers(init=False):
            for a in (c.get("args") or []) + (c.get("command") or []):
                a = str(a).replace("{{.Name}}", owner)
                words |= {a, a.split("=", 1)[-1]}
    for o in objects:
        if o.get("kind") == "ConfigMap":
            words |= set(re.findall(r"model_id:\s*['\"]?([\w./-]+)", "\n".join(map(str, (o.get("data") or {}).values()))))
        if o.get("kind") in ("RayService",):
            words |= set(re.findall(r"model_id:\s*['\"]?([\w./-]+)", str(dig(o, "spec", "serveConfigV2") or "")))
    return words


def hook_problems(objects: list[dict]) -> list[str]:
    """The release's `helm test` pods: at least one, each aimed at a Service it has and a model an engine serves."""
    hooks = [o for o in objects if o.get("kind") == "Pod" and dig(o, "metadata", "annotations", "helm.sh/hook") == "test"]
    if not hooks:
        return ["no helm test pod (llm-common.tests.openaiPod)"]
    problems, services, names = [], served_services(objects), served_names(objects)
    for hook in hooks:
        env = {e["name"]: e.get("value") for e in hook["spec"]["containers"][0]["env"]}
        m = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)(/.*)", env.get("BASE_URL") or "")
        if not m:
            problems.append(f"test pod BASE_URL {env.get('BASE_URL')!r}")
            continue
        if (m.group(1), int(m.group(3))) not in services:
            problems.append(f"test pod calls {m.group(1)}:{m.group(3)}, not a Service of the release")
        if env.get("MODEL") not in names:
            problems.append(f"test pod asks for model {env.get('MODEL')!r}, which no engine serves")
    return problems
