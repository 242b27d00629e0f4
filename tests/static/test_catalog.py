"""The values catalog: every preset is documented at its top, targets the chart of its folder, and is listed in
values/README.md; the catalog holds the seed's four systems and at least four more model x GPU pairs."""
import re

import pytest

from llmcharts import discovery, paths

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
