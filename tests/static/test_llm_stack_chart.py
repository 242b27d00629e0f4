"""The llm-stack umbrella: every combination of engines renders and passes the harness under both helms, the
gateway's backends come from the enabled subcharts, and only the gateway may reach the engines."""
import itertools

import pytest

import query
import render_cache
from llmcharts import paths, validate
from llmcharts.objects import selector_matches
from llmcharts.pods import pod_templates

from conftest import STATS

STACK = paths.CHARTS / "llm-stack"
FULL = STACK / "ci" / "full-values.yaml"
ENGINES = ("vllm", "tgi", "kserve-llm", "ray-llm")


def combos():
    for bits in itertools.product([False, True], repeat=len(ENGINES)):
        yield pytest.param(dict(zip(ENGINES, bits)), id="+".join(e for e, on in zip(ENGINES, bits) if on) or "gateway-only")


@pytest.fixture(scope="module")
def combo_renders(helms, tmp_path_factory):
    """Every combination's toggles file, its renders under both helms started at once."""
    out = {}
    for param in combos():
        enabled = param.values[0]
        toggles = tmp_path_factory.mktemp("combo") / "toggles.yaml"
        toggles.write_text("".join(f"{e}:\n  enabled: {str(on).lower()}\n" for e, on in enabled.items()))
        for h in helms.values():
            render_cache.submit(h, STACK, [FULL, toggles], release="combo")
        out[param.id] = toggles
    return out


@pytest.mark.parametrize("enabled", list(combos()))
def test_every_engine_combination_passes_the_harness(enabled, combo_renders, helms, crd_dirs, request):
    toggles = combo_renders[request.node.callspec.id]
    rep = render_cache.report(helms, STACK, [FULL, toggles], crd_dirs, release="combo")
    STATS["llm-stack engine combinations checked (helm 3 + helm 4)"] += 1
    assert rep.ok, rep.summary()
    cfg = gateway_config(rep.objects)
    assert len(cfg["backends"]) == sum(enabled.values()) + 1, cfg["backends"]  # + the extra backend


render = render_cache.Chart("llm-stack", base=[FULL], release="s", namespace="ml").objects


def gateway_config(objects):
    return query.gateway_config(objects)[1]


def gateway_containers(objects):
    spec = query.pod_spec(next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-gateway")))
    return {c["name"]: c for c in spec["containers"]}, spec


def test_backends_come_from_the_enabled_subcharts(helms):
    backends = {b["source"]: b for b in gateway_config(render(helms))["backends"]}
    assert {k: v["names"] for k, v in backends.items()} == {
        "vllm": ["qwen-0.5b"], "tgi": ["mistralai/Mistral-7B-Instruct-v0.3"], "kserve-llm": ["llama-8b"],
        "ray-llm": ["qwen2.5-7b-instruct"], "gateway.extraBackends[0]": ["llama-3-70b"]}
    # every replica of an engine is found through its Service's EndpointSlices
    assert {k: (v["discovery"], v.get("service"), v.get("namespace"), v.get("port")) for k, v in backends.items()} == {
        "vllm": ("endpoints", "s-vllm", "ml", 8000), "tgi": ("endpoints", "s-tgi", "ml", 80),
        "kserve-llm": ("endpoints", "llama-8b-predictor", "ml", 80), "ray-llm": ("url", None, None, None),
        "gateway.extraBackends[0]": ("url", None, None, None)}
    assert backends["ray-llm"]["url"] == "http://s-ray-llm.ml.svc:8000"


def test_aliases_and_adapters_are_routable_names(helms):
    objs = render(helms, **{"vllm.model.aliases": ["qwen-small"], "vllm.engine.lora":
                            {"enabled": True, "adapters": [{"name": "sql-lora", "path": "/models/sql"}]}})
    vllm = next(b for b in gateway_config(objs)["backends"] if b["source"] == "vllm")
    assert vllm["names"] == ["qwen-0.5b", "qwen-small", "sql-lora"]
    engine = next(c for p in pod_templates(objs) if p.is_engine and p.labels["app.kubernetes.io/name"] == "vllm"
                  for c in p.containers())
    i = engine["args"].index("--served-model-name")
    assert engine["args"][i + 1:i + 3] == ["qwen-0.5b", "qwen-small"]


def test_admin_api_is_not_reachable_from_outside_the_pod(helms):
    """The router listens on loopback; the only declared public port is the proxy's, which is what the Service,
    the Ingress and the HTTPRoute send traffic to; the metrics port is the router's Prometheus exporter."""
    objs = render(helms)
    containers, spec = gateway_containers(objs)
    router = containers["router"]
    assert "--host=127.0.0.1" in router["args"] and "--port=8001" in router["args"]
    assert [p["name"] for p in router.get("ports", [])] == ["metrics"]
    assert [p["containerPort"] for p in containers["proxy"]["ports"]] == [8000]
    assert "ports" not in containers["registrar"]
    svc = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "s-llm-stack-gateway")
    assert {p["name"]: (p["port"], p["targetPort"]) for p in svc["spec"]["ports"]} == {"http": (8000, "http"),
                                                                                        "metrics": (29000, "metrics")}
    haproxy = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "s-llm-stack-gateway")["data"]["haproxy.cfg"]
    public = haproxy.split("frontend openai")[1].split("backend ")[0]
    assert "bind 0.0.0.0:8000" in public and "http-request return status 404" in public
    assert "server router 127.0.0.1:8001" in haproxy and "bind 127.0.0.1:8002" in haproxy


