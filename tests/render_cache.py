"""Shared helm renders for the tests: each distinct render runs once per session, and every test renders through here.

A render is distinct by helm, chart, values files and their contents, release, namespace and --set-json values; it
runs on the helm thread pool, so a test that needs many starts them all at once; tests read their own copies of the
objects. Chart binds a chart to its defaults (release, namespace, base values files) for a test module."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import threading
from concurrent.futures import Future
from pathlib import Path

from llmcharts import paths
from llmcharts.check import Report, judge
from llmcharts.helm import Helm, Render, pool

_CACHE: dict[tuple, Future] = {}
_LOCK = threading.Lock()
STATS = {"requested": 0, "rendered": 0}


def _key(helm: Helm, chart: Path, files, release, namespace, set_values) -> tuple:
    contents = tuple((str(f), hashlib.sha256(Path(f).read_bytes()).hexdigest()) for f in files)
    return (helm.name, str(chart), contents, release, namespace, json.dumps(set_values, sort_keys=True))


def submit(helm: Helm, chart: Path, files=(), release: str = "test", namespace: str = "llm-test",
           set_values: dict | None = None) -> Future:
    """Start this render (or find it started): a Future of its llmcharts.helm.Render."""
    key = _key(helm, chart, files, release, namespace, set_values or None)
    with _LOCK:
        STATS["requested"] += 1
        if key not in _CACHE:
            STATS["rendered"] += 1
            _CACHE[key] = pool().submit(helm.template, chart, list(files), release=release, namespace=namespace,
                                        set_values=set_values or None)
        return _CACHE[key]


def template(helm: Helm, chart: Path, files=(), **kw) -> Render:
    """The render, with objects of its own (a test may change them)."""
    r = submit(helm, chart, files, **kw).result()
    return dataclasses.replace(r, objects=pickle.loads(pickle.dumps(r.objects)))


def render(helm: Helm, chart: Path, files=(), **kw) -> Render:
    """A render that must succeed."""
    r = template(helm, chart, files, **kw)
    assert r.ok, r.error
    return r


def library_probe(where: Path, template: str) -> Path:
    """A chart at `where` that depends on llm-common and renders `template` (templates/probe.yaml): to call the
    library's helpers directly. Its charts/ holds a copy of llm-common, so it renders without a dependency build."""
    import shutil
    (where / "templates").mkdir(parents=True, exist_ok=True)
    shutil.copytree(paths.CHARTS / "llm-common", where / "charts" / "llm-common", dirs_exist_ok=True)
    (where / "Chart.yaml").write_text(f"apiVersion: v2\nname: {where.name}\nversion: 0.1.0\ndependencies:\n"
                                      "  - name: llm-common\n    version: 0.1.0\n")
    (where / "templates" / "probe.yaml").write_text(template)
    return where


def everywhere(helms: dict, chart: Path, files=(), **kw) -> list[Render]:
    """The render under every helm (concurrently)."""
    futures = [submit(h, chart, files, **kw) for h in helms.values()]
    return [dataclasses.replace(f.result(), objects=pickle.loads(pickle.dumps(f.result().objects))) for f in futures]


def report(helms: dict, chart: Path, files=(), crd_dirs=None, **kw) -> Report:
    """llmcharts.check's report on this render under every helm: agreement, strict schemas, invariants."""
    futures = [submit(h, chart, files, **kw) for h in helms.values()]
    return judge(chart, list(files), [f.result() for f in futures], crd_dirs)


class Chart:
    """One chart's renders for a test module: render = Chart("vllm").objects, then render(helms, *files, **set_values),
    where set_values are --set-json values (engine={"maxModelLen": 4096}). base: values files put before the test's;
    release and helm are defaults a call may override."""

    def __init__(self, name: str, base=(), release: str = "test", namespace: str = "llm-test", helm: str = "helm4"):
        self.path = paths.CHARTS / name
        self.base, self.release, self.namespace, self.helm = list(base), release, namespace, helm

    def _args(self, files, release, set_values) -> tuple:
        return self.path, [*self.base, *files], {"release": release or self.release, "namespace": self.namespace,
                                                 "set_values": set_values}

    def render(self, helms: dict, *files, helm: str | None = None, release: str | None = None, **set_values) -> Render:
        """A render that must succeed."""
        chart, files, kw = self._args(files, release, set_values)
        return render(helms[helm or self.helm], chart, files, **kw)

    def objects(self, helms: dict, *files, **kw) -> list[dict]:
        """The objects of a render that must succeed."""
        return self.render(helms, *files, **kw).objects

    def error(self, helms: dict, *files, release: str | None = None, **set_values) -> str:
        """The message of a render that must fail."""
        chart, files, kw = self._args(files, release, set_values)
        r = template(helms[self.helm], chart, files, **kw)
        assert not r.ok, f"{r.helm} rendered bad values {files} {set_values}"
        return r.error

    def error_everywhere(self, helms: dict, *files, release: str | None = None, **set_values) -> str:
        """The message of a render that must fail under every helm (the last helm's)."""
        chart, files, kw = self._args(files, release, set_values)
        msgs = []
        for r in everywhere(helms, chart, files, **kw):
            assert not r.ok, f"{r.helm} rendered bad values {files} {set_values}"
            msgs.append(r.error)
        return msgs[-1]
