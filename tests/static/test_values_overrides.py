"""Legitimate overrides platform teams type render as meant, in every chart and under both helms (issue 14, class 6):
extra volumes and mounts, init containers, sidecars and extra objects; Ray's scheduling knobs; a KServe
InferenceService's own env; a PDB by minAvailable alone; long umbrella release names; the umbrella's
vllm.namespaceOverride; OpenShift-style runAsUser: null; oci:// model URIs. Each render must also pass the whole
harness (helm 3 = helm 4, strict schemas, every invariant)."""
from __future__ import annotations

import pytest
import yaml

import render_cache
from llmcharts import paths
from query import env, find, pod_spec

from conftest import STATS

BASES = {c.stem: (yaml.safe_load(c.read_text()) or {}).get("base") or {}
         for c in (paths.ROOT / "tests" / "bad_values").glob("*.yaml")}
EXTRAS = {
    "extraVolumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}],
    "extraVolumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
    "initContainers": [{"name": "warmup", "image": "busybox:1.36", "command": ["true"]}],
    "sidecars": [{"name": "log-shipper", "image": "busybox:1.36", "command": ["sleep", "infinity"]}],
}
OBJECTS = {"extraObjects": [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "{{ .Release.Name }}-extra"}, "data": {"a": "b"}},
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra-text\ndata:\n  c: d\n",
]}
# Where each chart's pod values sit, and the pod that carries them.
SITES = {
    "vllm": ({**EXTRAS, **OBJECTS}, "Deployment"),
    "tgi": ({**EXTRAS, **OBJECTS}, "Deployment"),
    "ray-llm": ({"worker": EXTRAS, **OBJECTS}, "RayService"),
    "llm-stack": ({"gateway": EXTRAS, **OBJECTS}, "Deployment"),
    "kserve-llm": ({**{k: v for k, v in EXTRAS.items() if k != "initContainers"}, **OBJECTS}, "ServingRuntime"),
}


