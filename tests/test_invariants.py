"""Each invariant catches what it is for: a correct render passes it, and a render broken in exactly that way
fails it. The table below must cover every registered invariant."""
import copy

import pytest

from llmcharts import invariants, paths
from llmcharts.invariants import dig


@pytest.fixture(scope="module")
def good(helms):
    r = helms["helm3"].template(paths.CHARTS / "vllm", [paths.CHARTS / "vllm" / "ci" / "full-values.yaml"], release="inv")
    assert r.ok, r.error
    return r.objects


def find(objs, kind):
    return next(o for o in objs if o["kind"] == kind)


def container(objs):
    return find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def pod(objs):
    return find(objs, "Deployment")["spec"]["template"]["spec"]


def _gpu_limit_differs(o):
    container(o)["resources"]["limits"]["nvidia.com/gpu"] = 4


def _no_toleration(o):
    pod(o)["tolerations"] = []


def _no_shm(o):
    container(o)["volumeMounts"] = [m for m in container(o)["volumeMounts"] if m["mountPath"] != "/dev/shm"]


def _shm_too_big(o):
    next(v for v in pod(o)["volumes"] if v["name"] == "dshm")["emptyDir"]["sizeLimit"] = "200Gi"


def _cuda_visible(o):
    container(o)["env"].append({"name": "CUDA_VISIBLE_DEVICES", "value": "0,1"})


def _literal_token(o):
    container(o)["env"].append({"name": "HF_TOKEN", "value": "hf_x"})


def _literal_api_key_flag(o):
    container(o)["args"].append("--api-key=sk-123")


def _no_startup_probe(o):
    del container(o)["startupProbe"]


def _probe_wrong_port(o):
    container(o)["readinessProbe"]["httpGet"]["port"] = "metrics"


def _service_links(o):
    pod(o)["enableServiceLinks"] = True


def _grace_too_short(o):
    pod(o)["terminationGracePeriodSeconds"] = 10


def _service_selects_nothing(o):
    find(o, "Service")["spec"]["selector"]["app.kubernetes.io/component"] = "gateway"


def _service_wrong_target_port(o):
    find(o, "Service")["spec"]["ports"][0]["targetPort"] = "grpc"


def _monitor_wrong_port(o):
    find(o, "ServiceMonitor")["spec"]["endpoints"][0]["port"] = "metrics"


def _hpa_target_missing(o):
    find(o, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] = "other"


def _replicas_with_hpa(o):
    find(o, "Deployment")["spec"]["replicas"] = 2


def _bad_name(o):
    find(o, "Service")["metadata"]["name"] = "Vllm_Service"


def _bad_label(o):
    find(o, "Deployment")["metadata"]["labels"]["team"] = "a b"


def _missing_standard_label(o):
    del find(o, "ServiceAccount")["metadata"]["labels"]["app.kubernetes.io/instance"]


BREAKS = {
    "gpu_requests_equal_limits": [_gpu_limit_differs],
    "gpu_pods_tolerate_gpu_taint": [_no_toleration],
    "multi_gpu_pods_mount_memory_shm": [_no_shm, _shm_too_big],
    "no_hand_set_visible_devices": [_cuda_visible],
    "secrets_only_from_secret_refs": [_literal_token, _literal_api_key_flag],
    "engine_containers_have_probes": [_no_startup_probe, _probe_wrong_port],
    "engine_pods_drain_gracefully": [_service_links, _grace_too_short],
    "services_select_rendered_pods": [_service_selects_nothing, _service_wrong_target_port],
    "monitors_and_scalers_point_at_rendered_objects": [_monitor_wrong_port, _hpa_target_missing, _replicas_with_hpa],
    "names_and_labels_valid": [_bad_name, _bad_label],
    "standard_labels_present": [_missing_standard_label],
}


def test_every_invariant_has_a_breaking_case():
    assert set(BREAKS) == set(invariants.ALL)


def test_good_render_passes_every_invariant(good):
    assert invariants.run_all(good) == []


@pytest.mark.parametrize("name,brk", [(n, b) for n, bs in BREAKS.items() for b in bs],
                         ids=lambda x: x if isinstance(x, str) else x.__name__.strip("_"))
def test_invariant_catches_its_fault(name, brk, good):
    objs = copy.deepcopy(good)
    brk(objs)
    found = list(invariants.ALL[name](objs))
    assert found, f"{name} missed {brk.__name__}"
    assert all(v.invariant == name for v in found)
