"""The CI supply chain: zizmor (offline) finds nothing in .github/workflows outside a short justified allow-list, and
every action is pinned by a full commit SHA with its release tag in a trailing comment."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from llmcharts import paths

WORKFLOW_DIR = paths.ROOT / ".github" / "workflows"
ZIZMOR = Path(sys.executable).parent / "zizmor"

# (zizmor audit, workflow file) -> why the finding is accepted, one line each. Keep it empty where a fix exists.
ALLOWED: dict[tuple[str, str], str] = {}

# `uses: owner/repo[/path]@<40 hex> # vX.Y.Z`: the commit is what runs, the comment says which release it is.
PINNED_USE = re.compile(r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)\s*$")


def zizmor_findings(target: Path) -> list[tuple[str, str, int, str]]:
    """(audit, workflow file, line, what) of every finding zizmor reports on target, offline, default persona."""
    assert ZIZMOR.exists(), "zizmor is missing from .venv (requirements.lock pins it; run scripts/bootstrap)"
    r = subprocess.run([str(ZIZMOR), "--offline", "--format", "json", "--no-progress", str(target)],
                       capture_output=True, text=True, timeout=300)
    # exit codes: 0 clean, 10-14 findings by highest severity; anything else is a failure to run
    assert r.returncode == 0 or 10 <= r.returncode <= 14, f"zizmor failed ({r.returncode}): {r.stderr[-2000:]}"
    out = []
    for f in json.loads(r.stdout or "[]"):
        loc = f["locations"][0]
        path = Path(loc["symbolic"]["key"]["Local"]["verbatim_path"]).name
        out.append((f["ident"], path, loc["concrete"]["location"]["start_point"]["row"] + 1,
                    loc["symbolic"].get("annotation", f["desc"])))
    return out


def unjustified(findings) -> list[str]:
    return [f"{path}:{line}: {ident}: {what}" for ident, path, line, what in findings if (ident, path) not in ALLOWED]


def unpinned_uses(text: str) -> list[str]:
    """The `uses:` lines of a workflow that do not pin a commit with its release tag beside it."""
    return [line.strip() for line in text.splitlines()
            if re.match(r"^\s*(-\s+)?uses:", line) and not PINNED_USE.match(line)]


def test_zizmor_finds_nothing_unjustified():
    findings = zizmor_findings(WORKFLOW_DIR)
    bad = unjustified(findings)
    assert not bad, "zizmor --offline findings (fix them, or justify one in ALLOWED):\n" + "\n".join(bad)
    seen = {(ident, path) for ident, path, _, _ in findings}
    stale = sorted(set(ALLOWED) - seen)
    assert not stale, f"ALLOWED entries that no longer occur (remove them): {stale}"
    assert all(reason.strip() and "\n" not in reason for reason in ALLOWED.values()), "one line of reason each"


def test_zizmor_catches_the_classic_mistakes(tmp_path):
    """The gate can fail: a tag-pinned checkout that keeps its credentials and expands the actor into a script."""
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yaml").write_text(
        "name: bad\non: push\npermissions:\n  contents: read\njobs:\n  build:\n    name: build\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - name: greet\n        run: echo \"${{ github.actor }} on ${{ github.event.repository.default_branch }}\"\n")
    audits = {ident for ident, *_ in zizmor_findings(wf)}
    assert {"unpinned-uses", "artipacked", "template-injection"} <= audits, audits
    assert unjustified(zizmor_findings(wf)), "a finding outside ALLOWED must fail the gate"


def test_every_action_is_pinned_by_commit_with_its_tag():
    problems, tags = [], {}
    for path in sorted(WORKFLOW_DIR.glob("*.y*ml")):
        text = path.read_text()
        problems += [f"{path.name}: {line}" for line in unpinned_uses(text)]
        for line in text.splitlines():
            m = PINNED_USE.match(line)
            if m:
                tags.setdefault((m.group(1), m.group(2)), set()).add(m.group(3))
    assert not problems, "pin each action as `uses: owner/repo@<commit sha> # vX.Y.Z`:\n" + "\n".join(problems)
    assert tags, "no action is used: nothing was checked"
    clash = {k: v for k, v in tags.items() if len(v) > 1}
    assert not clash, f"one commit, several tags in the comments: {clash}"


def test_pin_check_refuses_tags_branches_and_short_shas():
    assert unpinned_uses("      - uses: actions/checkout@v4\n")
    assert unpinned_uses("      - uses: actions/checkout@main\n")
    assert unpinned_uses("      - uses: actions/checkout@11d5960a # v4.4.0\n")
    assert unpinned_uses("      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262\n"), "tag comment"
    assert not unpinned_uses("      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0\n")


def test_checkouts_do_not_persist_credentials():
    """zizmor's artipacked audit is low-confidence; this states the rule directly for every checkout step."""
    import yaml
    for path in sorted(WORKFLOW_DIR.glob("*.y*ml")):
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name}:{job_id}"
