"""Rollout progress for `scripts/deploy`: each pod's phase (fetching, loading, probes, ready) and the time waited.

Rollout progress on a cluster, for `scripts/deploy` while `helm upgrade --install --wait` waits: the release's pods
from the API (kubectl), each with the phase its status shows: pending (not scheduled or pulling), fetching (an init
container runs, e.g. the model prefetch), loading (the startup probe has not passed: the engine loads the model),
probes (started, not ready yet) or ready. The local runner reports the same phases (LocalPod.phase)."""
from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path


def pod_phase(pod: dict) -> str:
    """The phase of one Pod object (v1 PodStatus)."""
    st = pod.get("status") or {}
    inits = st.get("initContainerStatuses") or []
    for i, c in enumerate(inits):
        state = c.get("state") or {}
        if "terminated" in state and state["terminated"].get("exitCode") == 0:
            continue
        how = next(iter(state), "waiting")
        reason = (state.get(how) or {}).get("reason", "")
        return f"fetching ({c.get('name')} {i + 1}/{len(inits)}: {how}{' ' + reason if reason else ''})"
    cs = st.get("containerStatuses") or []
    if not cs:
        return f"pending ({st.get('phase', 'Pending')})"
    waiting = [(c.get("state") or {}).get("waiting") for c in cs if (c.get("state") or {}).get("waiting")]
    if waiting:
        return f"pending ({waiting[0].get('reason', 'waiting')})"
    if all(c.get("ready") for c in cs):
        return "ready"
    if any(c.get("started") is False for c in cs):
        return "loading (startup probe)"
    return "probes (readiness)"


def describe(pods: list[dict]) -> str:
    return "; ".join(f"{p['metadata']['name']}: {pod_phase(p)}" for p in pods) or "no pods yet"


class ClusterProgress:
    """Prints the release's pods and their phases while a command waits: on each change, and every `every` s."""

    def __init__(self, kubectl: Path, namespace: str, release: str, every: float = 15.0, out=print):
        self.kubectl, self.namespace, self.release, self.every, self.out = kubectl, namespace, release, every, out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pods(self) -> list[dict]:
        r = subprocess.run([str(self.kubectl), "-n", self.namespace, "get", "pods", "-o", "json", "-l",
                            f"app.kubernetes.io/instance={self.release}"], capture_output=True, text=True, timeout=30)
        return json.loads(r.stdout).get("items", []) if r.returncode == 0 else []

    def _run(self) -> None:
        t0, last, said = time.monotonic(), "", 0.0
        while not self._stop.wait(2.0):
            now = describe(self._pods())
            if now != last or time.monotonic() - said >= self.every:
                self.out(f"deploy: waiting {time.monotonic() - t0:5.0f}s  {now}", flush=True)
                last, said = now, time.monotonic()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
