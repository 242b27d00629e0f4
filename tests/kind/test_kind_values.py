"""Offline checks of what the cluster e2e installs (no cluster needed; these run in every suite):

- each target of tests/kind/values (its base values file + the target file) and each ct overlay of tests/kind/ct
  over every ci/*-values.yaml of its chart renders under helm 3 and helm 4, validates strictly and holds every
  invariant, exactly like the render matrix;
- what it renders can run on the kind cluster of scripts/kind-create.sh: GPU requests within the mock pools
  (vendor, count, product label as scripts/kind-gpu-mock.sh sets them), a CPU-capable engine image (the mock nodes
  have no devices), no hostPath, runner-sized resources, Secrets that the e2e test or scripts/kind-ct-install.sh
  creates;
- the render has the chart's `helm test` pod, aimed at a rendered Service and the served model name.
"""
import re

import pytest

import kindlib
from llmcharts import paths
from llmcharts.check import check
from llmcharts.invariants import dig, gpu_resources, pod_templates, quantity

MOCK_SCRIPT = (paths.ROOT / "scripts" / "kind-gpu-mock.sh").read_text()


def mock_default(var: str) -> str:
    m = re.search(rf'"\$\{{{var}:-([^}}]+)\}}"', MOCK_SCRIPT)
    assert m, f"scripts/kind-gpu-mock.sh has no default for {var}"
    return m.group(1)


# resource -> (GPUs per node, product label, product) of the mock pools
MOCK_POOLS = {
    "nvidia.com/gpu": (int(mock_default("NVIDIA_GPU_COUNT")), "nvidia.com/gpu.product", mock_default("NVIDIA_GPU_PRODUCT")),
    "amd.com/gpu": (int(mock_default("AMD_GPU_COUNT")), "amd.com/gpu.product-name", mock_default("AMD_GPU_PRODUCT")),
}
# A GitHub-hosted runner (4 vCPU, 16 GiB) holds the whole kind cluster.
MAX_POD_CPU_REQUEST = 2.0
MAX_POD_MEMORY_LIMIT = quantity("8Gi")
# Images that start without GPU devices: vLLM's CPU build, the llm-d simulator, and the test hook's curl.
CPU_CAPABLE = re.compile(r"(vllm-openai-cpu|llm-d-inference-sim|curlimages/curl):")

TARGETS = kindlib.all_targets()
CT_CASES = [(overlay, ci) for overlay in sorted(kindlib.CT_OVERLAYS.glob("*.yaml"))
            for ci in sorted((paths.CHARTS / overlay.stem / "ci").glob("*-values.yaml"))]


def ct_secrets(overlay) -> set:
    return {tuple(v.split()[:2]) for v in _as_list(kindlib.header(overlay).get("ct-secret"))}


def _as_list(v):
    return v if isinstance(v, list) else ([v] if v else [])


def runs_on_kind(objects: list[dict], secrets_created) -> list[str]:
    """What would keep this render from running on the mock-GPU kind cluster."""
    problems = []
    for pod in pod_templates(objects):
        spec = pod.spec
        selector = spec.get("nodeSelector") or {}
        for c in pod.containers():
            image = c.get("image", "")
            if not CPU_CAPABLE.search(image):
                problems.append(f"{pod.name}: image {image} needs devices the mock GPU nodes do not have")
            for resource, (req, lim) in gpu_resources(c).items():
                if resource not in MOCK_POOLS:
                    problems.append(f"{pod.name}: {resource} is not mocked by scripts/kind-gpu-mock.sh")
                    continue
                per_node, label, product = MOCK_POOLS[resource]
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
            for e in c.get("env") or []:
                ref = dig(e, "valueFrom", "secretKeyRef")
                if ref and not ref.get("optional") and not secrets_created(e["name"], ref["name"], ref["key"]):
                    problems.append(f"{pod.name}: env {e['name']} needs Secret {ref['name']}/{ref['key']}, "
                                    "which nothing creates on the kind cluster")
        for key in selector:
            if key not in {label for _, label, _ in MOCK_POOLS.values()} and not key.startswith("kubernetes.io/"):
                problems.append(f"{pod.name}: nodeSelector {key} is a label the kind nodes do not have")
        for v in spec.get("volumes") or []:
            if "hostPath" in v:
                problems.append(f"{pod.name}: hostPath volume {v['name']} (the kind node has no such path)")
    for o in objects:
        if o.get("kind") == "PersistentVolumeClaim" and dig(o, "spec", "storageClassName") not in (None, "standard"):
            problems.append(f"PVC {o['metadata']['name']}: storageClass {o['spec']['storageClassName']} is not kind's")
        replicas = dig(o, "spec", "replicas") if o.get("kind") == "Deployment" else dig(o, "spec", "minReplicas")
        if o.get("kind") in ("Deployment", "HorizontalPodAutoscaler") and replicas and replicas > 1:
            problems.append(f"{o['kind']}/{o['metadata']['name']}: {replicas} replicas of an engine on one runner")
    return problems


