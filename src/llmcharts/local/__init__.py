"""Run a rendered release on this machine's CPU, as a cluster would run it (see runner.LocalRunner)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from .images import RunnerError
from .runner import LocalRunner

__all__ = ["LocalRunner", "RunnerError", "local_overlay", "wait_for_gateway_models"]


def local_overlay(chart: Path, workdir: Path) -> Path:
    """values/local/cpu.yaml for a vLLM chart; for the umbrella, the same under its vllm key."""
    import yaml

    from .. import paths
    overlay = paths.VALUES / "local" / "cpu.yaml"
    if chart.name != "llm-stack":
        return overlay
    nested = Path(workdir) / "cpu-under-vllm.yaml"
    nested.parent.mkdir(parents=True, exist_ok=True)
    nested.write_text(yaml.safe_dump({"vllm": yaml.safe_load(overlay.read_text())}))
    return nested


def gateway_models(base: str, api_key: str | None = None, timeout: float = 5) -> list[str]:
    """The ids the gateway's GET /v1/models lists for this key."""
    req = urllib.request.Request(base + "/v1/models", headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return [m["id"] for m in json.loads(r.read())["data"]]


def wait_for_gateway_models(base: str, api_key: str | None = None, want: list[str] | None = None,
                            timeout: float = 300) -> list[str]:
    """Until the gateway lists every wanted model (or any model): the registrar has registered the ready engine
    pods and the router takes them."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            ids = gateway_models(base, api_key)
            if ids and set(want or []) <= set(ids):
                return ids
            last = ids
        except (OSError, ValueError, KeyError, urllib.error.URLError) as e:
            last = repr(e)
        time.sleep(1)
    raise TimeoutError(f"the gateway at {base} did not list {want or 'a model'} within {timeout:.0f}s (last: {last})")
