"""Offline checks of what the cluster tests install (no cluster needed; these run in every suite):

- every chart has a ct overlay (tests/kind/ct/<chart>.yaml) and a kind target (tests/kind/values/), and target
  selection (LLMCHARTS_E2E_TARGETS / _CHARTS, kind vs gpu) picks what it says;
- each target (its base values file + the target file) and each overlay over every ci/*-values.yaml of its chart
  renders under helm 3 and helm 4, validates strictly and holds every invariant, like the render matrix;
- what it renders can run on the kind cluster of scripts/kind-create.sh (src/llmcharts/kindplan.py: GPU requests
  within the mock pools, CPU-capable images, no hostPath, runner-sized, Secrets that something creates), and has a
  `helm test` pod aimed at a Service of the release and a model an engine serves;
- the operators and images an overlay asks for are ones scripts/kind-prepare.sh knows;
- every GPU preset's pods fit the fake fleet (tests/kind/fleet.yaml) the scheduling test creates.
"""
import re
import subprocess

import pytest

import render_cache
from llmcharts import fleet, kindplan, paths
from llmcharts.objects import gpu_resources
from llmcharts.pods import pod_templates

TARGETS = kindplan.all_targets()
CT_CASES = [(overlay, ci) for overlay in kindplan.overlays().values()
            for ci in sorted((paths.CHARTS / overlay.stem / "ci").glob("*-values.yaml"))]
GPU_PRESETS = [p for p in sorted(paths.VALUES.glob("*/*.yaml")) if (paths.CHARTS / p.parent.name).is_dir()]
API_KEY_ENV = re.compile(r"API_?KEY")


def test_every_chart_has_an_overlay_and_a_kind_target():
    assert set(kindplan.overlays()) == set(kindplan.CHARTS), "one tests/kind/ct/<chart>.yaml per chart"
    kind_charts = {t.chart for t in TARGETS if t.cluster == "kind"}
    assert kind_charts == set(kindplan.CHARTS), f"kind targets cover {sorted(kind_charts)}"


def test_coverage_check_sees_a_missing_overlay(tmp_path, monkeypatch):
    """The coverage check can fail: an overlay directory without tgi's overlay."""
    for name, path in kindplan.overlays().items():
        if name != "tgi":
            (tmp_path / path.name).write_text(path.read_text())
    monkeypatch.setattr(kindplan, "CT_OVERLAYS", tmp_path)
    assert set(kindplan.overlays()) != set(kindplan.CHARTS)


def test_targets_are_well_formed():
    assert {t.cluster for t in TARGETS} == {"kind", "gpu"}, "want kind targets and a real-GPU target"
    for t in TARGETS:
        assert (t.chart_dir / "Chart.yaml").exists(), f"{t.path.name}: no chart {t.chart!r}"
        assert t.base.is_file(), f"{t.path.name}: base {t.base} does not exist"
        text = t.path.read_text()
        assert "helm upgrade --install" in text or "scripts/test -m kind" in text, f"{t.path.name}: say how it is run"


def test_target_selection():
    kind = kindplan.targets("kind", {})
    assert kind and all(t.cluster == "kind" for t in kind)
    assert all(t.cluster == "gpu" for t in kindplan.targets("current", {}))
    only = kindplan.targets("kind", {"LLMCHARTS_E2E_CHARTS": "tgi, ray-llm"})
    assert {t.chart for t in only} == {"tgi", "ray-llm"}
    named = kindplan.targets("kind", {"LLMCHARTS_E2E_TARGETS": kind[0].name})
    assert [t.name for t in named] == [kind[0].name]
    assert kindplan.targets("kind", {"LLMCHARTS_E2E_TARGETS": "no-such-target"}) == []


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_target_renders_validates_and_holds_invariants(target, helms, crd_dirs):
    rep = render_cache.report(helms, target.chart_dir, target.values, crd_dirs, release=target.name[:40])
    assert rep.ok, rep.summary()
    assert not kindplan.hook_problems(rep.objects), kindplan.hook_problems(rep.objects)
    if target.cluster == "kind":
        api_key = lambda env, secret, key: bool(API_KEY_ENV.search(env))  # noqa: E731 (the e2e test creates them)
        problems = kindplan.runs_on_kind(rep.objects, api_key)
        assert not problems, "\n".join(problems)
        assert any(gpu_resources(c) for p in pod_templates(rep.objects) for c in p.containers()), \
            f"{target.name} requests no GPU: the GPU scheduling checks would have nothing to check"


@pytest.mark.parametrize("overlay,ci", CT_CASES, ids=lambda x: getattr(x, "name", str(x)))
def test_ct_install_values_render_and_fit_kind(overlay, ci, helms, crd_dirs):
    rep = render_cache.report(helms, paths.CHARTS / overlay.stem, [ci, overlay], crd_dirs, release="ct")
    assert rep.ok, rep.summary()
    created = kindplan.overlay_secrets(overlay)
    problems = kindplan.runs_on_kind(rep.objects, lambda env, secret, key: (secret, key) in created)
    problems += kindplan.hook_problems(rep.objects) if any(
        o.get("kind") in ("Deployment", "InferenceService", "RayService", "RayCluster") and
        o.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/component") != "gateway"
        for o in rep.objects) else []
    assert not problems, "\n".join(problems)


