"""Each invariant catches what it is for: a correct render passes it, and a render broken in exactly that way
fails it. The table below must cover every registered invariant."""
import copy

import pytest

import render_cache
from llmcharts import invariants, paths
import query
from query import find, gateway_config, pod_spec


def full_render(helms, chart: str = "vllm") -> list[dict]:
    """A chart's good render, from its ci/full-values.yaml (objects of the caller's own)."""
    return render_cache.Chart(chart, release="inv", helm="helm3").objects(helms, paths.CHARTS / chart / "ci" /
                                                                          "full-values.yaml")


@pytest.fixture(scope="module")
def good(helms):
    return full_render(helms)


def container(objs):
    return query.container(find(objs, "Deployment"))


def pod(objs):
    return pod_spec(find(objs, "Deployment"))


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


# Breaks built from a kserve-llm render (ci/full-values.yaml): a ClusterServingRuntime and two InferenceServices,
# which the invariants see as the predictor pods KServe builds from them (pods.kserve_pod_templates).
def on_kserve(fn):
    fn.chart = "kserve-llm"
    return fn


def kruntime(objs):
    return find(objs, "ClusterServingRuntime")


def kcontainer(objs):
    return kruntime(objs)["spec"]["containers"][0]


def kpredictor(objs, name="llama-70b"):
    return find(objs, "InferenceService", name)["spec"]["predictor"]


@on_kserve
def _kserve_port_flag_differs(o):
    args = kcontainer(o)["args"]
    args[args.index("--port=8081")] = "--port=9000"


@on_kserve
def _kserve_model_args_override_port(o):
    kpredictor(o)["model"]["args"].append("--port=9000")  # appended to the runtime's: the last --port wins


@on_kserve
def _kserve_unguarded_port_flag_differs(o):
    args = kcontainer(o)["args"]  # the engine on all interfaces (as without the guard), on an undeclared port
    args[args.index("--host=127.0.0.1")] = "--host=0.0.0.0"
    args[args.index("--port=8081")] = "--port=9000"


def _guard_forwards_elsewhere(o):
    cm = find(o, "ConfigMap", "vllm-full-guard")
    cm["data"]["haproxy.cfg"] = cm["data"]["haproxy.cfg"].replace("server engine 127.0.0.1:8001", "server engine 127.0.0.1:8002")


def _engine_on_all_interfaces_beside_the_guard(o):
    args = container(o)["args"]
    args[args.index("--host=127.0.0.1")] = "--host=0.0.0.0"


@on_kserve
def _kserve_prometheus_port_undeclared(o):
    kruntime(o)["spec"]["annotations"]["prometheus.kserve.io/port"] = "9090"


@on_kserve
def _kserve_prometheus_port_not_served(o):
    args = kcontainer(o)["args"]  # the engine serving its own port (as without the guard)
    args[args.index("--host=127.0.0.1")] = "--host=0.0.0.0"
    kcontainer(o)["ports"].append({"name": "extra", "containerPort": 9090, "protocol": "TCP"})
    kruntime(o)["spec"]["annotations"]["prometheus.kserve.io/port"] = "9090"


@on_kserve
def _kserve_prometheus_path_relative(o):
    kruntime(o)["spec"]["annotations"]["prometheus.kserve.io/path"] = "metrics"


@on_kserve
def _kserve_runtime_container_renamed(o):
    kcontainer(o)["name"] = "vllm"  # the seed's name: KServe would not merge the model into it


@on_kserve
def _kserve_format_not_served(o):
    kpredictor(o)["model"]["modelFormat"]["name"] = "pytorch"


@on_kserve
def _kserve_protocol_not_served(o):
    kpredictor(o)["model"]["protocolVersion"] = "v2"


@on_kserve
def _kserve_gpu_limit_differs(o):
    kpredictor(o)["model"]["resources"]["limits"]["nvidia.com/gpu"] = 8


@on_kserve
def _kserve_no_toleration(o):
    del kpredictor(o)["tolerations"]


@on_kserve
def _kserve_runtime_shm_too_big(o):
    next(v for v in kruntime(o)["spec"]["volumes"] if v["name"] == "dshm")["emptyDir"]["sizeLimit"] = "200Gi"


@on_kserve
def _kserve_cuda_visible(o):
    kpredictor(o)["model"]["env"] = [{"name": "CUDA_VISIBLE_DEVICES", "value": "0,1,2,3"}]


@on_kserve
def _kserve_literal_token(o):
    kcontainer(o)["env"].append({"name": "HF_TOKEN", "value": "hf_x"})


@on_kserve
def _kserve_runtime_without_startup_probe(o):
    del kcontainer(o)["startupProbe"]


@on_kserve
def _kserve_service_links(o):
    kpredictor(o, "mistral-7b")["enableServiceLinks"] = True


@on_kserve
def _kserve_runtime_without_prestop(o):
    del kcontainer(o)["lifecycle"]


