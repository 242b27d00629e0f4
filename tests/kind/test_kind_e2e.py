"""Cluster end-to-end (marked `kind`): each target of tests/kind/values is installed with the pinned helm into a
namespace of pytest-helm-charts' namespace_factory, waited for with its waiters (Deployments, InferenceServices,
RayServices), then checked the way a user would see it through the kubernetes client: pods Ready without
restarts, GPU pods on GPU nodes, a pod without the GPU toleration kept off them, the OpenAI API through a
port-forward (through the gateway for llm-stack), and the chart's `helm test` hook. Failures print the namespace's
events and the logs of its failing pods.

Run: scripts/test -m kind tests/kind (a kind cluster with mock GPUs, prepared by scripts/kind-prepare.sh), or on a
real GPU cluster: LLMCHARTS_E2E_CLUSTER=current scripts/test -m kind tests/kind. Without Docker and kind every test
here is skipped with the reason in the summary.
"""
import secrets
from urllib.parse import urlparse

import pytest

import kindlib
from kind_fixtures import e2e_cluster, kube, kube_config  # noqa: F401 (fixtures; kube_config overrides pytest-helm-charts')
import smoke
from kube import PortForward, scheduled_condition
from llmcharts import e2e, kindplan
from llmcharts.objects import gpu_resources
from llmcharts.pods import pod_templates

TARGETS = kindplan.targets(kindlib.MODE)
pytestmark = pytest.mark.kind
PROBE_IMAGE = "registry.k8s.io/pause:3.10"  # preloaded on every kind node (the sandbox image)


@pytest.fixture(scope="module", params=TARGETS, ids=lambda t: t.name)
def release(request, e2e_cluster, kube, kube_cluster, namespace_factory):
    target = request.param
    ns = namespace_factory(f"e2e-{target.name}-{secrets.token_hex(3)}"[:63].strip("-")).name
    rel = kindlib.install(e2e_cluster, kube, target, ns, target.name[:40].strip("-"))
    try:
        print(f"{target.name}: ready: {kindlib.wait_ready(rel, kube_cluster.kube_client)}")
        yield rel
    finally:
        kindlib.uninstall(rel)


def gpu_request(pod: dict) -> dict:
    return {name: int(lim or req) for c in pod["spec"]["containers"] for name, (req, lim) in gpu_resources(c).items()}


