"""KubeRay types serveConfigV2 as a plain string, so the CRD check cannot see inside it. Every serve config the
ray-llm chart renders (all ci values and presets) is validated here with the pinned Ray's own models, in the engine
venv (ray[serve] of the image's Ray version; src/llmcharts/ray_serve_check.py), without starting Ray: Serve's
ServeDeploySchema with unknown keys refused, Ray Serve LLM's LLMServingArgs / LLMConfig, vLLM's engine argument
names through LLMConfig.get_engine_config(), and Serve's deployment options. Broken renders show that misspelled
keys are caught."""
import json

import pytest
import yaml

import render_cache
from llmcharts import discovery, engine_env, paths, ray_serve_check

from conftest import STATS

pytestmark = pytest.mark.engine

CHART = paths.CHARTS / "ray-llm"
CASES = [c for c in discovery.cases() if c.chart.name == "ray-llm"]
RAY_VERSION = yaml.safe_load((CHART / "values.yaml").read_text())["ray"]["version"]


def serve_configs(objects) -> list[str]:
    out = [o["spec"]["serveConfigV2"] for o in objects if o["kind"] == "RayService"]
    out += [o["data"]["serve.yaml"] for o in objects if o["kind"] == "ConfigMap" and "serve.yaml" in o.get("data", {})]
    return out


def worker_gpus(objects) -> int:
    """GPUs of the worker group as rendered: pods (maxReplicas with the autoscaler) x GPUs per pod."""
    spec = next((o["spec"]["rayClusterConfig"] if o["kind"] == "RayService" else o["spec"])
                for o in objects if o["kind"] in ("RayService", "RayCluster"))
    total = 0
    for w in spec["workerGroupSpecs"]:
        gpus = sum(int(v) for c in w["template"]["spec"]["containers"]
                   for k, v in (c.get("resources", {}).get("limits") or {}).items() if k.endswith("/gpu"))
        total += (w["maxReplicas"] if spec.get("enableInTreeAutoscaling") else w["replicas"]) * gpus
    return total


# Broken variants of the rendered config: (id, values for --set-json, substring expected in an error). Each key is
# misspelled the way a user would, through the chart's escape hatches (the structured values are schema-checked).
BROKEN = [
    ("misspelled engine key", {"engine.extraKwargs": {"tensor_paralel_size": 2}},
     "Unknown engine argument: tensor_paralel_size"),
    ("misspelled LLMConfig key", {"llm.extraConfig": {"lora_confg": {"max_num_adapters_per_replica": 2}}},
     "lora_confg"),
    ("misspelled ingress deployment key", {"serve.ingressDeploymentConfig": {"max_ongoing_request": 10}},
     "max_ongoing_request: not a field of Ray's DeploymentSchema"),
    ("misspelled autoscaling key", {"serve.ingressDeploymentConfig": {"autoscaling_config": {"min_replica": 1}}},
     "min_replica: not a field of Ray's AutoscalingConfig"),
    ("wrong type of a Serve option", {"serve.ingressDeploymentConfig": {"max_ongoing_requests": "many"}},
     "max_ongoing_requests"),
]


@pytest.fixture(scope="module")
def checked(report_for, helms):
    """Every rendered serve config plus the broken variants, validated in one engine-venv process."""
    try:
        python = engine_env.engine_python()
    except Exception as e:  # noqa: BLE001 - the only reason to skip: no engine venv can be built here
        pytest.skip(f"engine venv cannot be created: {e}")
    configs, renders = {}, {}
    for case in CASES:
        rep = report_for(case)
        assert not rep.render_errors, rep.summary()
        found = serve_configs(rep.objects)
        assert len(found) == 1, f"{case.id}: expected one serve config, found {len(found)}"
        configs[case.id] = found[0]
        renders[case.id] = rep.objects
    minimal = CHART / "ci" / "minimal-values.yaml"
    started = [render_cache.submit(helms["helm4"], CHART, [minimal], set_values=values) for _, values, _ in BROKEN]
    for (name, _, _), future in zip(BROKEN, started):
        r = future.result()
        assert r.ok, f"{name}: the chart refused it before Ray could: {r.error}"
        (configs[f"broken:{name}"],) = serve_configs(r.objects)
    # a typo in the Serve part itself (ignored by Ray's own schema, refused here)
    configs["broken:misspelled route prefix"] = configs[CASES[0].id].replace("route_prefix:", "rout_prefix:")
    return ray_serve_check.run(configs, python=python), renders


def test_the_validator_runs_the_pinned_ray(checked):
    res, _ = checked
    assert res["ray"] == RAY_VERSION, f"engine venv has Ray {res['ray']}, the chart renders for {RAY_VERSION}"
    assert len(CASES) >= 5


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_rendered_serve_config_passes_rays_own_models(case, checked):
    res, _ = checked
    result = res["results"][case.id]
    assert result["errors"] == [], "\n".join(result["errors"])
    assert result["llm_configs"], "no Ray Serve LLM application found"
    STATS["flags: ray-llm serve configs validated by Ray's own models"] += 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_ray_places_tp_x_pp_gpus_within_the_worker_group(case, checked):
    """What the engine asks Ray for (num_devices, one-GPU bundles) is TP x PP, and the worker group has room."""
    res, renders = checked
    for llm in res["results"][case.id]["llm_configs"]:
        need = llm["tensor_parallel_size"] * llm["pipeline_parallel_size"]
        assert llm["num_devices"] == need == llm["bundles"] == llm["bundle_gpus"], llm
        assert need <= worker_gpus(renders[case.id]), llm


@pytest.mark.parametrize("name,expected", [(n, e) for n, _, e in BROKEN] + [("misspelled route prefix", "rout_prefix")])
def test_a_misspelled_key_is_caught(name, expected, checked):
    res, _ = checked
    errors = res["results"][f"broken:{name}"]["errors"]
    assert any(expected in e for e in errors), json.dumps(errors, indent=1)


def test_accelerator_types_match_rays(checked):
    """The schema's llm.acceleratorType choices are Ray's NVIDIA and AMD GPU types, case and all."""
    res, _ = checked
    schema = json.loads((CHART / "values.schema.json").read_text())
    ours = [t for t in schema["properties"]["llm"]["properties"]["acceleratorType"]["enum"] if t]
    assert len(set(ours)) == len(ours)
    assert sorted(ours) == sorted(res["gpu_accelerator_types"])