@on_kserve
def _kserve_bad_pod_label(o):
    kpredictor(o)["labels"]["team"] = "a b"


# Breaks built from a ray-llm render (ci/full-values.yaml): a RayService whose rayClusterConfig holds the head and
# one GPU worker group (pods of 2 GPUs, autoscaled between 2 and 4).
def on_ray(fn):
    fn.chart = "ray-llm"
    return fn


def ray_worker(objs):
    return find(objs, "RayService")["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]


@on_ray
def _ray_num_gpus_differs(o):
    ray_worker(o)["rayStartParams"]["num-gpus"] = "4"


@on_ray
def _ray_start_param_not_a_string(o):
    ray_worker(o)["rayStartParams"]["num-cpus"] = 16


@on_ray
def _ray_head_without_start_params(o):
    del find(o, "RayService")["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParams"]


@on_ray
def _ray_replicas_above_max(o):
    ray_worker(o)["replicas"] = 9


def on_stack(fn):
    fn.chart = "llm-stack"
    return fn


def gateway_pod(objs):
    return pod_spec(next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-gateway")))


def edit_gateway_config(objs, edit):
    import json
    cm, cfg = gateway_config(objs)
    edit(cfg["backends"])
    cm["data"]["backends.json"] = json.dumps(cfg)


@on_stack
def _stack_object_rendered_twice(o):
    o.append(copy.deepcopy(find(o, "Service")))


@on_stack
def _stack_backend_without_service(o):
    edit_gateway_config(o, lambda bs: next(b for b in bs if b["source"] == "vllm").update(service="gone-vllm"))


@on_stack
def _stack_backend_on_a_missing_port(o):
    edit_gateway_config(o, lambda bs: next(b for b in bs if b["source"] == "vllm").update(portName="grpc"))


@on_stack
def _stack_kserve_backend_off_the_predictor_port(o):
    # the <name>-predictor Service KServe creates (pods.predictor_service) listens on 80 only
    edit_gateway_config(o, lambda bs: next(b for b in bs if b["source"] == "kserve-llm").update(port=8080))


@on_stack
def _stack_model_with_two_backends(o):
    edit_gateway_config(o, lambda bs: bs.append({**bs[0], "source": "copy"}))


@on_stack
def _stack_extra_backend_shadows_engine(o):
    edit_gateway_config(o, lambda bs: bs.append({"source": "gateway.extraBackends[9]", "names": bs[0]["names"][:1],
                                                 "discovery": "url", "url": "http://x.other.svc:8000"}))


@on_stack
def _stack_port_name_declared_twice(o):
    gateway_pod(o)["containers"][1]["ports"] = [{"name": "http", "containerPort": 9000}]


@on_stack
def _stack_services_disagree_on_port_name(o):
    svc = copy.deepcopy(next(s for s in o if s["kind"] == "Service" and s["metadata"]["name"].endswith("-gateway")))
    svc["metadata"]["name"] += "-alt"
    svc["spec"]["ports"][0]["targetPort"] = "metrics"
    o.append(svc)


# Rules ported from the API server and operators (src/llmcharts/invariants/api_rules.py).
def _memory_request_above_limit(o):
    container(o)["resources"]["requests"]["memory"] = "999Gi"


def _node_port_out_of_range(o):
    svc = find(o, "Service")
    svc["spec"]["type"] = "NodePort"
    svc["spec"]["ports"][0]["nodePort"] = 8080


def _node_port_on_cluster_ip(o):
    find(o, "Service")["spec"]["ports"][0]["nodePort"] = 30080


def _scrape_timeout_above_interval(o):
    ep = find(o, "ServiceMonitor")["spec"]["endpoints"][0]
    ep.update(interval="10s", scrapeTimeout="1m")


def _image_with_double_slash(o):
    container(o)["image"] = "docker.io//vllm/vllm-openai:v0.32.0"


def _image_with_malformed_digest(o):
    container(o)["image"] = "docker.io/vllm/vllm-openai:v0.32.0@sha256:xyz"


def _served_name_with_space(o):
    args = container(o)["args"]
    i = args.index("--served-model-name")
    args[i + 1] = "llama 3"


@on_ray
def _ray_service_name_too_long(o):
    find(o, "RayService")["metadata"]["name"] = "r" * 48


@on_ray
def _ray_service_name_starts_with_digit(o):
    find(o, "RayService")["metadata"]["name"] = "1llama"


@on_ray
def _ray_runtime_env_literal_token(o):
    import yaml
    rs = find(o, "RayService")
    cfg = yaml.safe_load(rs["spec"]["serveConfigV2"])
    cfg["applications"][0]["args"]["llm_configs"][0]["runtime_env"] = {"env_vars": {"HF_TOKEN": "hf_x"}}
    rs["spec"]["serveConfigV2"] = yaml.safe_dump(cfg)


def _spaced_api_key_flag(o):
    container(o)["args"].append("--api-key sk-123")


@on_stack
def _stack_backend_name_with_space(o):
    edit_gateway_config(o, lambda bs: bs[0]["names"].__setitem__(0, "my model"))
def _no_progress_deadline(o):
    # The Kubernetes default (600 s) is below the 1800 s startup budget of a vLLM engine.
    del find(o, "Deployment")["spec"]["progressDeadlineSeconds"]


def _progress_deadline_equals_budget(o):
    p = container(o)["startupProbe"]
    find(o, "Deployment")["spec"]["progressDeadlineSeconds"] = p["failureThreshold"] * p["periodSeconds"]


BREAKS = {
    "gpu_requests_equal_limits": [_gpu_limit_differs, _kserve_gpu_limit_differs],
    "gpu_pods_tolerate_gpu_taint": [_no_toleration, _kserve_no_toleration],
    "multi_gpu_pods_mount_memory_shm": [_no_shm, _shm_too_big, _kserve_runtime_shm_too_big],
    "no_hand_set_visible_devices": [_cuda_visible, _kserve_cuda_visible],
    "secrets_only_from_secret_refs": [_literal_token, _literal_api_key_flag, _kserve_literal_token,
                                      _ray_runtime_env_literal_token, _spaced_api_key_flag],
    "engine_containers_have_probes": [_no_startup_probe, _probe_wrong_port, _kserve_runtime_without_startup_probe],
    "engine_pods_drain_gracefully": [_service_links, _grace_too_short, _kserve_service_links,
                                     _kserve_runtime_without_prestop],
    "services_select_rendered_pods": [_service_selects_nothing, _service_wrong_target_port],
    "monitors_and_scalers_point_at_rendered_objects": [_monitor_wrong_port, _hpa_target_missing, _replicas_with_hpa],
    "names_and_labels_valid": [_bad_name, _bad_label, _kserve_bad_pod_label],
    "standard_labels_present": [_missing_standard_label],
    "port_flags_match_declared_ports": [_kserve_unguarded_port_flag_differs],
    "guard_forwards_to_the_engine": [_kserve_port_flag_differs, _kserve_model_args_override_port, _guard_forwards_elsewhere,
                                     _engine_on_all_interfaces_beside_the_guard],
    "prometheus_annotations_match_ports": [_kserve_prometheus_port_undeclared, _kserve_prometheus_port_not_served,
                                           _kserve_prometheus_path_relative],
    "kserve_runtimes_serve_their_models": [_kserve_runtime_container_renamed, _kserve_format_not_served,
                                           _kserve_protocol_not_served],
    "object_names_unique": [_stack_object_rendered_twice],
    "gateway_backends_resolve": [_stack_backend_without_service, _stack_backend_on_a_missing_port, _stack_model_with_two_backends,
                                 _stack_extra_backend_shadows_engine],
    "pod_port_names_unique": [_stack_port_name_declared_twice, _stack_services_disagree_on_port_name],
    "requests_within_limits": [_memory_request_above_limit],
    "service_node_ports_valid": [_node_port_out_of_range, _node_port_on_cluster_ip],
    "scrape_timeouts_within_intervals": [_scrape_timeout_above_interval],
    "image_references_valid": [_image_with_double_slash, _image_with_malformed_digest],
    "kuberay_names_valid": [_ray_service_name_too_long, _ray_service_name_starts_with_digit],
    "served_model_names_valid": [_served_name_with_space, _stack_backend_name_with_space],
    "progress_deadline_covers_startup": [_no_progress_deadline, _progress_deadline_equals_budget],
    "ray_groups_match_their_pods": [_ray_num_gpus_differs, _ray_start_param_not_a_string,
                                    _ray_head_without_start_params, _ray_replicas_above_max],
}


def test_every_invariant_has_a_breaking_case():
    assert set(BREAKS) == set(invariants.ALL)


def test_good_render_passes_every_invariant(good):
    assert invariants.run_all(good) == []


@pytest.fixture(scope="module")
def renders(helms):
    """Good renders by chart (a break's .chart, default vllm), each from the chart's ci/full-values.yaml."""
    return lambda chart: full_render(helms, chart)


def test_good_kserve_render_passes_every_invariant(renders):
    assert invariants.run_all(renders("kserve-llm")) == []


def test_good_ray_render_passes_every_invariant(renders):
    assert invariants.run_all(renders("ray-llm")) == []


def test_good_stack_render_passes_every_invariant(renders):
    assert invariants.run_all(renders("llm-stack")) == []


@pytest.mark.parametrize("name,brk", [(n, b) for n, bs in BREAKS.items() for b in bs],
                         ids=lambda x: x if isinstance(x, str) else x.__name__.strip("_"))
def test_invariant_catches_its_fault(name, brk, renders):
    objs = renders(getattr(brk, "chart", "vllm"))
    brk(objs)
    found = list(invariants.ALL[name](objs))
    assert found, f"{name} missed {brk.__name__}"
    assert all(v.invariant == name for v in found)
