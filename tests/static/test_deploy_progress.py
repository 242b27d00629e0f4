"""scripts/deploy's progress lines: a pod's phase from its status as the API server reports it (pending, fetching,
loading, probes, ready)."""
import pytest

from llmcharts.progress import describe, pod_phase


def pod(init=None, containers=None, phase="Pending"):
    st = {"phase": phase}
    if init is not None:
        st["initContainerStatuses"] = init
    if containers is not None:
        st["containerStatuses"] = containers
    return {"metadata": {"name": "llm-vllm-abc"}, "status": st}


FETCH_RUNNING = [{"name": "fetch-model", "state": {"running": {"startedAt": "now"}}}]
FETCH_DONE = [{"name": "fetch-model", "state": {"terminated": {"exitCode": 0}}}]
FETCH_FAILED = [{"name": "fetch-model", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
RUNNING = {"name": "vllm", "state": {"running": {}}}


@pytest.mark.parametrize("p,want", [
    (pod(), "pending (Pending)"),
    (pod(init=FETCH_RUNNING, containers=[{"name": "vllm", "state": {"waiting": {"reason": "PodInitializing"}}}]),
     "fetching (fetch-model 1/1: running)"),
    (pod(init=FETCH_FAILED), "fetching (fetch-model 1/1: waiting CrashLoopBackOff)"),
    (pod(init=FETCH_DONE, containers=[{"name": "vllm", "state": {"waiting": {"reason": "ContainerCreating"}}}]),
     "pending (ContainerCreating)"),
    (pod(init=FETCH_DONE, containers=[{**RUNNING, "started": False, "ready": False}], phase="Running"),
     "loading (startup probe)"),
    (pod(containers=[{**RUNNING, "started": True, "ready": False}], phase="Running"), "probes (readiness)"),
    (pod(containers=[{**RUNNING, "started": True, "ready": True}], phase="Running"), "ready"),
])
def test_pod_phase(p, want):
    assert pod_phase(p) == want


def test_describe_names_each_pod():
    assert describe([pod()]) == "llm-vllm-abc: pending (Pending)"
    assert describe([]) == "no pods yet"
