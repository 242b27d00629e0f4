"""Cluster end-to-end (marked `kind`): each target of tests/kind/values is installed with the pinned helm and
`--wait` (so Ready comes through the chart's own probes), then checked the way a user would see it:
pods Ready without restarts, GPU pods on GPU nodes, a pod without the GPU toleration kept off them, the OpenAI API
through `kubectl port-forward` (the same probe/metric checks as the local e2e, plus the client's view), and the
chart's `helm test` hook.

Run: scripts/test -m kind tests/kind (a kind cluster with mock GPUs, see tests/kind/kindlib.py), or on a real GPU
cluster: LLMCHARTS_E2E_CLUSTER=current scripts/test -m kind tests/kind. Without Docker and kind every test here is
skipped with the reason in the summary; the rest of the suite does not depend on them.
"""
import json
import secrets
import time
from urllib.parse import urlparse

import pytest

import kindlib
from llmcharts.invariants import dig, gpu_resources, pod_templates

WHY_NOT = kindlib.unavailable()
TARGETS = kindlib.targets()

pytestmark = [pytest.mark.kind, pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")]


@pytest.fixture(scope="session")
def cluster(request, tmp_path_factory):
    if not kindlib.opted_in(request.config.option.markexpr):
        pytest.skip("the cluster e2e tests are opt-in (they start a cluster and pull GB of images): "
                    "scripts/test -m kind tests/kind, or LLMCHARTS_KIND=1")
    c = kindlib.connect(tmp_path_factory.mktemp("cluster"))
    yield c
    kindlib.disconnect(c)


@pytest.fixture(scope="module", params=TARGETS, ids=lambda t: t.name)
def release(request, cluster):
    rel = kindlib.install(cluster, request.param)
    yield rel
    kindlib.uninstall(rel)


def node_of(rel, pod) -> dict:
    return rel.cluster.get("node", pod["spec"]["nodeName"])


def gpu_request(pod: dict) -> dict:
    out = {}
    for c in pod["spec"]["containers"]:
        for name, (req, lim) in gpu_resources(c).items():
            out[name] = int(lim or req)
    return out


def contains(expected, actual) -> bool:
    """Every value of expected is in actual (the API server adds defaults such as httpGet.scheme)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(contains, expected, actual))
    return expected == actual or str(expected) == str(actual)


def test_targets_exist():
    assert TARGETS, f"no tests/kind/values target for LLMCHARTS_E2E_CLUSTER={kindlib.MODE}"


def test_engine_pods_ready_through_their_probes(release):
    pods = release.pods()
    assert pods, "no engine pod"
    rendered = {c["name"]: c for p in pod_templates(release.objects) if p.is_engine for c in p.containers(init=False)}
    for pod in pods:
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready.get("Ready") == "True", f"{pod['metadata']['name']} is not Ready: {pod['status']['conditions']}"
        for cs in pod["status"]["containerStatuses"]:
            # A restart while loading means a probe (liveness, or a too-short startup budget) killed the engine.
            assert cs["restartCount"] == 0, f"{cs['name']} restarted {cs['restartCount']} times"
            assert cs["ready"] and "running" in cs["state"], cs
        for c in pod["spec"]["containers"]:
            if c["name"] in rendered:
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    assert contains(rendered[c["name"]][probe], c.get(probe)), \
                        f"{c['name']}: the running pod's {probe} is not the chart's"


def test_gpu_pods_landed_on_gpu_nodes(release):
    for pod in release.pods():
        node = node_of(release, pod)
        taints = {t["key"] for t in node["spec"].get("taints") or [] if t.get("effect") == "NoSchedule"}
        want = gpu_request(pod)
        if not want:
            assert not any(k.endswith("/gpu") for k in taints), \
                f"CPU pod {pod['metadata']['name']} landed on GPU node {node['metadata']['name']}"
            continue
        for resource, n in want.items():
            alloc = int(node["status"]["allocatable"].get(resource, "0"))
            assert alloc >= n, f"{pod['metadata']['name']} asks {n} {resource}; node {node['metadata']['name']} has {alloc}"
        for key, value in (pod["spec"].get("nodeSelector") or {}).items():
            assert node["metadata"]["labels"].get(key) == value, f"node lacks the selected label {key}={value}"


def test_pod_without_the_gpu_toleration_is_kept_off_gpu_nodes(release):
    engine = release.pods()[0]
    want = gpu_request(engine)
    if not want:
        pytest.skip(f"{release.target.name} requests no GPU")
    resource = next(iter(want))
    node = node_of(release, engine)
    if not any(t["key"] == resource for t in node["spec"].get("taints") or []):
        pytest.skip(f"GPU node {node['metadata']['name']} has no {resource} taint: nothing keeps other pods off it")
    ns = release.namespace

    def probe_pod(name: str, tolerate: bool) -> dict:
        spec = {"restartPolicy": "Never", "nodeSelector": engine["spec"].get("nodeSelector") or {},
                "containers": [{"name": "pause", "image": kindlib.PAUSE_IMAGE,
                                "resources": {"requests": {resource: 1}, "limits": {resource: 1}}}]}
        if tolerate:
            spec["tolerations"] = [{"key": resource, "operator": "Exists", "effect": "NoSchedule"}]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns,
                "labels": {"app.kubernetes.io/name": "scheduling-probe", "app.kubernetes.io/managed-by": "pytest"}},
                "spec": spec}

    def scheduled(name: str, timeout: int = 90) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            pod = release.cluster.get("pod", name, "-n", ns)
            cond = next((c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"), None)
            if cond and (cond["status"] == "True" or cond.get("reason") == "Unschedulable"):
                return pod
            assert time.monotonic() < deadline, f"{name}: no scheduling decision in {timeout}s: {pod['status']}"
            time.sleep(2)

    bare = f"no-toleration-{secrets.token_hex(3)}"
    release.cluster.kubectl("apply", "-f", "-", input=json.dumps(probe_pod(bare, False)), check=True)
    try:
        pod = scheduled(bare)
        added = [t for t in pod["spec"].get("tolerations") or [] if t.get("key") == resource]
        if added:
            pytest.skip(f"this cluster adds the {resource} toleration itself (ExtendedResourceToleration admission)")
        cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
        assert cond["status"] == "False", f"a pod requesting {resource} without the toleration was scheduled on " \
                                          f"{pod['spec'].get('nodeName')}"
        assert f"untolerated taint {{{resource}" in cond["message"], cond["message"]
    finally:
        release.cluster.kubectl("delete", "pod", bare, "-n", ns, "--wait=false")
    if kindlib.MODE != "kind":
        return  # on a real cluster, do not hold a real GPU for the control probe
    # Control: the same pod with the toleration schedules, so the taint (not capacity or the selector) kept it off.
    tolerated = f"toleration-{secrets.token_hex(3)}"
    release.cluster.kubectl("apply", "-f", "-", input=json.dumps(probe_pod(tolerated, True)), check=True)
    try:
        pod = scheduled(tolerated)
        cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
        assert cond["status"] == "True", f"the tolerating control pod did not schedule either: {cond}"
        landed = release.cluster.get("node", pod["spec"]["nodeName"])
        assert any(t["key"] == resource for t in landed["spec"].get("taints") or []), \
            f"the control pod landed on {pod['spec']['nodeName']}, not a {resource} node"
    finally:
        release.cluster.kubectl("delete", "pod", tolerated, "-n", ns, "--wait=false")


def test_openai_api_through_port_forward(release):
    from llmcharts import e2e  # the local e2e's checks, shared

    env = release.test_env()
    url = urlparse(env["BASE_URL"])
    service, port = url.hostname.split(".")[0], url.port
    with kindlib.PortForward(release.cluster, release.namespace, service, port) as local:
        checked = kindlib.openai_smoke(local + url.path, env["MODEL"], env.get("OPENAI_API_KEY"))
        # the local e2e's checks (src/llmcharts/e2e.py): every probe path answers on the real engine, and every
        # metric the render's autoscalers and monitors reference is exported by it
        checked += e2e.assert_probe_paths_answer(release.objects, local)
        wanted = e2e.referenced_metrics(release.objects)
        missing = wanted - e2e.exposed_metrics(local)
        assert not missing, f"metrics referenced by the render but not exported by the engine: {sorted(missing)}"
        checked.append(f"metrics exported: {sorted(wanted)}")
    print(f"{release.target.name}: " + "; ".join(checked))


def test_helm_test_hook_passes(release):
    r = release.cluster.helm("test", release.name, "-n", release.namespace, "--logs", "--timeout", "10m", timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"helm test failed:\n{out[-5000:]}"
    assert "PASS: /models lists" in out and "PASS: /completions returned choices" in out, out[-3000:]
    if release.test_env().get("OPENAI_API_KEY"):
        assert "PASS: requests without the API key are refused (401)" in out, out[-3000:]
    assert dig(release.test_pod, "metadata", "annotations", "helm.sh/hook") == "test"
