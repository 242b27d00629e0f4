"""values.schema.json files are generated from schemas/ and committed in sync; they are strict, accept the
umbrella's `global` and `enabled`, and work under helm 3 and helm 4."""
import json
import subprocess
import sys

import jsonschema
import pytest
import yaml

import render_cache
from llmcharts import discovery, paths

SCHEMA_CHARTS = [c for c in discovery.app_charts() if (paths.ROOT / "schemas" / "charts" / f"{c.name}.schema.yaml").exists()]


def test_every_app_chart_has_a_composed_schema():
    assert [c.name for c in SCHEMA_CHARTS] == [c.name for c in discovery.app_charts()]


def test_committed_schemas_match_the_generator():
    r = subprocess.run([sys.executable, str(paths.ROOT / "scripts" / "gen_schemas.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_generator_detects_a_stale_schema(tmp_path, monkeypatch):
    sys.path.insert(0, str(paths.ROOT / "scripts"))
    import gen_schemas
    chart = SCHEMA_CHARTS[0]
    committed = (chart / "values.schema.json").read_text()
    fresh = gen_schemas.render(gen_schemas.build(paths.ROOT / "schemas" / "charts" / f"{chart.name}.schema.yaml"))
    assert fresh == committed
    # a schema piece edited without regenerating must be noticed
    monkeypatch.setattr(gen_schemas, "CHARTS", tmp_path)
    (tmp_path / chart.name).mkdir()
    (tmp_path / chart.name / "Chart.yaml").write_text("name: x\n")
    (tmp_path / chart.name / "values.schema.json").write_text(committed.replace('"minimum": 1', '"minimum": 2', 1))
    others = [c for c in SCHEMA_CHARTS[1:]]
    for c in others:
        (tmp_path / c.name).mkdir()
        (tmp_path / c.name / "Chart.yaml").write_text("name: x\n")
        (tmp_path / c.name / "values.schema.json").write_text((c / "values.schema.json").read_text())
    assert gen_schemas.main(["--check"]) == 1


def test_generator_refuses_a_key_written_twice(tmp_path):
    """A merge can leave two `model:` blocks in one schema piece; YAML would keep the last without a word."""
    sys.path.insert(0, str(paths.ROOT / "scripts"))
    import gen_schemas
    piece = tmp_path / "piece.yaml"
    piece.write_text("properties:\n  model:\n    type: object\n  model:\n    type: string\n")
    with pytest.raises(SystemExit, match="key 'model' written twice"):
        gen_schemas.load(piece)


def _objects_without_additional_properties(node, path="$"):
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            yield path
        for k, v in node.items():
            yield from _objects_without_additional_properties(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _objects_without_additional_properties(v, f"{path}[{i}]")


@pytest.mark.parametrize("chart", SCHEMA_CHARTS, ids=lambda c: c.name)
def test_schema_is_strict(chart):
    schema = json.loads((chart / "values.schema.json").read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")
    assert schema["additionalProperties"] is False
    assert "global" in schema["properties"] and "enabled" in schema["properties"]
    assert list(_objects_without_additional_properties(schema)) == []
    assert "$ref" not in json.dumps(schema), "refs must be inlined for helm 3"


@pytest.mark.parametrize("chart", SCHEMA_CHARTS, ids=lambda c: c.name)
def test_chart_defaults_and_ci_values_match_the_schema(chart):
    schema = json.loads((chart / "values.schema.json").read_text())
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    jsonschema.Draft7Validator(schema).validate(defaults)


@pytest.mark.parametrize("helm_name", paths.HELM_NAMES)
@pytest.mark.parametrize("chart", SCHEMA_CHARTS, ids=lambda c: c.name)
def test_global_and_enabled_are_accepted(chart, helm_name, helms, tmp_path):
    case = next(c for c in discovery.cases() if c.chart == chart)
    extra = tmp_path / "umbrella.yaml"
    extra.write_text(yaml.safe_dump({"enabled": True, "global": {"imageRegistry": "mirror.example.com",
                                                                  "someUmbrellaKey": {"x": 1}}}))
    r = render_cache.template(helms[helm_name], chart, [case.values, extra])
    assert r.ok, r.error
    images = list(_images(r.objects))
    assert images and all(i.startswith("mirror.example.com/") for i in images), images


def _images(node):
    """Every container image in the render, wherever it sits (pod templates, CR container lists)."""
    if isinstance(node, dict):
        if isinstance(node.get("image"), str) and "name" in node:
            yield node["image"]
        for v in node.values():
            yield from _images(v)
    elif isinstance(node, list):
        for v in node:
            yield from _images(v)