def test_overlays_name_their_chart_and_known_operators_and_images():
    prepare = subprocess.run([str(kindplan.PREPARE_SCRIPT), "--list"], capture_output=True, text=True, timeout=30)
    assert prepare.returncode == 0, prepare.stderr
    known = {tuple(line.split()[:2]) for line in prepare.stdout.splitlines() if line.strip()}
    for chart, overlay in kindplan.overlays().items():
        assert kindplan.header(overlay).get("chart") == chart, f"{overlay.name}: # chart: {chart}"
        assert list((paths.CHARTS / chart / "ci").glob("*-values.yaml")), f"{overlay.name}: no ci/ values"
        for kind, names in kindplan.chart_needs(chart).items():
            for name in names:
                assert (kind.rstrip("s"), name) in known, f"{overlay.name}: scripts/kind-prepare.sh has no {kind} {name}"


def test_fit_check_catches_what_kind_cannot_run(helms):
    """The fit check can fail: the unmodified GPU ci files (CUDA image, 2 x H100 with 64Gi, hostPath) do not fit."""
    r = render_cache.template(helms["helm4"], paths.CHARTS / "vllm", [paths.CHARTS / "vllm" / "ci" / "full-values.yaml"])
    text = "\n".join(kindplan.runs_on_kind(r.objects, lambda *a: False))
    assert "needs devices" in text and "memory limit" in text and "Secret vllm-api-key" in text and "replicas" in text
    r = render_cache.template(helms["helm4"], paths.CHARTS / "vllm", [paths.CHARTS / "vllm" / "ci" / "keda-values.yaml"])
    assert any("hostPath" in p for p in kindplan.runs_on_kind(r.objects, lambda *a: False))
    r = render_cache.template(helms["helm4"], paths.CHARTS / "vllm", [paths.VALUES / "vllm" / "llama-3.1-8b-l4.yaml"])
    assert any("NVIDIA-L4" in p for p in kindplan.runs_on_kind(r.objects, lambda *a: False))
    r = render_cache.template(helms["helm4"], paths.CHARTS / "kserve-llm", [paths.CHARTS / "kserve-llm" / "ci" / "full-values.yaml"])
    text = "\n".join(kindplan.runs_on_kind(r.objects, lambda *a: False))
    assert "priority class inference" in text and "pvc://" in text and "LLMInferenceService" in text


def test_hook_check_sees_a_hook_aimed_elsewhere(helms):
    r = render_cache.template(helms["helm4"], paths.CHARTS / "tgi", [paths.CHARTS / "tgi" / "ci" / "minimal-values.yaml"])
    assert not kindplan.hook_problems(r.objects)
    for o in r.objects:
        if o.get("kind") == "Pod":
            for e in o["spec"]["containers"][0]["env"]:
                if e["name"] == "MODEL":
                    e["value"] = "not-served"
    assert any("not-served" in p for p in kindplan.hook_problems(r.objects))
    assert kindplan.hook_problems([o for o in r.objects if o.get("kind") != "Pod"]) == ["no helm test pod "
                                                                                     "(llm-common.tests.openaiPod)"]


# ------------------------------------------------------------------ the fake fleet

@pytest.mark.parametrize("preset", GPU_PRESETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_gpu_preset_fits_the_fake_fleet(preset, helms):
    r = render_cache.template(helms["helm4"], paths.CHARTS / preset.parent.name, [preset])
    assert not r.error, r.error
    fl = kindplan.fleet()
    twins = fleet.twins(r.objects, fl["kwokTaint"], "t")
    placed, problems = fleet.place(twins, fleet.nodes(fl))
    assert not problems, "\n".join(problems)
    for tw in twins:  # each twin landed on a node with the product it selects
        node = next(n for n in fleet.nodes(fl) if n["metadata"]["name"] == placed[tw.name])
        for key, value in tw.pod["spec"]["nodeSelector"].items():
            assert node["metadata"]["labels"].get(key) == value


PRODUCT_LABELS = ("nvidia.com/gpu.product", "amd.com/gpu.product-name")  # GPU Feature Discovery's, AMD's labeller's


def test_fleet_covers_every_gpu_product_the_presets_select(helms):
    products = set()
    for preset in GPU_PRESETS:
        r = render_cache.template(helms["helm4"], paths.CHARTS / preset.parent.name, [preset])
        products |= {v for p in pod_templates(r.objects) for k, v in (p.spec.get("nodeSelector") or {}).items()
                     if k in PRODUCT_LABELS}
    fleet_products = {v for pool in kindplan.fleet()["pools"] for k, v in pool["labels"].items() if k in PRODUCT_LABELS}
    assert products and products <= fleet_products, products - fleet_products


def test_fleet_placement_refuses_a_missing_product_and_too_many_gpus(helms):
    """The placement can fail: a preset asking for a product no node has, and a Ray cluster one node short."""
    fl = kindplan.fleet()
    r = render_cache.template(helms["helm4"], paths.CHARTS / "vllm", [paths.VALUES / "vllm" / "llama-3.1-8b-l4.yaml"],
                                set_values={"accelerator.product": "NVIDIA-B200"})
    _, problems = fleet.place(fleet.twins(r.objects, fl["kwokTaint"], "t"), fleet.nodes(fl))
    assert problems and "node selector" in problems[0]
    short = {**fl, "pools": [dict(p, nodes=3) if p["name"] == "h100" else p for p in fl["pools"]]}
    r = render_cache.template(helms["helm4"], paths.CHARTS / "ray-llm", [paths.VALUES / "ray-llm" / "llama-3-70b-tp8-pp4-h100x32.yaml"])
    _, problems = fleet.place(fleet.twins(r.objects, fl["kwokTaint"], "t"), fleet.nodes(short))
    assert len(problems) == 1 and "nvidia.com/gpu" in problems[0]
