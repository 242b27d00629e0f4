"""Thin wrapper over the helm binaries (dependency build, template, lint, dry run) on a shared pool.

Thin wrapper over the helm binaries: dependency build, template, lint, install --dry-run; a shared thread pool
to run helm calls in parallel."""
from __future__ import annotations

import concurrent.futures
import fcntl
import hashlib
import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import paths


@dataclass
class Render:
    helm: str
    ok: bool
    objects: list[dict] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    command: list[str] = field(default_factory=list)

    @property
    def error(self) -> str:
        """helm's error message, without the usage hint."""
        return "\n".join(l for l in self.stderr.splitlines() if "Use --debug flag" not in l).strip()


class Helm:
    def __init__(self, name: str, path: Path | None = None):
        self.name = name
        self.path = Path(path or paths.helm_path(name))
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path} is missing: run scripts/bootstrap")

    def run(self, *args: str, check: bool = False, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
        # Always an environment of our own: with env=None the child execs with the process-wide `environ`, which
        # another thread may be rewriting at that moment (pytest sets PYTEST_CURRENT_TEST for every test phase);
        # on Linux that failed now and then with "OSError: [Errno 14] Bad address" when helm ran on the pool.
        full_env = {**os.environ, **(env or {})}
        start = time.monotonic()
        try:
            return subprocess.run([str(self.path), *args], capture_output=True, text=True, check=check,
                                  timeout=timeout, env=full_env)
        finally:
            _log_time(self.name, args[0] if args else "", time.monotonic() - start)

    def version(self) -> str:
        return self.run("version", "--template", "{{.Version}}", check=True).stdout.strip()

    def dependency_build(self, chart: Path) -> None:
        out = self.run("dependency", "build", str(chart), "--skip-refresh")
        if out.returncode != 0:
            raise RuntimeError(f"{self.name} dependency build {chart}: {out.stderr.strip()}")

    def template(self, chart: Path, values: list[Path] | tuple = (), release: str = "test",
                 namespace: str = "llm-test", kube_version: str = paths.K8S_VERSIONS[-1],
                 set_values: dict | None = None, extra: tuple = ()) -> Render:
        cmd = ["template", release, str(chart), "--namespace", namespace, "--kube-version", f"{kube_version}.0"]
        for v in values:
            cmd += ["-f", str(v)]
        for k, v in (set_values or {}).items():
            cmd += ["--set-json", f"{k}={json.dumps(v)}"]
        cmd += list(extra)
        out = self.run(*cmd)
        render = Render(self.name, out.returncode == 0, stdout=out.stdout, stderr=out.stderr, command=cmd)
        if render.ok:
            render.objects = parse_manifests(out.stdout)
        return render

    def lint(self, chart: Path, values: list[Path] | tuple = (), strict: bool = True) -> subprocess.CompletedProcess:
        cmd = ["lint", str(chart)] + (["--strict"] if strict else [])
        for v in values:
            cmd += ["-f", str(v)]
        return self.run(*cmd)

    def install_dry_run(self, chart: Path, values: list[Path], release: str, namespace: str,
                        kubeconfig: Path | None = None, extra: tuple = ()) -> subprocess.CompletedProcess:
        cmd = ["install", release, str(chart), "--dry-run=client", "--namespace", namespace, *extra]
        if kubeconfig and self.name == "helm3":
            cmd.append("--disable-openapi-validation")  # objects are validated by the harness itself
        for v in values:
            cmd += ["-f", str(v)]
        return self.run(*cmd, env={"KUBECONFIG": str(kubeconfig)} if kubeconfig else None)


# Helm calls are subprocesses (the GIL is released while they run), so a few threads keep every core busy.
_POOL_LOCK = threading.Lock()
_POOL: concurrent.futures.ThreadPoolExecutor | None = None


def pool() -> concurrent.futures.ThreadPoolExecutor:
    """The process-wide pool for helm calls. Submit only leaf work (one helm call and its parsing) to it, never a
    task that waits on other tasks of the pool."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            workers = int(os.environ.get("LLMCHARTS_HELM_JOBS") or (os.cpu_count() or 2) + 1)
            _POOL = concurrent.futures.ThreadPoolExecutor(max(1, workers), thread_name_prefix="helm")
        return _POOL


def template_all(helms: list["Helm"], *args, **kwargs) -> list[Render]:
    """The same `helm template` under every helm given, run concurrently."""
    futures = [pool().submit(h.template, *args, **kwargs) for h in helms]
    return [f.result() for f in futures]


def _log_time(helm: str, command: str, seconds: float) -> None:
    """With LLMCHARTS_HELM_TIMES=FILE, append each helm call's duration to FILE (scripts/bench sums them, across
    the processes of a test run)."""
    log = os.environ.get("LLMCHARTS_HELM_TIMES")
    if log:
        with open(log, "a") as fh:
            fh.write(f"{helm}\t{command}\t{seconds:.4f}\n")


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: same documents, several times faster


def parse_manifests(text: str) -> list[dict]:
    return [d for d in yaml.load_all(text, Loader=_Loader) if d]


def chart_dependencies(chart: Path) -> list[Path]:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    deps = []
    for d in meta.get("dependencies") or []:
        repo = d.get("repository", "")
        if repo.startswith("file://"):
            deps.append((chart / repo[len("file://"):]).resolve())
    return deps


def build_all_dependencies(helm: Helm, charts: list[Path]) -> None:
    """`helm dependency build` every chart, dependencies first (an umbrella packages its subcharts' deps)."""
    done: set[Path] = set()

    def visit(chart: Path, stack: tuple = ()):
        if chart in done:
            return
        if chart in stack:
            raise RuntimeError(f"dependency cycle: {' -> '.join(map(str, stack + (chart,)))}")
        deps = chart_dependencies(chart)
        for dep in deps:
            visit(dep, stack + (chart,))
        if deps:
            stamp = paths.CACHE / "helm-dependency" / f"{chart.name}.sha256"
            want = _dependency_digest(chart, deps)
            if not (stamp.exists() and stamp.read_text() == want and list((chart / "charts").glob("*.tgz"))):
                helm.dependency_build(chart)
                stamp.parent.mkdir(parents=True, exist_ok=True)
                stamp.write_text(_dependency_digest(chart, deps))
        done.add(chart)

    # One builder at a time: parallel test runs would otherwise rewrite the same charts/*/charts/*.tgz.
    lock = paths.ROOT / ".cache" / "helm-dependency.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        for c in charts:
            visit(c.resolve())


def _dependency_digest(chart: Path, deps: list[Path]) -> str:
    """What `helm dependency build` of chart depends on: its Chart.yaml, every file of its file:// dependencies and
    the packaged dependencies it made (a rebuild is skipped while this is unchanged)."""
    h = hashlib.sha256()
    files = [chart / "Chart.yaml", *sorted((chart / "charts").glob("*.tgz"))]
    files += [f for d in deps for f in sorted(d.rglob("*")) if f.is_file()]
    for f in files:
        h.update(f"{f}\0{f.stat().st_size}\0".encode() + f.read_bytes())
    return h.hexdigest()


def field_named(message: str, field_path: str) -> bool:
    """Does a helm error message name this field (dotted path, e.g. engine.tensorParallelSize)?

    Accepts helm 3's schema errors (engine.tensorParallelSize / "engine: Additional property x"), helm 4's
    (at '/engine/tensorParallelSize' / at '/engine': additional properties 'x') and the charts' own
    template failures, which name the dotted path.
    """
    parts = field_path.split(".")
    if field_path in message or "/" + "/".join(parts) in message:
        return True
    parent, leaf = parts[:-1], parts[-1]
    parent_forms = [".".join(parent) + ":", f"'/{'/'.join(parent)}'"] if parent else ["(root)", "at ''"]
    return re.search(rf"\b{re.escape(leaf)}\b", message) is not None and any(p in message for p in parent_forms)