def test_only_the_registrar_holds_a_token_and_it_may_only_watch_endpointslices(helms):
    objs = render(helms)
    containers, spec = gateway_containers(objs)
    assert spec["automountServiceAccountToken"] is False
    mounted = {n for n, c in containers.items() for m in c.get("volumeMounts") or [] if m["name"] == "serviceaccount"}
    assert mounted == {"registrar"}
    roles = [o for o in objs if o["kind"] in ("Role", "ClusterRole")]
    assert [r["rules"] for r in roles] == [[{"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                                             "verbs": ["list", "watch"]}]]
    binding = next(o for o in objs if o["kind"] == "RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": spec["serviceAccountName"], "namespace": "ml"}]


def test_router_runs_in_multi_model_mode_with_its_metrics_port(helms):
    objs = render(helms)
    router = gateway_containers(objs)[0]["router"]
    assert "--enable-igw" in router["args"] and "--prometheus-port=29000" in router["args"]
    sm = next(o for o in objs if o["kind"] == "ServiceMonitor" and o["metadata"]["name"] == "s-llm-stack-gateway")
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"


def test_only_the_gateway_reaches_the_engines(helms):
    objs = render(helms)
    gateway = next(p for p in pod_templates(objs) if p.labels.get("app.kubernetes.io/component") == "gateway")
    policies = {o["metadata"]["name"]: o for o in objs if o["kind"] == "NetworkPolicy"}
    assert set(policies) == {"s-vllm", "s-tgi", "s-kserve-llm", "s-ray-llm", "s-llm-stack-gateway"}
    for name in ("s-vllm", "s-tgi", "s-kserve-llm", "s-ray-llm"):
        peers = [peer for rule in policies[name]["spec"]["ingress"] for peer in rule["from"]]
        assert all("podSelector" in p and p["podSelector"] for p in peers), "no open peer"
        assert any(selector_matches(p["podSelector"], gateway.labels) for p in peers)


def test_network_policies_are_on_by_default(helms):
    """Without any values file: the gateway's and the engine's policies exist; the engine admits the gateway
    and refuses a pod without the gateway's labels (judged over the rendered objects)."""
    objs = render_cache.Chart("llm-stack", release="d", namespace="ml").objects(
        helms, **{"vllm.model": {"name": "Qwen/Qwen2.5-0.5B-Instruct"}})
    policies = {o["metadata"]["name"]: o for o in query.of_kind(objs, "NetworkPolicy")}
    assert set(policies) == {"d-vllm", "d-llm-stack-gateway"}
    gateway = next(p for p in pod_templates(objs) if p.labels.get("app.kubernetes.io/component") == "gateway")
    engine = policies["d-vllm"]["spec"]
    peers = [peer for rule in engine["ingress"] for peer in rule["from"]]
    assert any(selector_matches(p["podSelector"], gateway.labels) for p in peers)
    stranger = {"app.kubernetes.io/name": "curl", "app.kubernetes.io/component": "client"}
    assert not any(selector_matches(p["podSelector"], stranger) for p in peers)
    public = policies["d-llm-stack-gateway"]["spec"]["ingress"]
    assert public[0] == {"ports": [{"port": 8000, "protocol": "TCP"}]}  # the front door: any source
    assert public[1]["ports"] == [{"port": 29000, "protocol": "TCP"}] and public[1]["from"] == [{"podSelector": {}}]


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
    (rep,) = validate.validate_objects([route], paths.K8S_VERSIONS)  # Gateway API's HTTPRoute schema and CEL rules
    assert rep.validated_against and not rep.errors, rep.errors


def test_ingress_in_front_of_the_gateway(helms):
    ing = query.find(render(helms), "Ingress")
    path = ing["spec"]["rules"][0]["http"]["paths"][0]
    assert path["path"] == "/v1" and path["pathType"] == "Prefix"
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