def hook_problems(objects: list[dict]) -> list[str]:
    hooks = [o for o in objects if o.get("kind") == "Pod" and dig(o, "metadata", "annotations", "helm.sh/hook") == "test"]
    if len(hooks) != 1:
        return [f"{len(hooks)} helm test pods (want the one from llm-common.tests.openaiPod)"]
    env = {e["name"]: e.get("value") for e in hooks[0]["spec"]["containers"][0]["env"]}
    m = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)(/.*)", env.get("BASE_URL") or "")
    if not m:
        return [f"test pod BASE_URL {env.get('BASE_URL')!r}"]
    services = {(o["metadata"]["name"], p["port"]) for o in objects if o.get("kind") == "Service"
                for p in o["spec"]["ports"]}
    problems = []
    if (m.group(1), int(m.group(3))) not in services:
        problems.append(f"test pod calls {m.group(1)}:{m.group(3)}, not a rendered Service port")
    engines = [c for p in pod_templates(objects) if p.is_engine for c in p.containers(init=False)]
    words = {w for c in engines for a in (c.get("args") or []) + (c.get("command") or []) for w in (a, a.split("=", 1)[-1])}
    if env.get("MODEL") not in words:
        problems.append(f"test pod asks for model {env.get('MODEL')!r}, which no engine container serves")
    return problems


def test_targets_are_well_formed():
    assert {t.cluster for t in TARGETS} == {"kind", "gpu"}, "want kind targets and a real-GPU target"
    for t in TARGETS:
        assert (t.chart_dir / "Chart.yaml").exists(), f"{t.path.name}: no chart {t.chart!r}"
        assert t.base.is_file(), f"{t.path.name}: base {t.base} does not exist"
        text = t.path.read_text()
        assert "helm upgrade --install" in text or "scripts/test -m kind" in text, f"{t.path.name}: say how it is run"


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_target_renders_validates_and_holds_invariants(target, helms, crd_dirs):
    rep = check(target.chart_dir, target.values, list(helms.values()), release=target.name[:40], crd_dirs=crd_dirs)
    assert rep.ok, rep.summary()
    assert not hook_problems(rep.objects), hook_problems(rep.objects)
    if target.cluster == "kind":
        api_key_env = lambda env, secret, key: bool(re.search(r"API_?KEY", env))  # noqa: E731 (created by the e2e test)
        assert not runs_on_kind(rep.objects, api_key_env), "\n".join(runs_on_kind(rep.objects, api_key_env))
        assert any(gpu_resources(c) for p in pod_templates(rep.objects) for c in p.containers()), \
            f"{target.name} requests no GPU: the GPU scheduling checks would have nothing to check"


@pytest.mark.parametrize("overlay,ci", CT_CASES, ids=lambda x: getattr(x, "name", str(x)))
def test_ct_install_values_render_and_fit_kind(overlay, ci, helms, crd_dirs):
    rep = check(paths.CHARTS / overlay.stem, [ci, overlay], list(helms.values()), release="ct", crd_dirs=crd_dirs)
    assert rep.ok, rep.summary()
    created = ct_secrets(overlay)
    problems = runs_on_kind(rep.objects, lambda env, secret, key: (secret, key) in created) + hook_problems(rep.objects)
    assert not problems, "\n".join(problems)


def test_ct_overlays_name_charts_with_ci_values():
    assert CT_CASES, "no tests/kind/ct/<chart>.yaml overlay"
    for overlay in kindlib.CT_OVERLAYS.glob("*.yaml"):
        assert list((paths.CHARTS / overlay.stem / "ci").glob("*-values.yaml")), f"{overlay.name}: no such chart ci/"
        assert kindlib.header(overlay).get("chart") == overlay.stem


def test_fit_check_catches_what_kind_cannot_run(helms):
    """The fit check can fail: the unmodified GPU ci files (CUDA image, 2 x H100 with 64Gi, hostPath) do not fit."""
    r = helms["helm4"].template(paths.CHARTS / "vllm", [paths.CHARTS / "vllm" / "ci" / "full-values.yaml"])
    problems = runs_on_kind(r.objects, lambda *a: False)
    text = "\n".join(problems)
    assert "needs devices" in text and "memory limit" in text and "Secret vllm-api-key" in text and "replicas" in text
    r = helms["helm4"].template(paths.CHARTS / "vllm", [paths.CHARTS / "vllm" / "ci" / "keda-values.yaml"])
    assert any("hostPath" in p for p in runs_on_kind(r.objects, lambda *a: False))
    r = helms["helm4"].template(paths.CHARTS / "vllm", [paths.VALUES / "vllm" / "llama-3.1-8b-l4.yaml"])
    assert any("NVIDIA-L4" in p for p in runs_on_kind(r.objects, lambda *a: False))
