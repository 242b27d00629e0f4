"""Shared helm renders for the tests: each distinct render (helm, chart, values files and their contents, release,
namespace, --set-json values) runs once per session, on the helm thread pool, so a test that needs many starts
them all at once; tests read their own copies of the objects."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import threading
from concurrent.futures import Future
from pathlib import Path

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


def everywhere(helms: dict, chart: Path, files=(), **kw) -> list[Render]:
    """The render under every helm (concurrently)."""
    futures = [submit(h, chart, files, **kw) for h in helms.values()]
    return [dataclasses.replace(f.result(), objects=pickle.loads(pickle.dumps(f.result().objects))) for f in futures]
