"""The flag tables in the library chart (charts/llm-common/templates/_flagtables.tpl) are what the pinned engines'
own parsers accept: regenerated from vLLM's and vllm-router's parsers, they must be unchanged."""
import json
import re
import subprocess
import sys

import pytest

from llmcharts import paths

pytestmark = pytest.mark.engine


def test_flag_tables_match_the_pinned_parsers():
    r = subprocess.run([sys.executable, str(paths.ROOT / "scripts" / "gen_flag_tables.py"), "--check"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]


def table(name: str) -> dict:
    text = (paths.CHARTS / "llm-common" / "templates" / "_flagtables.tpl").read_text()
    body = re.search(rf'define "llm-common.flagtables.{name}" -}}}}\n(.*?)\n', text).group(1)
    return json.loads(body)


def test_tables_know_the_short_aliases_the_guard_relies_on():
    vllm = table("vllm")
    assert vllm["-tp"] == "--tensor-parallel-size"
    assert vllm["-pp"] == "--pipeline-parallel-size"
    assert vllm["-q"] == "--quantization"
    assert table("router")["--policy"] == "--policy"