def merged(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def harness(helms, chart: str, values: dict, tmp_path, release: str = "ovr", namespace: str = "llm-test"):
    """The report (both helms, strict schemas, invariants) of a chart with these values; it must pass."""
    f = tmp_path / f"{chart}-values.yaml"
    f.write_text(yaml.safe_dump(merged(BASES.get(chart, {}), values)))
    rep = render_cache.report(helms, paths.CHARTS / chart, [f], release=release, namespace=namespace)
    assert rep.ok, rep.summary()
    STATS["bad input: legitimate overrides rendered and checked"] += 1
    return rep.objects


def pod_of(objs, kind):
    o = find(objs, kind)
    if kind == "RayService":
        return o["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]
    if kind == "ServingRuntime":
        return o["spec"]
    if kind == "Deployment":  # the umbrella's own: the gateway's
        deployments = [d for d in objs if d["kind"] == "Deployment"]
        o = next((d for d in deployments if d["metadata"]["name"].endswith("-gateway")), deployments[0])
    return pod_spec(o)


@pytest.mark.parametrize("chart", sorted(SITES))
def test_extra_volumes_containers_and_objects_in_every_chart(chart, helms, tmp_path):
    values, kind = SITES[chart]
    objs = harness(helms, chart, values, tmp_path)
    pod = pod_of(objs, kind)
    assert {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}} in pod["volumes"]
    assert {"name": "scratch", "mountPath": "/scratch"} in pod["containers"][0]["volumeMounts"]
    assert pod["containers"][-1]["name"] == "log-shipper"
    if "initContainers" in (values.get("worker") or values.get("gateway") or values):
        assert [c["name"] for c in pod["initContainers"]][-1] == "warmup"
    names = {o["metadata"]["name"] for o in objs if o["kind"] == "ConfigMap"}
    assert {"ovr-extra", "ovr-extra-text"} <= names


def test_a_sidecar_may_not_take_a_chart_container_name(helms):
    err = render_cache.Chart("vllm", base=[]).error_everywhere(
        helms, model={"name": "m"}, sidecars=[{"name": "vllm", "image": "busybox:1.36"}])
    assert "sidecars[0].name" in err


def test_kserve_initcontainers_go_to_the_predictor(helms, tmp_path):
    objs = harness(helms, "kserve-llm", EXTRAS, tmp_path)
    pred = find(objs, "InferenceService")["spec"]["predictor"]
    assert [c["name"] for c in pred["initContainers"]] == ["warmup"]
    assert "volumes" not in pred or all(v["name"] != "scratch" for v in pred["volumes"])  # the runtime carries them


def test_ray_groups_take_the_scheduling_knobs(helms, tmp_path):
    knobs = {"runtimeClassName": "nvidia", "priorityClassName": "llm-high", "nodeSelector": {"pool": "gpu"},
             "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
             "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                            "whenUnsatisfiable": "ScheduleAnyway",
                                            "labelSelector": {"matchLabels": {"app": "x"}}}]}
    objs = harness(helms, "ray-llm", {"head": knobs, "worker": knobs}, tmp_path)
    spec = find(objs, "RayService")["spec"]["rayClusterConfig"]
    for pod in (spec["headGroupSpec"]["template"]["spec"], spec["workerGroupSpecs"][0]["template"]["spec"]):
        assert pod["runtimeClassName"] == "nvidia" and pod["priorityClassName"] == "llm-high"
        assert pod["nodeSelector"]["pool"] == "gpu"
        assert {"key": "spot", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
        assert pod["topologySpreadConstraints"][0]["maxSkew"] == 1


def test_pdb_by_min_available_alone(helms, tmp_path):
    objs = harness(helms, "vllm", {"pdb": {"minAvailable": 1}, "replicaCount": 2}, tmp_path)
    assert find(objs, "PodDisruptionBudget")["spec"].get("maxUnavailable") is None
    assert find(objs, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    objs = harness(helms, "vllm", {}, tmp_path)
    assert find(objs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1  # the default, unchanged


def test_umbrella_release_names_of_53_characters_keep_names_apart(helms, tmp_path):
    release = "a-platform-team-release-name-of-fifty-three-character"[:53]
    assert len(release) == 53
    objs = harness(helms, "llm-stack", {"tgi": {"enabled": True, "engine": {"modelId": "mistralai/Mistral-7B"}}},
                   tmp_path, release=release)
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert len(names) == len(set(names))
    assert all(len(n) <= 63 for k, n in names if k in ("Service", "Pod"))  # DNS labels (the rest: subdomains)
    pods = [n for k, n in names if k == "Pod"]
    assert len(pods) == len(set(pods)) >= 2


def test_umbrella_routes_to_the_engine_namespace_override(helms, tmp_path):
    objs = harness(helms, "llm-stack", {"vllm": {"namespaceOverride": "models"}}, tmp_path)
    from query import gateway_config
    _, cfg = gateway_config(objs)
    vllm = next(b for b in cfg["backends"] if b["source"] == "vllm")
    assert vllm["namespace"] == "models"
    assert find(objs, "Deployment", next(o["metadata"]["name"] for o in objs if o["kind"] == "Deployment"
                                         and o["metadata"].get("namespace") == "models"))


@pytest.mark.parametrize("chart", sorted(SITES))
def test_openshift_run_as_user_null_on_every_pod(chart, helms, tmp_path):
    from llmcharts.pods import pod_templates
    values = {"podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None}}
    if chart == "llm-stack":
        values = {"gateway": values, "vllm": values}
    objs = harness(helms, chart, values, tmp_path)
    pods = pod_templates(objs)
    assert pods
    for p in pods:
        for key in ("runAsUser", "runAsGroup"):
            assert key not in (p.spec.get("securityContext") or {}), f"{p.name} sets {key}"


def test_kserve_oci_model_uri(helms, tmp_path):
    objs = harness(helms, "kserve-llm", {"inferenceServices": [{"name": "llama", "storageUri": "oci://registry.example.com/models/llama:1.0"}]}, tmp_path)
    assert find(objs, "InferenceService")["spec"]["predictor"]["model"]["storageUri"].startswith("oci://")


def test_kserve_per_inference_service_extra_env(helms, tmp_path):
    objs = harness(helms, "kserve-llm", {"inferenceServices": [
        {"name": "llama", "storageUri": "s3://models/llama-3-8b", "extraEnv": [{"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"}]}]},
        tmp_path)
    model = find(objs, "InferenceService")["spec"]["predictor"]["model"]
    assert env(model)["VLLM_LOGGING_LEVEL"]["value"] == "DEBUG"


def test_flags_the_chart_does_not_own_pass_the_guard(helms, tmp_path):
    """The duplicate-flag and secret guards read flags as the engine does, and let through what it does not own:
    flags with values in separate items or after "=", values with spaces, dotted keys of unowned flags, vLLM's -O3,
    names with "token" or "credentials" that hold no secret (a threshold, a switch)."""
    args = ["--enforce-eager", "--seed", "42", "--chat-template={% if a %}b c{% endif %}",
            "--limit-mm-per-prompt.image=2", "-O3", "--tokenizer-mode=auto", "--max-logprobs=5",
            "--allow-credentials", "--long-prefill-token-threshold=512", "--return-tokens-as-token-ids"]
    objs = harness(helms, "vllm", {"extraArgs": args}, tmp_path)
    assert find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"][-len(args):] == args
    objs = harness(helms, "llm-stack", {"gateway": {"extraArgs": ["--log-level", "debug"]}}, tmp_path)
    router = next(c for c in pod_spec(next(o for o in objs if o["kind"] == "Deployment"
                                           and o["metadata"]["name"].endswith("-gateway")))["containers"]
                  if c["name"] == "router")
    assert router["args"][-2:] == ["--log-level", "debug"]


@pytest.mark.parametrize("chart", ["vllm", "tgi"])
def test_a_mig_slice_is_requested_tolerated_and_fit_checked(chart, helms, tmp_path):
    """accelerator.migProfile: the pod asks for one nvidia.com/mig-<profile> (request = limit), tolerates the node
    pool's nvidia.com/gpu taint, and passes every invariant (which count a MIG slice as the pod's GPU)."""
    objs = harness(helms, chart, {"accelerator": {"type": "nvidia", "count": 1, "migProfile": "3g.40gb"}}, tmp_path)
    spec = pod_of(objs, "Deployment")
    res = next(c for c in spec["containers"] if "nvidia.com/mig-3g.40gb" in (c.get("resources") or {}).get("limits", {}))
    assert res["resources"]["requests"]["nvidia.com/mig-3g.40gb"] == res["resources"]["limits"]["nvidia.com/mig-3g.40gb"] == 1
    assert "nvidia.com/gpu" not in res["resources"]["limits"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]


def test_the_fit_check_uses_the_mig_slice_memory(helms, tmp_path):
    """Llama 3.1 8B in bf16 (16 GB of weights) fits a whole A100 80GB but not its 1g.10gb slice."""
    profile = yaml.safe_load((paths.VALUES / "vllm" / "llama-3.1-8b-l4.yaml").read_text())["model"]["profile"]
    values = merged(BASES["vllm"], {"model": {"profile": profile}, "engine": {"maxModelLen": 8192},
                                    "accelerator": {"type": "nvidia", "count": 1, "product": "NVIDIA-A100-SXM4-80GB"}})
    f = tmp_path / "whole.yaml"
    f.write_text(yaml.safe_dump(values))
    assert render_cache.report(helms, paths.CHARTS / "vllm", [f]).ok
    values["accelerator"]["migProfile"] = "1g.10gb"
    f.write_text(yaml.safe_dump(values))
    for helm in helms.values():
        r = helm.template(paths.CHARTS / "vllm", [f], release="ovr", namespace="llm-test")
        assert not r.ok and "model.profile" in r.error and "MIG 1g.10gb slice" in r.error, r.error
