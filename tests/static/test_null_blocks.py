"""`null` for any key the chart gives a default (a whole block such as `shm: null`, `gateway: null`, a nested one such
as `gateway.healthCheck: null`, or a setting) is refused by the schema naming that key, under helm 3 and helm 4, from a
values file and from --set-json; nothing renders. Helm drops a null key from the merged values before the templates
run, so without the schema's `required` (scripts/gen_schemas.py: require_defaults) the templates read nil.

The sweep covers every such key of every application chart: one render per chart and depth (helm reports every
missing key at once), since nulling a block also removes the keys below it."""
from __future__ import annotations

import re
import sys

import pytest
import yaml

import render_cache
from llmcharts import discovery, paths

from conftest import STATS

sys.path.insert(0, str(paths.ROOT / "scripts"))
from gen_schemas import set_by_default  # noqa: E402

BASES = {c.stem: (yaml.safe_load(c.read_text()) or {}).get("base") or {}
         for c in (paths.ROOT / "tests" / "bad_values").glob("*.yaml")}


def defaulted(values: dict, schema: dict, prefix=()) -> list[tuple[str, ...]]:
    """Paths of every key of values.yaml with a default null would take away, where the schema lists the key."""
    out = []
    props = (schema or {}).get("properties") or {}
    for k, v in (values or {}).items():
        if k not in props:
            continue
        if set_by_default(v):
            out.append(prefix + (k,))
        if isinstance(v, dict):
            out += defaulted(v, props[k], prefix + (k,))
    return out


def sweep(chart) -> dict[int, list[tuple[str, ...]]]:
    values = yaml.safe_load((chart / "values.yaml").read_text())
    schema = yaml.safe_load((chart / "values.schema.json").read_text())
    by_depth: dict[int, list] = {}
    for p in defaulted(values, schema):
        by_depth.setdefault(len(p), []).append(p)
    return by_depth


def nulled(base: dict, paths_: list[tuple[str, ...]]) -> dict:
    out = yaml.safe_load(yaml.safe_dump(base))
    for p in paths_:
        node = out
        for k in p[:-1]:
            node = node.setdefault(k, {})
            if node is None:
                break
        else:
            node[p[-1]] = None
    return out


def names_missing(error: str, path: tuple[str, ...]) -> bool:
    """helm 3 (gojsonschema): '<parent or (root)>: <key> is required'; helm 4 (santhosh-tekuri/jsonschema):
    "at '/<parent>': missing property '<key>'" (or "missing properties 'a', 'b'"); or, for a block that still has
    keys of its own after helm's merge, a missing key inside it."""
    parent, key = ".".join(path[:-1]) or "(root)", path[-1]
    if f"{parent}: {key} is required" in error:
        return True
    # An umbrella's subchart block: helm keeps the subchart's own defaults under it, so the error names a key the
    # umbrella's values put there ("vllm: enabled is required" / "at '/vllm': missing property 'enabled'").
    if re.search(rf"^- {re.escape('.'.join(path))}: \S+ is required$", error, re.M) or f"at '/{'/'.join(path)}': missing" in error:
        return True
    # A subchart's condition key (vllm.enabled) keeps its null, which its type refuses.
    if f"- {'.'.join(path)}: Invalid type" in error or f"at '/{'/'.join(path)}': got null" in error:
        return True
    ptr = "/" + "/".join(path[:-1]) if path[:-1] else ""
    m = re.search(rf"at '{re.escape(ptr)}': missing propert(?:y|ies) ([^\n]*)", error)
    return bool(m and f"'{key}'" in m.group(1))


CASES = [pytest.param(chart, depth, form, id=f"{chart.name}:depth{depth}:{form}")
         for chart in discovery.app_charts() for depth in sorted(sweep(chart)) for form in ("file", "set")]


def test_sweep_covers_the_blocks_the_issue_names():
    by_chart = {c.name: {".".join(p) for ps in sweep(c).values() for p in ps} for c in discovery.app_charts()}
    assert {"shm", "apiKey", "autoscaling", "metrics"} <= by_chart["vllm"]
    assert {"gateway", "gateway.healthCheck", "gateway.proxy", "gateway.proxy.image"} <= by_chart["llm-stack"]


@pytest.mark.parametrize("chart,depth,form", CASES)
def test_null_for_a_defaulted_key_is_refused_naming_it(chart, depth, form, helms, tmp_path):
    paths_ = sweep(chart)[depth]
    base = BASES.get(chart.name, {})
    if form == "file":
        f = tmp_path / "null-values.yaml"
        f.write_text(yaml.safe_dump(nulled(base, paths_)))
        files, set_values = [f], None
    else:
        f = tmp_path / "base-values.yaml"
        f.write_text(yaml.safe_dump(base))
        files, set_values = [f], {".".join(p): None for p in paths_}
    futures = {n: render_cache.submit(h, chart, files, release="nulls", set_values=set_values) for n, h in helms.items()}
    for name, fut in futures.items():
        r = fut.result()
        assert not r.ok, f"{name} rendered {chart.name} with these keys null: {paths_}"
        assert r.stdout.strip() == "", f"{name} printed a partial render"
        missed = [".".join(p) for p in paths_ if not names_missing(r.error, p)]
        assert not missed, f"{name}: the error does not name {missed}:\n{r.error[:3000]}"
        STATS[f"bad input: null keys refused by name ({name})"] += len(paths_)
