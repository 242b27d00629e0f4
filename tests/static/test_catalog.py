"""The values catalog: every preset is documented at its top, targets the chart of its folder, and is listed in
values/README.md; the catalog holds the seed's four systems and 30+ GPU presets across the model families and GPUs
teams deploy, each carrying the planner's profile of its model and passing the chart's fit check."""
import re

import pytest
import yaml

import render_cache
from llmcharts import catalog, discovery, paths

PRESETS = discovery.presets()
README = (paths.VALUES / "README.md").read_text()


@pytest.mark.parametrize("case", PRESETS, ids=lambda c: c.id)
def test_preset_is_documented_at_its_top(case):
    head = case.values.read_text().split("\n\n")[0]
    assert re.search(rf"^# chart: {re.escape(case.chart.name)}$", head, re.M), "first line must name the chart"
    assert re.search(r"^# hardware: \S", head, re.M)
    assert f"helm install" in case.values.read_text() and f"charts/{case.chart.name}" in case.values.read_text()
    assert len([l for l in head.splitlines() if l.startswith("# -")]) >= 1, "say why the settings are what they are"


@pytest.mark.parametrize("case", PRESETS, ids=lambda c: c.id)
def test_preset_is_listed_in_the_catalog(case):
    rel = case.values.relative_to(paths.VALUES).as_posix()
    assert f"]({rel})" in README


def test_catalog_has_the_seed_systems_and_more():
    seed = [l for l in README.splitlines() if l.startswith("| [") and l.rstrip().endswith("|") and re.search(r"`[^`]+`", l.split("|")[5])]
    assert {l.split("|")[2].strip() for l in seed} >= {"vllm", "tgi", "kserve-llm", "ray-llm"}
    others = [l for l in README.splitlines() if l.startswith("| [") and not l.split("|")[5].strip()
              and "CPU" not in l.split("|")[4]]  # GPU presets beyond the seed
    assert len(others) >= 4
    assert all((paths.VALUES / m).exists() for m in re.findall(r"\]\(([^)]+)\)", README))


# -- the sized catalog (src/llmcharts/catalog.py, scripts/gen_catalog.py)

GPU_PRESETS = [c for c in PRESETS if c.values.relative_to(paths.VALUES).as_posix() in catalog.BY_FILE]


def test_catalog_profiles_and_readme_are_current():
    """Every preset's profile is what the planner computes today from its config and the preset's own engine
    values, every catalog preset exists, and values/README.md is generated from them (run scripts/gen_catalog.py)."""
    assert catalog.update(write=False) == []


def test_every_gpu_preset_is_in_the_catalog_with_a_profile():
    for case in PRESETS:
        values = yaml.safe_load(case.values.read_text())
        acc = (values.get("worker") or {}).get("accelerator") if case.chart.name == "ray-llm" else values.get("accelerator")
        if case.chart.name == "llm-stack" or (acc or {}).get("type") == "cpu":
            continue
        assert case.values.relative_to(paths.VALUES).as_posix() in catalog.BY_FILE, f"{case.id}: not sized"
    for spec in catalog.SPECS:
        values = yaml.safe_load((paths.VALUES / spec.file).read_text())
        holder = values["inferenceServices"][0] if spec.file.startswith("kserve-llm/") else values["model"]
        assert holder["profile"]["weightsBytes"] > 0, spec.file


def test_catalog_covers_the_families_and_gpus_platform_teams_use():
    assert len(catalog.SPECS) >= 30
    text = " ".join(s.file for s in catalog.SPECS)
    for family in ("llama-3.1", "llama-3.2", "qwen2.5", "qwen3", "mistral", "mixtral", "gemma", "phi-4",
                   "deepseek-r1-distill", "gpt-oss"):
        assert family in text, family
    gpus = set()
    for spec in catalog.SPECS:
        values = yaml.safe_load((paths.VALUES / spec.file).read_text())
        gpus.add(catalog.engine_args(catalog.chart_of(spec), values)["product"] or spec.check_on)
    for gpu in ("NVIDIA-L4", "NVIDIA-A10G", "NVIDIA-L40S", "NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3",
                "NVIDIA-H200", "AMD_Instinct_MI300X_OAM"):
        assert gpu in gpus, gpu


@pytest.mark.parametrize("spec", [s for s in catalog.SPECS if s.check_on], ids=lambda s: s.file)
def test_presets_without_a_product_fit_the_smallest_gpu_they_name(spec, helms):
    """A preset that asks for any GPU of a class is fit-checked on the smallest of that class (the render matrix
    checks the others on the product they select)."""
    chart = paths.CHARTS / catalog.chart_of(spec)
    acc = {"accelerator.product": spec.check_on}
    r = render_cache.render(helms["helm4"], chart, [paths.VALUES / spec.file], set_values=acc)
    assert r.ok
    values = yaml.safe_load((paths.VALUES / spec.file).read_text())
    p, _, _ = catalog.plan_for(spec, values)
    assert p.fits, p.reasons


def test_the_fit_check_refuses_a_catalog_preset_on_a_gpu_too_small(helms):
    """The breaking case for the catalog: Llama 3.1 70B on 2 x H200 moved to 2 x L4 no longer fits."""
    f = paths.VALUES / "vllm" / "llama-3.1-70b-h200x2.yaml"
    err = render_cache.Chart("vllm").error(helms, f, **{"accelerator.product": "NVIDIA-L4"})
    assert "model.profile: the model does not fit" in err and "NVIDIA-L4" in err
