"""Table-driven bad input: every case in tests/bad_values/<chart>.yaml must make helm 3 and helm 4 fail with a
message that names the field, and render nothing."""
import pytest
import yaml

import render_cache
from llmcharts import discovery, paths
from llmcharts.helm import field_named

from conftest import STATS

TABLES = sorted((paths.ROOT / "tests" / "bad_values").glob("*.yaml"))


def deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_cases():
    out = []
    for table in TABLES:
        data = yaml.load(table.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: faster
        for case in data["cases"]:
            out.append(pytest.param(table.stem, deep_merge(data.get("base") or {}, case["values"]), case["field"],
                                    id=f"{table.stem}:{case['name']}"))
    return out


CASES = load_cases()


def test_every_app_chart_has_a_bad_input_table():
    have = {t.stem for t in TABLES}
    missing = [c.name for c in discovery.app_charts() if c.name not in have]
    assert not missing, f"no tests/bad_values/<chart>.yaml for {missing}"


def test_vllm_table_has_at_least_15_cases():
    assert sum(1 for c in CASES if c.values[0] == "vllm") >= 15


@pytest.fixture(scope="module")
def rendered(helms, tmp_path_factory):
    """Every case's values file and its renders under both helms, all started at once on the helm pool."""
    out = {}
    for case in CASES:
        chart, values, _ = case.values
        f = tmp_path_factory.mktemp("bad") / "bad-values.yaml"
        f.write_text(yaml.safe_dump(values))
        out[case.id] = {name: render_cache.submit(helm, paths.CHARTS / chart, [f], release="bad")
                        for name, helm in helms.items()}
    return out


@pytest.mark.parametrize("chart,values,field", CASES)
def test_bad_values_fail_naming_the_field(chart, values, field, rendered, request):
    for name, future in rendered[request.node.callspec.id].items():
        r = future.result()
        assert not r.ok, f"{name} rendered bad values without error:\n{yaml.safe_dump(values)}"
        assert r.stdout.strip() == "", f"{name} printed a partial render"
        assert field_named(r.error, field), f"{name} error does not name {field!r}:\n{r.error}"
        STATS[f"bad input cases rejected with the field named ({name})"] += 1
