"""Tests live in the folder of what they need, and their markers say the same: tests/static needs nothing but the
repository and runs everywhere; tests/engine needs the real vLLM environment and is marked `engine`; tests/kind needs
a cluster and is marked `kind`. So `-m "not engine and not kind"` is exactly tests/static, and a cluster test never
passes where there is no cluster."""
import ast
import os
import subprocess
import sys

import pytest

from llmcharts import paths

TESTS = paths.ROOT / "tests"
FOLDERS = {"static": None, "engine": "engine", "kind": "kind"}  # folder -> the marker its modules carry
MODULES = sorted(TESTS.rglob("test_*.py"))


def marks(source: str) -> tuple[set, set]:
    """(marks of the module-level pytestmark, every pytest.mark.<name> the module mentions)."""
    tree = ast.parse(source)
    mentioned = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
                 and n.value.attr == "mark" and isinstance(n.value.value, ast.Name) and n.value.value.id == "pytest"}
    module = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            module = {n.attr for n in ast.walk(node.value) if isinstance(n, ast.Attribute)
                      and isinstance(n.value, ast.Attribute) and n.value.attr == "mark"}
    return module, mentioned


def layout_problem(folder: str, source: str) -> str | None:
    if folder not in FOLDERS:
        return f"tests/{folder}: a test belongs in tests/static, tests/engine or tests/kind"
    module, mentioned = marks(source)
    want = FOLDERS[folder]
    if want and want not in module:
        return f"a test in tests/{folder} must set pytestmark = pytest.mark.{want}"
    wrong = (mentioned | module) & ({"engine", "kind"} - {want})
    if wrong:
        return f"marked {sorted(wrong)} but in tests/{folder}: move it to tests/{sorted(wrong)[0]}"
    return None


def test_test_modules_are_found():
    assert {m.parent.name for m in MODULES} == set(FOLDERS)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_module_is_in_the_folder_of_its_marker(module):
    problem = layout_problem(module.relative_to(TESTS).parts[0], module.read_text())
    assert problem is None, f"{module.relative_to(paths.ROOT)}: {problem}"


@pytest.mark.parametrize("folder,source,problem", [
    ("engine", "import pytest\npytestmark = pytest.mark.engine\n", None),
    ("kind", "import pytest\npytestmark = [pytest.mark.kind]\n", None),
    ("static", "def test_x():\n    pass\n", None),
    ("engine", "def test_x():\n    pass\n", "must set pytestmark"),
    ("static", "import pytest\npytestmark = pytest.mark.engine\n", "move it to tests/engine"),
    ("static", "import pytest\n@pytest.mark.kind\ndef test_x():\n    pass\n", "move it to tests/kind"),
    ("e2e", "def test_x():\n    pass\n", "belongs in"),
])
def test_layout_check_catches_what_it_is_for(folder, source, problem):
    found = layout_problem(folder, source)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_cluster_tests_do_not_pass_without_being_asked_for_a_cluster(tmp_path):
    """Not opted in (no -m kind, no LLMCHARTS_KIND=1), every test in tests/kind is skipped, here and on a machine
    with Docker and kind: none of them runs on what it does not need."""
    env = {k: v for k, v in os.environ.items() if k not in ("LLMCHARTS_KIND", "PYTEST_ADDOPTS")}
    r = subprocess.run([sys.executable, "-m", "pytest", str(TESTS / "kind"), "-q", "-p", "no:cacheprovider",
                        "-o", "addopts=", "--basetemp", str(tmp_path / "t")], capture_output=True, text=True,
                       env=env, cwd=paths.ROOT, timeout=300)
    summary = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0 and "skipped" in summary and "passed" not in summary, r.stdout[-3000:] + r.stderr
