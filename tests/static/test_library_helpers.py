"""The library's interface, read from the templates (scripts/gen_library_readme.py parses them):

- every helper in charts/<chart>/templates/_<area>.tpl is named after its file: llm-common.<area>.<name>, and a chart's
  own <chart>.<name> (_helpers.tpl) or <chart>.<area>.<name>; each has a comment block with a Usage: line;
- one calling convention: every include of an llm-common helper, in any chart and in the Usage lines, passes
  (dict "context" ...);
- every fail / required in llm-common names the value through the context (a message starting with the resolved
  path, "%s"), never a hard-coded path that would drop a component's prefix (gateway., worker., inferenceServices[0].);
- charts/llm-common/README.md is what scripts/gen_library_readme.py writes from those comment blocks;
- the one vLLM engine-argument table (llm-common.vllm.engineArgs) owns the optional blocks only in a chart that offers
  them.

Each check is a function over template text, and each has a breaking case below, so none passes vacuously.
"""
import re
import subprocess
import sys

import pytest

import render_cache
from llmcharts import paths
from query import find

sys.path.insert(0, str(paths.ROOT / "scripts"))
import gen_library_readme as readme  # noqa: E402

CHARTS = sorted(p.parent for p in paths.CHARTS.glob("*/Chart.yaml"))
LIBRARY = paths.CHARTS / "llm-common"
NAME = r"[a-z][a-zA-Z0-9]*"
INCLUDE = re.compile(r'include\s+"(llm-common\.[^"]+)"\s*(?P<arg>\S+)?')
FAIL = re.compile(r'\b(fail|required)\s+(\(printf\s+)?"(?P<msg>[^"]*)')


def naming_problems(area: readme.Area, chart: str) -> list[str]:
    """Helpers of one _<area>.tpl not named <chart>.<area>.<name> (or <chart>.<name> in _helpers.tpl), or without a
    Usage: line in their comment block."""
    prefix = f"{chart}." if area.name == "helpers" else f"{chart}.{area.name}."
    out = []
    for h in area.helpers:
        where = f"{chart}/templates/{area.file.name}:{h.line}"
        if not re.fullmatch(re.escape(prefix) + NAME, h.name):
            out.append(f"{where}: {h.name} is not {prefix}<name>")
        if not re.search(r"^Usage:", h.doc, re.M):
            out.append(f"{where}: {h.name} has no comment block with a Usage: line")
    return out


def convention_problems(text: str, where: str) -> list[str]:
    """Includes of llm-common helpers whose argument is not (dict "context" ...)."""
    out = []
    for m in INCLUDE.finditer(text):
        if not text[m.start("arg") if m.group("arg") else m.end():].startswith('(dict "context" '):
            line = text.count("\n", 0, m.start()) + 1
            out.append(f"{where}:{line}: {m.group(1)} is not called with (dict \"context\" ...)")
    return out


def hardcoded_field_problems(text: str, where: str) -> list[str]:
    """fail / required messages that start with a value path of their own instead of the context's ("%s")."""
    out = []
    for m in FAIL.finditer(text):
        msg = m.group("msg")
        if not msg.startswith("%s") and not msg.startswith("llm-common."):
            out.append(f"{where}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(1)} names {msg.split(':')[0]!r} "
                       "itself; name it with llm-common.context.field")
    return out


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.name)
def test_helpers_are_named_after_their_file_and_documented(chart):
    problems = [p for area in readme.areas(chart) for p in naming_problems(area, chart.name)]
    assert not problems, "\n".join(problems)


def test_every_chart_defines_helpers_only_in_underscore_files():
    stray = [f for c in CHARTS for f in (c / "templates").rglob("*") if f.is_file() and not f.name.startswith("_")
             and re.search(r'{{-?\s*define\s', f.read_text())]
    assert not stray, f"helpers outside templates/_*.tpl: {stray}"


def test_library_helpers_are_called_with_a_context():
    problems = []
    for f in sorted(paths.CHARTS.glob("*/templates/**/*")):
        if f.is_file():
            problems += convention_problems(f.read_text(), str(f.relative_to(paths.ROOT)))
    assert not problems, "\n".join(problems)


def test_library_errors_name_values_through_the_context():
    problems = []
    for f in sorted((LIBRARY / "templates").glob("_*.tpl")):
        problems += hardcoded_field_problems(f.read_text(), str(f.relative_to(paths.ROOT)))
    assert not problems, "\n".join(problems)


