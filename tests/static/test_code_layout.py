"""The harness stays readable module by module: every module in src/llmcharts (subpackages included) is at most
MAX_LINES long and opens with a docstring whose first line alone says its job (PEP 257's summary line)."""
import ast

import pytest

from llmcharts import paths

MAX_LINES = 400
SRC = paths.ROOT / "src" / "llmcharts"
MODULES = sorted(SRC.rglob("*.py"))


def test_modules_are_found():
    assert len(MODULES) > 20 and SRC / "invariants" / "registry.py" in MODULES


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_is_short(module):
    n = len(module.read_text().splitlines())
    assert n <= MAX_LINES, f"{module.relative_to(paths.ROOT)} has {n} lines (at most {MAX_LINES}): split it by job"


def summary_problem(source: str) -> str | None:
    """What is wrong with a module's docstring, or None: it must exist, and its first line must be a complete
    one-line summary (a sentence ending with a period), alone or followed by a blank line and the details."""
    doc = ast.get_docstring(ast.parse(source), clean=False)
    if not doc or not doc.strip():
        return "no module docstring"
    lines = doc.split("\n")
    if not lines[0].strip():
        return "the docstring does not start on its first line"
    if not lines[0].rstrip().endswith("."):
        return f"the first line is not a complete sentence: {lines[0]!r}"
    if len(lines) > 1 and lines[1].strip():
        return "the one-line summary runs on: put a blank line after it"
    return None


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_says_its_job_in_one_line(module):
    problem = summary_problem(module.read_text())
    assert problem is None, f"{module.relative_to(paths.ROOT)}: {problem}"


@pytest.mark.parametrize("source,problem", [
    ('"""Runs the thing."""\n', None),
    ('"""Runs the thing.\n\nDetails here.\n"""\n', None),
    ("import os\n", "no module docstring"),
    ('"""Runs the thing and\nthen more."""\n', "not a complete sentence"),
    ('"""Runs the thing.\nMore without a break."""\n', "runs on"),
])
def test_summary_check_catches_what_it_is_for(source, problem):
    found = summary_problem(source)
    assert (found is None) if problem is None else (problem in (found or ""))
