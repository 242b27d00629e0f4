"""GPU scheduling at the presets' scale without GPUs (marked `kind`): the fake fleet of tests/kind/fleet.yaml (e.g.
4 nodes x 8 H100) is created as kwok-managed Nodes, and every GPU preset's pods (values/<chart>/*.yaml, rendered
with the pinned helm) are submitted as scheduling twins (src/llmcharts/fleet.py); the real scheduler must place
each on a node with the selected product, enough GPUs and a tolerated taint. A preset asking for a product no node
has must stay Pending, with the scheduler's reason asserted (PodScheduled=False/Unschedulable, FailedScheduling).
Needs kwok on the cluster (scripts/kind-prepare.sh operator kwok; the kind workflow's gpu-scheduling job)."""
import secrets
import time

import pytest

import render_cache
from llmcharts import fleet, kindplan, paths
from llmcharts.helm import Helm
from kube import scheduled_condition
from kind_fixtures import e2e_cluster, kube, kube_config  # noqa: F401 (fixtures; kube_config overrides pytest-helm-charts')

pytestmark = pytest.mark.kind
FLEET = kindplan.fleet()
GPU_PRESETS = [p for p in sorted(paths.VALUES.glob("*/*.yaml")) if (paths.CHARTS / p.parent.name).is_dir()]
MISSING_PRODUCT = "NVIDIA-B200"


@pytest.fixture(scope="module")
def fake_nodes(kube):
    try:
        kube.custom.list_cluster_custom_object("kwok.x-k8s.io", "v1alpha1", "stages")
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"kwok is not installed on this cluster (scripts/kind-prepare.sh operator kwok): {e}")
    nodes = fleet.nodes(FLEET)
    for n in nodes:
        kube.core.create_node(n)
        # capacity is status: set it through the status subresource too, as scripts/kind-gpu-mock.sh does
        kube.core.patch_node_status(n["metadata"]["name"], {"status": n["status"]})
    yield nodes
    for n in nodes:
        kube.core.delete_node(n["metadata"]["name"])


def render(preset, **set_values) -> list[dict]:
    return render_cache.render(Helm("helm3"), paths.CHARTS / preset.parent.name, [preset],
                               release=preset.stem[:30].strip("-"), set_values=set_values).objects


def submit(kube, namespace: str, twins) -> list[dict]:
    for tw in twins:
        kube.core.create_namespaced_pod(namespace, tw.pod)
    try:
        return [kube.scheduling_decision(namespace, tw.name) for tw in twins]
    finally:
        for tw in twins:
            kube.core.delete_namespaced_pod(tw.name, namespace, grace_period_seconds=0)


@pytest.mark.parametrize("preset", GPU_PRESETS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_gpu_preset_pods_schedule_on_matching_fake_nodes(preset, kube, fake_nodes, namespace_factory):
    twins = fleet.twins(render(preset), FLEET["kwokTaint"], f"tw-{secrets.token_hex(2)}")
    if not twins:
        pytest.skip(f"{preset.name} requests no GPU")
    ns = namespace_factory("gpu-scheduling").name
    decisions = submit(kube, ns, twins)
    for tw, pod in zip(twins, decisions):
        cond = scheduled_condition(pod)
        assert cond["status"] == "True", f"{tw.source}: not scheduled: {cond.get('message')}"
        node = kube.node(pod["spec"]["nodeName"])
        for key, value in tw.pod["spec"]["nodeSelector"].items():
            assert node["metadata"]["labels"].get(key) == value, f"{tw.source} on {node['metadata']['name']}: {key}"
        for c in tw.pod["spec"]["containers"]:
            for resource, count in ((c.get("resources") or {}).get("limits") or {}).items():
                if resource.endswith("/gpu"):
                    assert int(node["status"]["allocatable"][resource]) >= int(count)
                    assert any(t["key"] == resource for t in node["spec"]["taints"]), "GPU node without its taint"
    print(f"{preset.parent.name}/{preset.name}: {len(twins)} pods on {sorted(p['spec']['nodeName'] for p in decisions)}")



def test_preset_asking_for_a_missing_product_stays_pending_with_the_reason(kube, fake_nodes, namespace_factory):
    preset = paths.VALUES / "vllm" / "llama-3.1-8b-l4.yaml"
    twins = fleet.twins(render(preset, **{"accelerator.product": MISSING_PRODUCT}), FLEET["kwokTaint"], "missing")
    ns = namespace_factory("gpu-scheduling").name
    kube.core.create_namespaced_pod(ns, twins[0].pod)
    try:
        pod = kube.scheduling_decision(ns, twins[0].name)
        cond = scheduled_condition(pod)
        assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
        assert cond["status"] == "False" and cond["reason"] == "Unschedulable", cond
        assert "didn't match Pod's node affinity/selector" in cond["message"], cond["message"]
        deadline = time.monotonic() + 60
        while not (events := kube.failed_scheduling_events(ns, twins[0].name)) and time.monotonic() < deadline:
            time.sleep(2)
        assert any("node affinity/selector" in m for m in events), events
    finally:
        kube.core.delete_namespaced_pod(twins[0].name, ns, grace_period_seconds=0)