def contains(expected, actual) -> bool:
    """Every value of expected is in actual (the API server adds defaults such as httpGet.scheme)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(contains, expected, actual))
    return expected == actual or str(expected) == str(actual)


def test_targets_exist(e2e_cluster):
    """Run against a cluster, the selection (LLMCHARTS_E2E_CLUSTER, _TARGETS, _CHARTS) leaves something to test."""
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
                    if rendered[c["name"]].get(probe):
                        assert contains(rendered[c["name"]][probe], c.get(probe)), \
                            f"{c['name']}: the running pod's {probe} is not the chart's"


def test_gpu_pods_landed_on_gpu_nodes(release):
    for pod in release.pods():
        node = release.kube.node(pod["spec"]["nodeName"])
        want = gpu_request(pod)
        for resource, n in want.items():
            alloc = int(node["status"]["allocatable"].get(resource, "0"))
            assert alloc >= n, f"{pod['metadata']['name']} asks {n} {resource}; node {node['metadata']['name']} has {alloc}"
        for key, value in (pod["spec"].get("nodeSelector") or {}).items():
            assert node["metadata"]["labels"].get(key) == value, f"node lacks the selected label {key}={value}"
        if not want:
            taints = {t["key"] for t in node["spec"].get("taints") or [] if t.get("effect") == "NoSchedule"}
            assert not any(k.endswith("/gpu") for k in taints), f"CPU pod landed on GPU node {node['metadata']['name']}"


def test_pod_without_the_gpu_toleration_is_kept_off_gpu_nodes(release):
    engine = next((p for p in release.pods() if gpu_request(p)), None)
    if engine is None:
        pytest.skip(f"{release.target.name} has no GPU pod")
    resource = next(iter(gpu_request(engine)))
    node = release.kube.node(engine["spec"]["nodeName"])
    if not any(t["key"] == resource for t in node["spec"].get("taints") or []):
        pytest.skip(f"GPU node {node['metadata']['name']} has no {resource} taint: nothing keeps other pods off it")
    ns, core = release.namespace, release.kube.core

    def probe(name: str, tolerate: bool) -> dict:
        spec = {"restartPolicy": "Never", "nodeSelector": engine["spec"].get("nodeSelector") or {},
                "containers": [{"name": "pause", "image": PROBE_IMAGE,
                                "resources": {"requests": {resource: 1}, "limits": {resource: 1}}}]}
        if tolerate:
            spec["tolerations"] = [{"key": resource, "operator": "Exists", "effect": "NoSchedule"}]
        return {"apiVersion": "v1", "kind": "Pod", "spec": spec, "metadata": {"name": name, "labels": {
            "app.kubernetes.io/name": "scheduling-probe", "app.kubernetes.io/managed-by": "pytest"}}}

    bare = f"no-toleration-{secrets.token_hex(3)}"
    core.create_namespaced_pod(ns, probe(bare, False))
    try:
        pod = release.kube.scheduling_decision(ns, bare)
        if any(t.get("key") == resource for t in pod["spec"].get("tolerations") or []):
            pytest.skip(f"this cluster adds the {resource} toleration itself (ExtendedResourceToleration admission)")
        cond = scheduled_condition(pod)
        assert cond["status"] == "False", f"scheduled on {pod['spec'].get('nodeName')} without the toleration"
        assert f"untolerated taint {{{resource}" in cond["message"], cond["message"]
    finally:
        core.delete_namespaced_pod(bare, ns)
    if kindlib.MODE != "kind":
        return  # on a real cluster, do not hold a real GPU for the control probe
    # Control: the same pod with the toleration schedules, so the taint (not capacity or the selector) kept it off.
    tolerated = f"toleration-{secrets.token_hex(3)}"
    core.create_namespaced_pod(ns, probe(tolerated, True))
    try:
        pod = release.kube.scheduling_decision(ns, tolerated)
        assert scheduled_condition(pod)["status"] == "True", f"the tolerating control pod did not schedule: {pod}"
    finally:
        core.delete_namespaced_pod(tolerated, ns)


def test_openai_api_through_port_forward(release):
    env = release.test_env()
    gateway = [o for o in release.objects if o.get("kind") == "Service"
               and o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "gateway"]
    if gateway:  # llm-stack: the client talks to the gateway, which routes by model to the engine
        service, port, path = gateway[0]["metadata"]["name"], gateway[0]["spec"]["ports"][0]["port"], "/v1"
    else:
        url = urlparse(env["BASE_URL"])
        service, port, path = url.hostname.split(".")[0], url.port, url.path
    pod, target_port = release.kube.service_pod(release.namespace, service, port)
    with PortForward(release.kube, release.namespace, pod, target_port) as local:
        checked = smoke.openai_smoke(local + path, env["MODEL"], env.get("OPENAI_API_KEY"))
        if release.target.chart in ("vllm", "tgi"):  # the forwarded pod is the engine the render describes
            checked += e2e.assert_probe_paths_answer(release.objects, local)
            missing = e2e.referenced_metrics(release.objects) - e2e.exposed_metrics(local)
            assert not missing, f"metrics referenced by the render but not exported by the engine: {sorted(missing)}"
    print(f"{release.target.name} via {service}: " + "; ".join(checked))


def test_helm_test_hook_passes(release):
    out = kindlib.helm_test(release)
    assert "PASS: /models lists" in out and "PASS: /completions returned choices" in out, out[-3000:]
    if release.test_env().get("OPENAI_API_KEY"):
        assert "PASS: requests without the API key are refused (401)" in out, out[-3000:]
