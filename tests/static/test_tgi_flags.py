"""No TGI binary runs here, so every flag the tgi chart renders is checked against text-generation-launcher's own
flag list for the image line it targets, kept as data beside this test (tests/data/tgi-*-launcher-flags.txt,
with the source repository, path and commit in their headers): the flag must exist, a switch must come without a
value, a valued flag with one, and an enumerated flag with one of its values."""
from __future__ import annotations

import re

import pytest
import yaml

import render_cache
from llmcharts import discovery, paths
from query import container, find

TGI = paths.CHARTS / "tgi"
DATA = paths.ROOT / "tests" / "data"
CASES = [c for c in discovery.cases() if c.chart.name == "tgi"]


def load_flags(name: str) -> dict[str, object]:
    """flag -> "VALUE" | "SWITCH" | set of allowed values."""
    out: dict[str, object] = {}
    for line in (DATA / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        flag, kind = line.split()
        out[flag] = set(kind.split("|")) if "|" in kind else kind
    return out


APP_VERSION = yaml.safe_load((TGI / "Chart.yaml").read_text())["appVersion"]
FLAG_FILES = {"3.3": f"tgi-{APP_VERSION}-launcher-flags.txt", "2.0": "tgi-2.0-launcher-flags.txt"}
FLAGS = {line: load_flags(name) for line, name in FLAG_FILES.items()}


def check_args(args: list, flags: dict) -> list[str]:
    """Problems with a rendered launcher argument list (empty = every flag is one the launcher accepts)."""
    problems = []
    for a in args:
        a = str(a)
        if not a.startswith("--"):
            problems.append(f"{a!r}: not a --flag (the launcher takes no positional arguments)")
            continue
        name, has_value, value = a.partition("=")
        kind = flags.get(name)
        if kind is None:
            problems.append(f"{name}: not a text-generation-launcher flag")
        elif kind == "SWITCH" and has_value:
            problems.append(f"{name}: is a switch and takes no value (got {value!r})")
        elif kind != "SWITCH" and not (has_value and value):
            problems.append(f"{name}: needs a value, rendered as {name}=<value>")
        elif isinstance(kind, set) and value not in kind:
            problems.append(f"{name}={value}: not one of {sorted(kind)}")
    return problems


def image_line(values_file) -> str:
    data = yaml.safe_load(values_file.read_text()) or {}
    return str(data.get("imageLine", yaml.safe_load((TGI / "values.yaml").read_text())["imageLine"]))


def launcher_args(objects: list[dict]) -> list:
    tgi = container(find(objects, "Deployment"), "tgi")
    assert "command" not in tgi, "the image's entrypoint is the launcher; a command would bypass it"
    return tgi["args"]


@pytest.mark.parametrize("name", sorted(set(FLAG_FILES.values())))
def test_flag_lists_name_their_source(name):
    header = [l for l in (DATA / name).read_text().splitlines() if l.startswith("#")]
    sources = [l for l in header if "source" in l]
    assert sources, f"{name} has no source line"
    text = "\n".join(header)
    assert "launcher/src/main.rs" in text and re.search(r"\b[0-9a-f]{40}\b", text), \
        f"{name}: the header must name the file and the commit it was read from"
    assert len(FLAGS["3.3"]) > 40 and len(FLAGS["2.0"]) > 40


def test_pinned_list_matches_the_chart_version():
    assert (DATA / FLAG_FILES["3.3"]).exists(), f"no flag list for the pinned TGI {APP_VERSION}"
    assert APP_VERSION.startswith("3.3.")


def test_2_0_flags_are_a_subset_of_3_3():
    """TGI renamed and removed no launcher flag from 2.0 to 3.3; a 2.0 flag missing from 3.3 means a wrong list."""
    assert set(FLAGS["2.0"]) <= set(FLAGS["3.3"])
    assert {"--kv-cache-dtype", "--lora-adapters", "--api-key", "--usage-stats",
            "--graceful-termination-timeout"}.isdisjoint(FLAGS["2.0"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_rendered_flag_is_a_launcher_flag(case, report_for):
    rep = report_for(case)
    assert not rep.render_errors, rep.summary()
    line = image_line(case.values)
    args = launcher_args(rep.objects)
    assert args, "no launcher flags rendered"
    assert check_args(args, FLAGS[line]) == [], f"{case.id} (imageLine {line})"
    assert not any(str(a).startswith("--max-input-length") for a in args), "the legacy flag is never emitted"


def test_tgi_renders_are_covered():
    lines = {image_line(c.values) for c in CASES}
    assert lines == {"3.3", "2.0"}, "both image lines need a values file in the matrix"
    assert len(CASES) >= 6


def test_schema_choices_are_the_launchers_values():
    """The schema enums of the chart are exactly the value lists of the pinned launcher."""
    import json
    engine = json.loads((TGI / "values.schema.json").read_text())["properties"]["engine"]["properties"]
    for key, flag in (("quantize", "--quantize"), ("dtype", "--dtype"), ("kvCacheDtype", "--kv-cache-dtype"),
                      ("usageStats", "--usage-stats")):
        assert {v for v in engine[key]["enum"] if v is not None} == FLAGS["3.3"][flag], key


def test_the_check_catches_a_flag_the_launcher_does_not_have(helms):
    """The checker is not a rubber stamp: real renders with bad flags in extraArgs are caught."""
    def render(**set_values):
        return launcher_args(render_cache.Chart("tgi").objects(helms, TGI / "ci" / "minimal-values.yaml", **set_values))

    assert check_args(render(), FLAGS["3.3"]) == []
    assert check_args(render(extraArgs=["--max-input-lenght=4096"]), FLAGS["3.3"]) == \
        ["--max-input-lenght: not a text-generation-launcher flag"]
    assert check_args(render(extraArgs=["--json-output=true"]), FLAGS["3.3"]) == \
        ["--json-output: is a switch and takes no value (got 'true')"]
    assert check_args(render(extraArgs=["--rope-scaling=cubic"]), FLAGS["3.3"]) == \
        ["--rope-scaling=cubic: not one of ['dynamic', 'linear']"]
    # A 3.3 render checked against the 2.0 launcher fails on the flags 2.0 lacks.
    problems = check_args(render(), FLAGS["2.0"])
    assert "--usage-stats: not a text-generation-launcher flag" in problems
    assert "--graceful-termination-timeout: not a text-generation-launcher flag" in problems
