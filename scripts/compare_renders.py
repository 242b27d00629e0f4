#!/usr/bin/env python3
"""Render every chart x values case at a git ref and in the working tree, and report any object that differs.

    scripts/compare_renders.py REF            e.g. `scripts/compare_renders.py $(git merge-base HEAD main)`
    scripts/compare_renders.py REF --verbose  also list the cases as they are compared
    scripts/compare_renders.py REF --chart vllm   only one chart's cases (repeatable)

For refactors that must not change what the charts render (library helpers renamed, rules moved): the ref is checked
out into a temporary `git worktree`, both trees get their chart dependencies built, and every case is rendered with
the pinned helm 3 and helm 4 (.tools/bin) in both. Objects are compared as parsed YAML, keyed by apiVersion, kind,
namespace and name, so only what reaches the API server counts (not whitespace, comments or document order). The
NOTES a user reads after `helm install` must stay the same text (helm 4's `install --dry-run=client`, which needs no
cluster).

The cases:
  - charts/<chart>/ci/*.yaml and values/<chart>/*.yaml, each alone;
  - tests/kind/values/*.yaml on the base its header names ("# chart:", "# base:");
  - tests/kind/ct/<chart>.yaml (the cluster overlay) over each charts/<chart>/ci/*.yaml;
  - tests/bad_values/<chart>.yaml: every case must fail in both trees (only its error text may change).
A case present in one tree only is reported, and so is a render that fails in one tree and not in the other.
Exit status: 0 when nothing differs, 1 otherwise, 2 on a usage or setup error.

Self-contained on purpose (PyYAML and the standard library, no llmcharts import): it must run the same against any
ref, whatever the harness looks like there.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HELMS = ("helm3", "helm4")
NAMESPACE = "llm-test"
KUBE_VERSION = "1.37.0"


@dataclass(frozen=True)
class Case:
    """One render: a chart and its values files (paths relative to the repository root), under a release name."""
    chart: str
    values: tuple[str, ...]
    release: str
    bad_case: str = ""      # a tests/bad_values case: its name; it must fail in both trees
    bad_values: str = ""    # ... and its values (base merged with the case) as YAML

    @property
    def expect_failure(self) -> bool:
        return bool(self.bad_case)

    @property
    def id(self) -> str:
        if self.bad_case:
            return f"{self.chart}: tests/bad_values/{self.chart}.yaml: {self.bad_case}"
        return f"{self.chart}: {' + '.join(self.values)}"


@dataclass
class Result:
    ok: bool
    objects: dict = field(default_factory=dict)
    error: str = ""
    notes: str | None = None


def release_name(path: str) -> str:
    stem = Path(path).stem.replace("-values", "").replace(".", "-").replace("_", "-").lower()
    return stem[:40].strip("-") or "release"


def header(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"#\s*([a-z-]+):\s*(\S+)", line)
        if m:
            out[m.group(1)] = m.group(2)
        elif not line.startswith("#"):
            break
    return out


def app_charts(tree: Path) -> list[str]:
    out = []
    for meta in sorted((tree / "charts").glob("*/Chart.yaml")):
        if (yaml.safe_load(meta.read_text()) or {}).get("type", "application") != "library":
            out.append(meta.parent.name)
    return out


def deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def cases(tree: Path) -> list[Case]:
    out: list[Case] = []
    rel = lambda p: str(p.relative_to(tree))  # noqa: E731
    for chart in app_charts(tree):
        ci = sorted((tree / "charts" / chart / "ci").glob("*.yaml"))
        for f in ci + sorted((tree / "values" / chart).glob("*.yaml")):
            out.append(Case(chart, (rel(f),), release_name(rel(f))))
        overlay = tree / "tests" / "kind" / "ct" / f"{chart}.yaml"
        if overlay.is_file():
            for f in ci:
                out.append(Case(chart, (rel(f), rel(overlay)), release_name(rel(f))))
        table = tree / "tests" / "bad_values" / f"{chart}.yaml"
        if table.is_file():
            data = yaml.safe_load(table.read_text())
            for c in data["cases"]:
                values = deep_merge(data.get("base") or {}, c["values"])
                out.append(Case(chart, (), "bad", bad_case=c["name"], bad_values=yaml.safe_dump(values)))
    for f in sorted((tree / "tests" / "kind" / "values").glob("*.yaml")):
        h = header(f)
        if h.get("chart"):
            files = ((h["base"],) if h.get("base") else ()) + (rel(f),)
            out.append(Case(h["chart"], files, release_name(rel(f))))
    return out


def build_dependencies(tree: Path, helm: Path) -> None:
    """`helm dependency build` every chart of the tree, subcharts before the umbrella that packages them."""
    charts = sorted(p.parent for p in (tree / "charts").glob("*/Chart.yaml"))
    done: set[Path] = set()

    def deps(chart: Path) -> list[Path]:
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        return [(chart / d["repository"][len("file://"):]).resolve()
                for d in meta.get("dependencies") or [] if d.get("repository", "").startswith("file://")]

    def visit(chart: Path) -> None:
        if chart in done:
            return
        ds = deps(chart)
        for d in ds:
            visit(d)
        if ds:
            r = subprocess.run([str(helm), "dependency", "build", str(chart), "--skip-refresh"],
                               capture_output=True, text=True)
            if r.returncode:
                raise SystemExit(f"compare_renders: dependency build {chart}: {r.stderr.strip()}")
        done.add(chart)

    lock = tree / ".cache" / "helm-dependency.lock"  # the harness's lock: never rebuild under a running test
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        for c in charts:
            visit(c.resolve())


def render(tree: Path, helm: Path, case: Case, scratch: Path) -> Result:
    cmd = [str(helm), "template", case.release, str(tree / "charts" / case.chart), "--namespace", NAMESPACE,
           "--kube-version", KUBE_VERSION]
    for v in case.values:
        cmd += ["-f", str(tree / v)]
    if case.bad_values:
        f = Path(tempfile.mkstemp(suffix=".yaml", dir=scratch)[1])
        f.write_text(case.bad_values)
        cmd += ["-f", str(f)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode:
        return Result(False, error=r.stderr.strip())
    objects = {}
    for doc in yaml.safe_load_all(r.stdout):
        if not doc:
            continue
        meta = doc.get("metadata") or {}
        key = (doc.get("apiVersion"), doc.get("kind"), meta.get("namespace"), meta.get("name"))
        if key in objects:
            key = key + (len(objects),)
        objects[key] = doc
    notes = None
    if helm.name == "helm4" and not case.bad_values:
        i = cmd.index("--kube-version")
        cmd = [cmd[0], "install"] + cmd[2:i] + cmd[i + 2:] + ["--dry-run=client"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "KUBECONFIG": os.devnull})
        notes = r.stdout.partition("\nNOTES:\n")[2] if r.returncode == 0 else f"(install --dry-run failed: {r.stderr.strip()})"
    return Result(True, objects, notes=notes)


def diff(a, b, path: str = "") -> list[str]:
    """Paths where two parsed YAML documents differ (at most a few per object)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in a:
                out.append(f"{p}: only in the working tree")
            elif k not in b:
                out.append(f"{p}: only at the ref")
            else:
                out += diff(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    if a != b or type(a) is not type(b):
        show = lambda v: (repr(v)[:160] + "...") if len(repr(v)) > 160 else repr(v)  # noqa: E731
        return [f"{path}: {show(a)} at the ref, {show(b)} in the working tree"]
    return []


def compare(case: Case, before: dict[str, Result], after: dict[str, Result]) -> list[str]:
    problems = []
    for helm in HELMS:
        a, b = before[helm], after[helm]
        if case.expect_failure:
            if a.ok:
                problems.append(f"{helm}: the bad-values case rendered at the ref")
            if b.ok:
                problems.append(f"{helm}: the bad-values case renders in the working tree")
            continue
        if a.ok != b.ok:
            problems.append(f"{helm}: renders {'ok' if a.ok else 'FAILS'} at the ref, "
                            f"{'ok' if b.ok else 'FAILS'} in the working tree: {(b.error or a.error)[:400]}")
            continue
        if not a.ok:
            continue  # failing at both (e.g. a bad-values table): only the text may differ
        if (b.notes or "").startswith("(install --dry-run failed"):
            problems.append(f"{helm}: {b.notes}")
        elif a.notes != b.notes:
            old, new = (a.notes or "").splitlines(), (b.notes or "").splitlines()
            first = next((i for i, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
            problems.append(f"{helm}: NOTES differ from line {first + 1}: {old[first:first + 1]} at the ref, "
                            f"{new[first:first + 1]} in the working tree")
        for key in sorted(set(a.objects) | set(b.objects), key=str):
            name = "/".join(str(k) for k in key[:4] if k)
            if key not in a.objects:
                problems.append(f"{helm}: {name}: only in the working tree")
            elif key not in b.objects:
                problems.append(f"{helm}: {name}: only at the ref")
            else:
                problems += [f"{helm}: {name}: {d}" for d in diff(a.objects[key], b.objects[key])[:8]]
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ref", help="git ref to compare the working tree against (e.g. the merge base with main)")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--jobs", "-j", type=int, default=min(4, os.cpu_count() or 2))
    ap.add_argument("--chart", action="append", default=[], help="only this chart's cases (repeatable)")
    args = ap.parse_args()

    helms = {h: ROOT / ".tools" / "bin" / h for h in HELMS}
    missing = [str(p) for p in helms.values() if not p.exists()]
    if missing:
        print(f"compare_renders: missing {', '.join(missing)}: run scripts/bootstrap", file=sys.stderr)
        return 2
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{args.ref}^{{commit}}"],
                         capture_output=True, text=True)
    if sha.returncode:
        print(f"compare_renders: {args.ref!r} is not a commit: {sha.stderr.strip()}", file=sys.stderr)
        return 2
    sha = sha.stdout.strip()

    scratch = Path(tempfile.mkdtemp(prefix="compare-renders-"))
    old = scratch / "ref"
    try:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(old), sha], check=True)
        build_dependencies(old, helms["helm3"])
        build_dependencies(ROOT, helms["helm3"])
        wanted = lambda c: not args.chart or c.chart in args.chart  # noqa: E731
        old_cases = {c.id: c for c in cases(old) if wanted(c)}
        new_cases = {c.id: c for c in cases(ROOT) if wanted(c)}
        jobs = [(tree, h, c) for tree, cs in ((old, old_cases), (ROOT, new_cases)) for c in cs.values() for h in HELMS]
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            done = dict(zip(((t, h, c.id) for t, h, c in jobs),
                            pool.map(lambda j: render(j[0], helms[j[1]], j[2], scratch), jobs)))
        differences = 0
        for cid in sorted(set(old_cases) | set(new_cases)):
            if cid not in old_cases or cid not in new_cases:
                where = "the working tree" if cid in new_cases else f"{args.ref}"
                # A bad-values case added or renamed is not an object difference; a values file is.
                if (old_cases.get(cid) or new_cases[cid]).expect_failure:
                    print(f"note  {cid}: only in {where}")
                    continue
                print(f"DIFF  {cid}: only in {where}")
                differences += 1
                continue
            problems = compare(new_cases[cid], {h: done[(old, h, cid)] for h in HELMS},
                               {h: done[(ROOT, h, cid)] for h in HELMS})
            if problems:
                differences += 1
                print(f"DIFF  {cid}")
                for p in problems:
                    print(f"      {p}")
            elif args.verbose:
                print(f"same  {cid}")
        renders = [c for c in new_cases.values() if c.id in old_cases and not c.expect_failure]
        bad = [c for c in new_cases.values() if c.id in old_cases and c.expect_failure]
        objects = sum(len(done[(ROOT, h, c.id)].objects) for c in renders for h in HELMS)
        print(f"compare_renders: {len(renders)} cases x {len(HELMS)} helms ({objects} objects) and {len(bad)} "
              f"bad-values cases compared against {args.ref} ({sha[:12]}): {differences} with differences")
        return 1 if differences else 0
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
