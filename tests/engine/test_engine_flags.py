"""Every vLLM container the charts render (all ci values and presets, GPU ones included) is parsed by the pinned
vLLM's own argument parser, without starting an engine; the schema's value choices match vLLM's."""
import json

import pytest

from llmcharts import discovery, e2e, paths

from conftest import STATS

pytestmark = pytest.mark.engine


def vllm_containers(objects):
    return [c for c in e2e.engine_containers(objects) if "vllm" in c.get("image", "")]


@pytest.fixture(scope="module")
def parsed(report_for):
    cases = []
    for case in discovery.cases():
        rep = report_for(case)
        assert not rep.render_errors, rep.summary()
        for c in vllm_containers(rep.objects):
            args = list(c.get("args") or [])
            if (c.get("command") or [])[:2] == ["vllm", "serve"] or not c.get("command"):
                cases.append((f"{case.id}:{c['name']}", args))
            else:  # python -m vllm.entrypoints.openai.api_server style: flags only
                cases.append((f"{case.id}:{c['name']}", [a for a in c.get("command", [])[3:]] + args))
    assert cases
    return cases, e2e.vllm_args_errors(cases)


def test_every_rendered_vllm_command_line_parses(parsed):
    cases, res = parsed
    STATS["flags: vLLM command lines parsed by vLLM's own parser"] = len(cases)
    bad = {i: e for i, e in res["results"].items() if e}
    assert not bad, "\n".join(f"{i}: {e}" for i, e in bad.items())
    assert res["vllm"].startswith("0.32.0")


def test_schema_choices_match_the_pinned_vllm(parsed):
    _, res = parsed
    schema = json.loads((paths.CHARTS / "vllm" / "values.schema.json").read_text())
    quant = [q for q in schema["properties"]["engine"]["properties"]["quantization"]["enum"] if q]
    assert sorted(quant) == sorted(res["quantization_methods"])


def test_parser_rejects_removed_and_misspelled_flags():
    res = e2e.vllm_args_errors([("removed", ["m", "--disable-log-requests"]), ("typo", ["m", "--max-model-length=8"]),
                                ("choice", ["m", "--kv-cache-dtype=int3"]), ("quant", ["m", "--quantization=awq4"]),
                                ("ok", ["m", "--max-model-len=8"])])["results"]
    assert "--disable-log-requests" in res["removed"][0]
    assert "--max-model-length" in res["typo"][0]
    assert "int3" in res["choice"][0]
    assert "awq4" in res["quant"][0]
    assert res["ok"] == []
