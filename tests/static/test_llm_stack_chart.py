"""The llm-stack umbrella: every combination of engines renders and passes the harness under both helms, the
gateway's backends come from the enabled subcharts, and only the gateway may reach the engines."""
import itertools
import tempfile
from pathlib import Path

import pytest

import render_cache
from llmcharts import paths
from llmcharts.check import judge
from llmcharts.invariants import dig, pod_templates, selector_matches

from conftest import STATS

STACK = paths.CHARTS / "llm-stack"
FULL = STACK / "ci" / "full-values.yaml"
ENGINES = ("vllm", "tgi", "kserve-llm", "ray-llm")


def combos():
    for bits in itertools.product([False, True], repeat=len(ENGINES)):
        yield pytest.param(dict(zip(ENGINES, bits)), id="+".join(e for e, on in zip(ENGINES, bits) if on) or "gateway-only")


@pytest.fixture(scope="module")
def combo_renders(helms):
    """Every combination's toggles file, and its renders under both helms (all started at once; the files in a
    folder of this module's own, which pytest's basetemp pruning cannot remove while they render)."""
    with tempfile.TemporaryDirectory(prefix="combos-") as tmp:
        out = {}
        for param in combos():
            enabled = param.values[0]
            toggles = Path(tmp) / f"{param.id}.yaml"
            toggles.write_text("".join(f"{e}:\n  enabled: {str(on).lower()}\n" for e, on in enabled.items()))
            out[param.id] = (toggles, [render_cache.submit(h, STACK, [FULL, toggles], release="combo")
                                       for h in helms.values()])
        yield out
        for _, futures in out.values():
            for f in futures:
                f.exception()


@pytest.mark.parametrize("enabled", list(combos()))
def test_every_engine_combination_passes_the_harness(enabled, combo_renders, crd_dirs, request):
    toggles, futures = combo_renders[request.node.callspec.id]
    rep = judge(STACK, [FULL, toggles], [f.result() for f in futures], crd_dirs)
    STATS["llm-stack engine combinations checked (helm 3 + helm 4)"] += 1
    assert rep.ok, rep.summary()
    backends = gateway_env(rep.objects, "BACKENDS").split()
    assert len(backends) == sum(enabled.values()), backends


def render(helms, *files, **set_values):
    return render_cache.render(helms["helm4"], STACK, [FULL, *files], release="s", namespace="ml",
                               set_values=set_values).objects


def gateway_env(objects, name):
    pod = next(p for p in pod_templates(objects) if p.labels.get("app.kubernetes.io/component") == "gateway")
    return next(e["value"] for c in pod.containers() for e in c.get("env") or [] if e["name"] == name)


def test_backends_come_from_the_enabled_subcharts(helms):
    objs = render(helms)
    assert gateway_env(objs, "BACKENDS").split() == [
        "qwen-0.5b=http://s-vllm.ml.svc:8000",
        "mistralai/Mistral-7B-Instruct-v0.3=http://s-tgi.ml.svc:80",
        "llama-8b=http://llama-8b-predictor.ml.svc:80",
        "qwen2.5-7b-instruct=http://s-ray-llm.ml.svc:8000",
    ]
    assert gateway_env(objs, "EXTRA_BACKENDS") == "llama-3-70b=http://vllm-llama.ml-serving.svc:8000"


def test_router_runs_in_multi_model_mode_with_its_metrics_port(helms):
    objs = render(helms)
    gw = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "s-llm-stack-gateway")
    router = gw["spec"]["template"]["spec"]["containers"][0]
    assert "--enable-igw" in router["args"] and "--prometheus-port=29000" in router["args"]
    svc = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "s-llm-stack-gateway")
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {"http": 8000, "metrics": 29000}
    sm = next(o for o in objs if o["kind"] == "ServiceMonitor" and o["metadata"]["name"] == "s-llm-stack-gateway")
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"


def test_only_the_gateway_reaches_the_engines(helms):
    objs = render(helms)
    gateway = next(p for p in pod_templates(objs) if p.labels.get("app.kubernetes.io/component") == "gateway")
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    assert {p["metadata"]["name"] for p in policies} == {"s-vllm", "s-tgi"}
    for np in policies:
        peers = [peer for rule in np["spec"]["ingress"] for peer in rule["from"]]
        assert all("podSelector" in p and p["podSelector"] for p in peers), "no open peer"
        assert any(selector_matches(p["podSelector"], gateway.labels) for p in peers)


def test_global_values_reach_every_subchart(helms):
    objs = render(helms)
    engines = [p for p in pod_templates(objs) if p.is_engine]
    assert len(engines) >= 3
    for p in engines:
        if any("nvidia.com/gpu" in (c.get("resources") or {}).get("limits", {}) for c in p.containers()):
            assert p.spec["nodeSelector"]["nvidia.com/gpu.product"] == "NVIDIA-L4", p.name


def test_httproute_in_front_of_the_gateway(helms):
    objs = render(helms, **{"gateway.httpRoute": {"enabled": True, "parentRefs": [{"name": "gw", "namespace": "infra"}],
                                                  "hostnames": ["llm.example.com"]}})
    route = next(o for o in objs if o["kind"] == "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"name": "gw", "namespace": "infra"}]
    rule = route["spec"]["rules"][0]
    assert rule["backendRefs"] == [{"name": "s-llm-stack-gateway", "port": 8000}]
    assert rule["timeouts"]["request"] == "1800s"
    assert rule["matches"][0]["path"] == {"type": "PathPrefix", "value": "/v1"}
    assert set(route["metadata"]["labels"]) >= {"app.kubernetes.io/name", "app.kubernetes.io/instance"}


def test_ingress_in_front_of_the_gateway(helms):
    ing = next(o for o in render(helms) if o["kind"] == "Ingress")
    path = ing["spec"]["rules"][0]["http"]["paths"][0]
    assert path["backend"]["service"] == {"name": "s-llm-stack-gateway", "port": {"name": "http"}}
    assert ing["spec"]["tls"][0]["secretName"] == "llm-tls"


def test_gateway_image_is_the_router_release_the_tests_run():
    """One vllm-router version everywhere: chart default tag and appVersion, the image's Dockerfile, the workflow
    that builds it, and the venv the end-to-end tests run."""
    import re
    import yaml
    values = yaml.safe_load((STACK / "values.yaml").read_text())
    chart = yaml.safe_load((STACK / "Chart.yaml").read_text())
    dockerfile = (paths.ROOT / "images" / "gateway" / "Dockerfile").read_text()
    workflow = (paths.ROOT / ".github" / "workflows" / "gateway-image.yaml").read_text()
    pinned = re.search(r"^vllm-router==(\S+)$", (paths.ROOT / "requirements-router.txt").read_text(), re.M).group(1)
    assert values["gateway"]["image"]["tag"] == chart["appVersion"] == pinned
    assert f"VLLM_ROUTER_VERSION={pinned}" in dockerfile
    assert set(re.findall(r"vllm-router:(\S+?)\"", workflow)) == {pinned}
