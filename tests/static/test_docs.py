"""Values are documented once, in the schema pieces: scripts/gen_docs.py writes each application chart's parameter
table (README) and the `# --` comments of its values.yaml from them. The committed files are what it writes, every
values.yaml key is in its chart's table with the default values.yaml gives it and a description, and the checks
fail on a hand-edited table, a hand-edited comment and a key nobody described."""
import json
import shutil
import subprocess
import sys

import pytest
import yaml

from llmcharts import discovery, paths

sys.path.insert(0, str(paths.ROOT / "scripts"))
import gen_docs  # noqa: E402
import gen_schemas  # noqa: E402

CHARTS = [c.name for c in discovery.app_charts()]


def test_every_app_chart_is_documented_by_the_generator():
    assert gen_docs.charts() == sorted(CHARTS)
    for chart in CHARTS:
        text = (paths.CHARTS / chart / "README.md").read_text()
        assert gen_docs.BEGIN in text and gen_docs.END in text, f"charts/{chart}/README.md has no parameter table"


def test_committed_docs_match_the_generator():
    r = subprocess.run([sys.executable, str(paths.ROOT / "scripts" / "gen_docs.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def table_rows(chart: str) -> dict[str, list[str]]:
    """key -> [type, default, description] of the README's generated table, read back from the Markdown."""
    text = (paths.CHARTS / chart / "README.md").read_text()
    body = text.split(gen_docs.BEGIN, 1)[1].split(gen_docs.END, 1)[0]
    out = {}
    for line in body.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").replace("\\|", "\x00").split("|")]
        cells = [c.replace("\x00", "|") for c in cells]
        out[cells[0].strip("`")] = cells[1:]
    return out


def values_paths(node, prefix=""):
    """(dotted key, value) of every key of a values.yaml, maps walked into, lists not."""
    for k, v in (node or {}).items():
        yield prefix + k, v
        if isinstance(v, dict):
            yield from values_paths(v, f"{prefix}{k}.")


@pytest.mark.parametrize("chart", CHARTS)
def test_every_values_key_is_in_the_table_with_its_default_and_a_description(chart):
    rows = table_rows(chart)
    assert rows, f"charts/{chart}/README.md: empty parameter table"
    for key, row in rows.items():
        assert len(row) == 3 and row[0] and row[2], f"{chart}: row {key} lacks a type or a description: {row}"
    values = yaml.safe_load((paths.CHARTS / chart / "values.yaml").read_text())
    for key, value in values_paths(values):
        if key in rows:
            if rows[key][1]:  # a leaf row: its default is values.yaml's
                assert json.loads(rows[key][1].strip("`").replace("\\|", "|")) == value, (chart, key)
            continue
        # a key inside a map documented as one row (resources.requests.cpu, a pass-through securityContext)
        parents = [key.rsplit(".", n)[0] for n in range(1, key.count(".") + 1)]
        assert any(p in rows and rows[p][1] for p in parents), f"{chart}: values.yaml key {key} is not in the table"


@pytest.fixture
def chart_copy(tmp_path, monkeypatch):
    """The generator pointed at a copy of the charts (the schema pieces stay where they are)."""
    copy = tmp_path / "charts"
    shutil.copytree(paths.CHARTS, copy, ignore=shutil.ignore_patterns("charts", "*.tgz"))
    monkeypatch.setattr(gen_docs, "CHARTS", copy)
    monkeypatch.setattr(gen_docs, "ROOT", tmp_path)
    monkeypatch.setattr(gen_schemas, "CHARTS", copy)
    assert gen_docs.main(["--check"]) == 0
    return copy


def test_check_fails_on_a_hand_edited_table(chart_copy, capsys):
    readme = chart_copy / "vllm" / "README.md"
    row = "| `replicaCount` | integer | `1` |"
    assert row in readme.read_text()
    readme.write_text(readme.read_text().replace(row, "| `replicaCount` | integer | `2` |"))
    assert gen_docs.main(["--check"]) == 1
    assert "charts/vllm/README.md" in capsys.readouterr().err


def test_check_fails_on_a_hand_edited_values_comment(chart_copy, capsys):
    values = chart_copy / "tgi" / "values.yaml"
    text = values.read_text()
    assert "  # -- --max-batch-size: requests per batch.\n" in text
    values.write_text(text.replace("  # -- --max-batch-size: requests per batch.\n", "  # -- requests per batch\n"))
    assert gen_docs.main(["--check"]) == 1
    assert "charts/tgi/values.yaml" in capsys.readouterr().err
    gen_docs.main([])  # the generator puts the schema's words back
    assert values.read_text() == text


def test_check_fails_on_a_key_without_a_description(chart_copy, monkeypatch, capsys):
    real = gen_docs.chart_schema

    def undescribed(chart):
        schema = real(chart)
        if chart == "ray-llm":
            del schema["properties"]["serve"]["properties"]["appName"]["description"]
        return schema
    monkeypatch.setattr(gen_docs, "chart_schema", undescribed)
    assert gen_docs.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "charts/ray-llm: serve.appName: no description in the schema" in err
    assert "serve.appName: a `# --` comment, but the schema has no description for it" in err


def test_description_overlays_change_words_only(tmp_path):
    (tmp_path / "piece.schema.yaml").write_text(yaml.safe_dump({"$defs": {"probe": {"type": "object", "properties": {
        "path": {"type": "string", "description": "Path."}}}}, "properties": {"probes": {
            "description": "Probes.", "type": "object", "properties": {"port": {"type": "integer"}}}}}))
    chart = tmp_path / "charts" / "c.schema.yaml"
    chart.parent.mkdir()
    base = {"type": "object", "$merge": ["../piece.schema.yaml"]}
    chart.write_text(yaml.safe_dump({**base, "properties": {
        "probes": {"properties": {"port": {"description": "The serving port."}}},
        "startup": {"$ref": "../piece.schema.yaml#/$defs/probe",
                    "properties": {"path": {"description": "/health."}}}}}))
    built = gen_schemas.build(chart)["properties"]
    assert built["probes"] == {"description": "Probes.", "type": "object", "additionalProperties": False,
                               "properties": {"port": {"type": "integer", "description": "The serving port."}}}
    assert built["startup"]["properties"]["path"] == {"type": "string", "description": "/health."}
    chart.write_text(yaml.safe_dump({**base, "properties": {"probes": {"properties": {"nope": {"description": "x"}}}}}))
    with pytest.raises(SystemExit, match="names 'nope', which the piece lacks"):
        gen_schemas.build(chart)
    chart.write_text(yaml.safe_dump({**base, "properties": {"probes": {"type": "string"}}}))
    with pytest.raises(SystemExit, match="defined in the chart and a piece"):
        gen_schemas.build(chart)
