"""Property-based values fuzzing: values files built by hypothesis from each chart's values.schema.json (seeded,
bounded), rendered with helm 3 and helm 4. Each must give a clean render that validates strictly and passes every
invariant, or a refusal, by both helms, that names a value the file sets; never a template crash (nil pointer, a
template error without a field) and never an invalid object.

Kubernetes objects the charts pass through as given (affinity, securityContext, extra volumes, ...) are left empty: the
chart does not own their fields, and `scripts/check` validates them in a user's render like every other object.
Budget: LLMCHARTS_FUZZ_EXAMPLES examples per chart (default 25); the counts are printed at the end of the run."""
from __future__ import annotations

import os
import re

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed: run scripts/bootstrap")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import render_cache  # noqa: E402
from llmcharts import discovery, paths  # noqa: E402
from llmcharts.check import judge  # noqa: E402
from llmcharts.helm import field_named  # noqa: E402

from conftest import STATS  # noqa: E402

EXAMPLES = int(os.environ.get("LLMCHARTS_FUZZ_EXAMPLES", "25"))
BASES = {c.stem: (yaml.safe_load(c.read_text()) or {}).get("base") or {}
         for c in (paths.ROOT / "tests" / "bad_values").glob("*.yaml")}
# A refusal: the chart's own fail (helm: "execution error at (...): <message>") or the schema's.
REFUSAL = re.compile(r"execution error at|values don't meet the specifications|jsonschema|schema\(s\)|type mismatch on [\w-]+:")
CRASH = re.compile(r"nil pointer|error calling|wrong type for value|can't evaluate field|invalid value; expected")
WORDS = st.sampled_from(["a", "llama", "x-1", "0", "", "Gi", "/models", "nvidia", "sk", "1Gi", "10s", "true"])


def scalar(schema: dict):
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type") or "string"
    types = types if isinstance(types, list) else [types]
    options = []
    for t in types:
        if t == "boolean":
            options.append(st.booleans())
        elif t == "integer":
            lo, hi = schema.get("minimum", -2), schema.get("maximum", 70000)
            options.append(st.integers(min_value=max(lo, -2), max_value=min(hi, max(lo, -2) + 70000)))
        elif t == "number":
            options.append(st.floats(min_value=schema.get("minimum", -1), max_value=schema.get("maximum", 100),
                                     allow_nan=False))
        elif t == "null":
            options.append(st.none())
        elif t == "string":
            pattern = schema.get("pattern")
            rx = None
            if pattern:
                try:
                    rx = re.compile(pattern)
                except re.error:
                    rx = None
            options.append(st.from_regex(rx, fullmatch=True).filter(lambda s: len(s) < 60) if rx else WORDS)
        elif t == "object":
            options.append(st.just({}))
        elif t == "array":
            options.append(st.just([]))
    return st.one_of(options) if options else WORDS


def values_for(schema: dict, depth: int = 0):
    """A strategy of partial values for this schema: a few of an object's properties, each from its own schema;
    now and then null for a block (helm drops it; the schema must refuse it when the chart has defaults there)."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([values_for(s, depth) for s in schema[key]])
    props = schema.get("properties")
    if props and depth < 4:
        names = sorted(props)
        return st.one_of(
            st.dictionaries(st.sampled_from(names), st.nothing(), max_size=0),
            st.lists(st.sampled_from(names), max_size=3, unique=True).flatmap(
                lambda picked: st.fixed_dictionaries({n: values_for(props[n], depth + 1) for n in picked})),
            st.none() if depth else st.just({}),
        )
    if schema.get("type") == "array" or (isinstance(schema.get("type"), list) and "array" in schema["type"]):
        items = schema.get("items") or {}
        if items.get("properties"):
            return st.lists(values_for(items, depth + 1), max_size=2)
        if items.get("type") in ("object", None) and "enum" not in items and "pattern" not in items:
            return st.just([])  # a list of Kubernetes objects passed through as given
        return st.lists(scalar(items), max_size=2)
    if schema.get("type") == "object":
        return st.just({})  # a Kubernetes object passed through as given (affinity, securityContext, ...)
    return scalar(schema)


def merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def paths_of(values, prefix="") -> list[str]:
    out = []
    if isinstance(values, dict):
        for k, v in values.items():
            p = f"{prefix}{k}"
            out.append(p)
            out += paths_of(v, p + ".")
    elif isinstance(values, list):
        for i, v in enumerate(values):
            out.append(f"{prefix[:-1]}[{i}]")
            out += paths_of(v, f"{prefix[:-1]}[{i}].")
    return out


def names_a_set_value(error: str, values: dict) -> bool:
    fields = paths_of(values)
    dotted = [re.sub(r"\[(\d+)\]", r".\1", f) for f in fields]
    return any(field_named(error, f) for f in fields + dotted) or any(
        re.search(rf"\b{re.escape(f.split('.')[0])}\b", error) for f in fields)


# Values that knowingly switch an invariant's premise off: accelerator.tolerateTaint: false says the GPU nodes carry
# no taint, so a GPU pod without the toleration is what was asked for.
OPT_OUTS = {"tolerateTaint": (False, "gpu_pods_tolerate_gpu_taint")}


def values_at(values, key: str) -> list:
    """Every value under this key, at any depth."""
    if isinstance(values, dict):
        return [v for k, v in values.items() if k == key] + [x for v in values.values() for x in values_at(v, key)]
    if isinstance(values, list):
        return [x for v in values for x in values_at(v, key)]
    return []


CHARTS = [c for c in discovery.app_charts()]


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.name)
def test_schema_built_values_render_cleanly_or_are_refused_by_name(chart, helms, tmp_path_factory):
    schema = yaml.safe_load((chart / "values.schema.json").read_text())
    base = BASES.get(chart.name, {})
    counts = {"rendered": 0, "refused": 0}
    problems = []

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(values_for(schema))
    def check(over):
        values = merged(base, over or {})
        f = tmp_path_factory.mktemp("fuzz") / "values.yaml"
        f.write_text(yaml.safe_dump(values))
        futures = [render_cache.submit(h, chart, [f], release="fuzz") for h in helms.values()]
        renders = [fu.result() for fu in futures]
        oks = {r.ok for r in renders}
        if oks == {False}:
            for r in renders:
                if CRASH.search(r.error) or not REFUSAL.search(r.error) or not names_a_set_value(r.error, over or {}):
                    problems.append(f"{r.helm} crashed or refused without naming a value it was given:\n"
                                    f"{yaml.safe_dump(over)}\n{r.error[:1500]}")
            counts["refused"] += 1
            return
        if len(oks) == 2:
            problems.append(f"helm 3 and helm 4 disagree on:\n{yaml.safe_dump(over)}\n"
                            + "\n".join(f"{r.helm}: {r.error[:800]}" for r in renders if not r.ok))
            return
        rep = judge(chart, [f], renders)
        # An invariant the values explicitly opt out of (OPT_OUTS) does not count against them.
        opted = {inv for key, (val, inv) in OPT_OUTS.items() if val in values_at(values, key)}
        rep.violations = [v for v in rep.violations if v.invariant not in opted]
        if not rep.ok:
            problems.append(f"rendered an invalid release from:\n{yaml.safe_dump(over)}\n{rep.summary()[-2500:]}")
        counts["rendered"] += 1

    check()
    STATS[f"fuzz: {chart.name} examples rendered"] += counts["rendered"]
    STATS[f"fuzz: {chart.name} examples refused by name"] += counts["refused"]
    assert not problems, f"{len(problems)} of {EXAMPLES} fuzzed values files went wrong:\n" + "\n\n".join(problems[:4])
