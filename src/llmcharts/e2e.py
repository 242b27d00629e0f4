"""Checks shared by the end-to-end and broken-variant tests, each raising AssertionError on a fault.

Checks shared by the end-to-end tests and the broken-variant tests: each takes a render (and, where it
needs one, a running engine) and raises AssertionError naming what is wrong."""
from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from . import engine_env
from .objects import dig
from .pods import pod_templates

SRC = Path(__file__).resolve().parents[1]


def engine_containers(objects: list[dict]) -> list[dict]:
    return [c for p in pod_templates(objects) if p.is_engine for c in p.serving_containers()]


def served_names(container: dict) -> list[str]:
    """The names a vLLM container serves: --served-model-name=<name>, or --served-model-name <name> <alias>..."""
    args = [str(a) for a in container.get("args") or []]
    for i, a in enumerate(args):
        if a.startswith("--served-model-name="):
            return [a.split("=", 1)[1]]
        if a == "--served-model-name":
            names = []
            for b in args[i + 1:]:
                if b.startswith("-"):
                    break
                names.append(b)
            return names
    raise AssertionError(f"container {container.get('name')} renders no --served-model-name")


def served_model_name(container: dict) -> str:
    return served_names(container)[0]


def vllm_args_errors(cases: list[tuple[str, list]]) -> dict:
    """{id: [errors]} from the pinned vLLM's own parser (engine venv), for [(id, args)]."""
    payload = json.dumps([{"id": i, "args": a} for i, a in cases])
    r = subprocess.run([str(engine_env.engine_python()), "-m", "llmcharts.vllm_args_check"], input=payload,
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"vllm_args_check failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def assert_args_parse(cases: list[tuple[str, list]]) -> dict:
    res = vllm_args_errors(cases)
    bad = {i: e for i, e in res["results"].items() if e}
    assert not bad, "vLLM rejects rendered args:\n" + "\n".join(f"  {i}: {e}" for i, e in bad.items())
    return res


def assert_probe_paths_answer(objects: list[dict], base_url: str) -> list[str]:
    """Every probe path the render declares answers 200 on the real engine."""
    checked = []
    for c in engine_containers(objects):
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            path = dig(c, kind, "httpGet", "path")
            if path is None:
                continue
            try:
                with urllib.request.urlopen(base_url + path, timeout=5) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            assert status == 200, f"{c.get('name')} {kind} {path} answers {status} on the real engine"
            checked.append(f"{kind} {path}")
    return checked


def assert_served_name_listed(objects: list[dict], client) -> str:
    """The --served-model-name the chart renders is what /v1/models lists."""
    names = {served_model_name(c) for c in engine_containers(objects)}
    listed = {m.id for m in client.models.list().data}
    assert names <= listed, f"rendered served names {sorted(names)} not in /v1/models {sorted(listed)}"
    return next(iter(names))


METRIC = re.compile(r"\b([a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+)")


def referenced_metrics(objects: list[dict]) -> set[str]:
    """Metric names the render references: HPA Pods/Object/External metrics, KEDA prometheus queries,
    ServiceMonitor relabelings, recording/alerting rules."""
    names = set()
    for o in objects:
        kind = o.get("kind")
        if kind == "HorizontalPodAutoscaler":
            for m in dig(o, "spec", "metrics", default=[]):
                for section in ("pods", "object", "external"):
                    n = dig(m, section, "metric", "name")
                    if n:
                        names.add(n)
        elif kind == "ScaledObject":
            for t in dig(o, "spec", "triggers", default=[]):
                names |= set(METRIC.findall(dig(t, "metadata", "query", default="")))
        elif kind in ("ServiceMonitor", "PodMonitor"):
            for ep in dig(o, "spec", "endpoints", default=[]) + dig(o, "spec", "podMetricsEndpoints", default=[]):
                for r in (ep.get("metricRelabelings") or []):
                    names |= set(METRIC.findall(str(r.get("regex", ""))))
        elif kind == "PrometheusRule":
            for g in dig(o, "spec", "groups", default=[]):
                for r in g.get("rules", []):
                    names |= set(METRIC.findall(str(r.get("expr", ""))))
    return names


def exposed_metrics(base_url: str) -> set[str]:
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, 1)[0])
    # histogram/summary series carry suffixes; count the base name too
    names |= {re.sub(r"_(bucket|sum|count|total|created)$", "", n) for n in names}
    return names


def stream_chat(client, model: str, content: str, max_tokens: int = 16) -> tuple[int, str | None]:
    """One streaming chat completion as a user would send it: (chunks with content, the final finish_reason)."""
    chunks, finish = 0, None
    for ch in client.chat.completions.create(model=model, messages=[{"role": "user", "content": content}],
                                             max_tokens=max_tokens, stream=True):
        if ch.choices and ch.choices[0].delta.content:
            chunks += 1
        if ch.choices and ch.choices[0].finish_reason:
            finish = ch.choices[0].finish_reason
    return chunks, finish


def http_status(url: str, method: str = "GET", body: dict | None = None, key: str | None = None,
                timeout: float = 60) -> int:
    """The HTTP status a request gets (JSON body, optional bearer key), error statuses included."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    req = urllib.request.Request(url, method=method, headers=headers,
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
