"""What `ct lint` does in GitHub CI, offline: helm lint --strict (helm 3 and helm 4) with every ci values file,
yamllint with chart-testing's rules on Chart.yaml and values files, and Chart.yaml against chart-testing's
Yamale schema. Also: the library chart's helpers are documented."""
import re
import subprocess
import sys

import pytest
import yamale
import yaml

from llmcharts import discovery, paths

CT = paths.ROOT / ".ct"


def lint_targets():
    out = []
    for chart in discovery.all_charts():
        ci = sorted((chart / "ci").glob("*-values.yaml"))
        if discovery.app_charts().count(chart):
            out += [pytest.param(chart, v, id=f"{chart.name}:{v.name}") for v in ci]
        else:
            out.append(pytest.param(chart, None, id=f"{chart.name}:library"))
    return out


@pytest.mark.parametrize("chart,values", lint_targets())
@pytest.mark.parametrize("helm_name", paths.HELM_NAMES)
def test_helm_lint_strict(chart, values, helm_name, helms):
    r = helms[helm_name].lint(chart, [values] if values else [], strict=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_app_chart_has_ci_values():
    for chart in discovery.app_charts():
        assert list((chart / "ci").glob("*-values.yaml")), f"{chart.name} has no ci/*-values.yaml for ct"


def test_ct_yaml_points_at_the_lint_config():
    ct = yaml.safe_load((paths.ROOT / "ct.yaml").read_text())
    assert (paths.ROOT / ct["lint-conf"]).exists() and (paths.ROOT / ct["chart-yaml-schema"]).exists()
    assert ct["chart-dirs"] == ["charts"]


@pytest.mark.parametrize("chart", discovery.all_charts(), ids=lambda c: c.name)
def test_yamllint_with_ct_rules(chart):
    files = [chart / "Chart.yaml", chart / "values.yaml"] + sorted((chart / "ci").glob("*.yaml"))
    r = subprocess.run([sys.executable, "-m", "yamllint", "-c", str(CT / "lintconf.yaml"), "-s", *map(str, files)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_yamllint_presets():
    files = sorted(paths.VALUES.rglob("*.yaml"))
    r = subprocess.run([sys.executable, "-m", "yamllint", "-c", str(CT / "lintconf.yaml"), "-s", *map(str, files)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("chart", discovery.all_charts(), ids=lambda c: c.name)
def test_chart_yaml_matches_ct_schema(chart):
    schema = yamale.make_schema(str(CT / "chart_schema.yaml"))
    data = yamale.make_data(str(chart / "Chart.yaml"))
    yamale.validate(schema, data, strict=True)


def test_every_template_file_holds_one_kind():
    for chart in discovery.app_charts():
        for tpl in (chart / "templates").glob("*.yaml"):
            kinds = re.findall(r"^kind: (\w+)", tpl.read_text(), re.M)
            assert len(kinds) <= 1, f"{tpl} defines {kinds}"