def test_library_readme_is_generated_from_the_comment_blocks():
    r = subprocess.run([sys.executable, str(paths.ROOT / "scripts" / "gen_library_readme.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = (LIBRARY / "README.md").read_text()
    for area in readme.areas():
        for h in area.helpers:
            assert f"### {h.name}\n" in text and h.doc in text, f"README.md does not document {h.name}"


def test_library_values_file_points_at_an_existing_readme():
    comment = (LIBRARY / "values.yaml").read_text()
    assert "README.md" in comment and (LIBRARY / "README.md").is_file()


# --- the checks can fail ------------------------------------------------------------------------------------------

def test_checks_catch_a_misnamed_or_undocumented_helper(tmp_path):
    tpl = tmp_path / "_policy.tpl"
    tpl.write_text('{{/*\nPolicies.\n*/}}\n\n{{/*\nllm-common.pdb: a PDB.\nUsage: {{ include "llm-common.pdb" . }}\n*/}}\n'
                   '{{- define "llm-common.pdb" -}}{{- end -}}\n\n{{/*\nllm-common.policy.x: no usage here.\n*/}}\n'
                   '{{- define "llm-common.policy.x" -}}{{- end -}}\n{{- define "llm-common.policy.y" -}}{{- end -}}\n')
    area = readme.read_area(tpl)
    assert area.intro == "Policies."
    problems = "\n".join(naming_problems(area, "llm-common"))
    assert "llm-common.pdb is not llm-common.policy.<name>" in problems
    assert "llm-common.policy.x has no comment block with a Usage: line" in problems
    assert "llm-common.policy.y has no comment block" in problems


def test_checks_catch_an_old_calling_shape():
    for old in ('{{ include "llm-common.names.fullname" . }}', '{{ include "llm-common.accelerator.count" .Values.accelerator }}',
                '{{ include "llm-common.args.flags" (dict "flags" $f) }}', '{{ include "llm-common.shm.validate" $ctx }}'):
        assert convention_problems(old, "t"), old
    assert not convention_problems('{{ include "llm-common.names.fullname" (dict "context" .) }}', "t")


def test_checks_catch_a_hard_coded_field():
    assert hardcoded_field_problems('{{- fail "pdb: set either pdb.minAvailable or pdb.maxUnavailable" -}}', "t")
    assert hardcoded_field_problems('{{- fail (printf "accelerator.count: %d" $n) -}}', "t")
    assert not hardcoded_field_problems('{{- fail (printf "%s: %d" (include "llm-common.context.field" $x) $n) -}}', "t")


def test_readme_check_catches_drift(tmp_path, monkeypatch):
    stale = tmp_path / "README.md"
    stale.write_text(readme.render().replace("### llm-common.policy.pdb", "### llm-common.pdb"))
    monkeypatch.setattr(readme, "README", stale)
    monkeypatch.setattr(sys, "argv", ["gen_library_readme.py", "--check"])
    assert readme.main() == 1


# --- the engine-argument table: one table, the rows a chart offers --------------------------------------------------

SPECULATIVE = '--speculative-config={"method": "ngram", "num_speculative_tokens": 3}'


@pytest.mark.parametrize("helm_name", paths.HELM_NAMES)
def test_engine_table_owns_only_the_blocks_a_chart_offers(helms, helm_name, tmp_path):
    """vllm offers engine.speculativeConfig, so the flag is refused in extraArgs and the error names that value;
    kserve-llm has no such value, so its escape hatch is the only way to pass the flag and must let it through."""
    error = render_cache.Chart("vllm", helm=helm_name).error(helms, paths.CHARTS / "vllm" / "ci" / "minimal-values.yaml",
                                                             extraArgs=[SPECULATIVE])
    assert "extraArgs[0]: --speculative-config is rendered by the chart from engine.speculativeConfig" in error
    kserve = render_cache.Chart("kserve-llm", helm=helm_name).objects(
        helms, paths.CHARTS / "kserve-llm" / "ci" / "minimal-values.yaml",
        inferenceServices=[{"name": "llama", "storageUri": "s3://models/llama", "extraArgs": [SPECULATIVE]}])
    isvc = find(kserve, "InferenceService")
    assert SPECULATIVE in isvc["spec"]["predictor"]["model"]["args"]
