"""The ray-llm chart's own promises: the seed preset (a 70B model over 4 nodes of 8 H100), RayService by default
and RayCluster as a switch, the serve config rendered from structured values, rayStartParams as strings, the GPU
arithmetic rules, and the production defaults of the Ray pods."""
import pytest
import yaml

import render_cache
from llmcharts import discovery, paths
from query import find

CHART = paths.CHARTS / "ray-llm"
CI = CHART / "ci"
PRESET = paths.VALUES / "ray-llm" / "llama-3-70b-tp8-pp4-h100x32.yaml"
LLM_APP = "ray.serve.llm:build_openai_app"
RAY = render_cache.Chart("ray-llm")
render, fails = RAY.objects, RAY.error_everywhere


def cluster_spec(objs):
    rs = [o for o in objs if o["kind"] == "RayService"]
    return rs[0]["spec"]["rayClusterConfig"] if rs else find(objs, "RayCluster")["spec"]


def head(objs):
    return cluster_spec(objs)["headGroupSpec"]


def worker(objs):
    (w,) = cluster_spec(objs)["workerGroupSpecs"]
    return w


def container(group):
    return group["template"]["spec"]["containers"][0]


def serve_config(objs):
    rs = [o for o in objs if o["kind"] == "RayService"]
    text = rs[0]["spec"]["serveConfigV2"] if rs else find(objs, "ConfigMap")["data"]["serve.yaml"]
    assert isinstance(text, str), "serveConfigV2 must be a string (KubeRay types it so)"
    return yaml.safe_load(text)


def llm_config(objs):
    (app,) = serve_config(objs)["applications"]
    assert app["import_path"] == LLM_APP
    (cfg,) = app["args"]["llm_configs"]
    return cfg


def walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def test_seed_preset_reproduces_llama_70b_service(helms):
    objs = render(helms, PRESET)
    rs = find(objs, "RayService")
    assert rs["apiVersion"] == "ray.io/v1" and rs["metadata"]["name"] == "llama-70b-service"
    (app,) = serve_config(objs)["applications"]
    assert (app["name"], app["route_prefix"], app["import_path"]) == ("llm", "/", LLM_APP)
    cfg = llm_config(objs)
    assert cfg["model_loading_config"] == {"model_id": "llama-3-70b-instruct", "model_source": "meta-llama/Meta-Llama-3-70B-Instruct"}
    kw = cfg["engine_kwargs"]
    assert (kw["tensor_parallel_size"], kw["pipeline_parallel_size"], kw["max_model_len"]) == (8, 4, 8192)
    assert cfg["accelerator_type"] == "H100"
    # the seed's fault, not copied: no actor asks for GPUs; Ray Serve LLM places TP x PP one-GPU bundles
    assert not [v for k, v in walk(serve_config(objs)) if k in ("num_gpus", "ray_actor_options")]
    assert cfg["deployment_config"]["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 1}
    # 4 nodes x 8 H100 = TP 8 x PP 4
    w = worker(objs)
    c = container(w)
    assert (w["replicas"], w["minReplicas"], w["maxReplicas"]) == (4, 4, 4)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 8 == c["resources"]["requests"]["nvidia.com/gpu"]
    assert w["replicas"] * c["resources"]["limits"]["nvidia.com/gpu"] == 8 * 4
    assert w["rayStartParams"]["num-gpus"] == "8"
    pod = w["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert c["resources"]["limits"]["memory"] == "768Gi" and c["resources"]["requests"]["memory"] == "512Gi"
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Gi"}
    assert w["rayStartParams"]["object-store-memory"] == str(32 * 2**30)
    env = {e["name"]: e for e in c["env"]}
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "token"}
    # the seed's head had 8 GPUs and a dashboard on 0.0.0.0: no GPU here, dashboard kept reachable
    h = head(objs)
    assert "nvidia.com/gpu" not in str(container(h)["resources"])
    assert h["rayStartParams"]["dashboard-host"] == "0.0.0.0"
    assert h["rayStartParams"]["num-gpus"] == "0" and h["rayStartParams"]["num-cpus"] == "0"
    # the seed's rayproject/ray-ml:2.9.0-gpu has no Ray Serve LLM
    for g in (h, w):
        assert container(g)["image"] == "docker.io/rayproject/ray-llm:2.60.0-py312-cu130"
    assert cluster_spec(objs)["rayVersion"] == "2.60.0"
    assert rs["spec"]["upgradeStrategy"] == {"type": "None"}
    assert find(objs, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


def test_raycluster_is_a_values_switch(helms):
    svc = render(helms, CI / "raycluster-values.yaml")
    assert [o["kind"] for o in svc if o["kind"].startswith("Ray")] == ["RayCluster"]
    as_service = render(helms, CI / "raycluster-values.yaml", kind="RayService")
    assert [o["kind"] for o in as_service if o["kind"].startswith("Ray")] == ["RayService"]
    assert not [o for o in as_service if o["kind"] == "ConfigMap"]
    # the same serve config, mounted on the head for `serve deploy`, and the same cluster
    assert serve_config(svc) == serve_config(as_service)
    assert cluster_spec(svc)["workerGroupSpecs"] == cluster_spec(as_service)["workerGroupSpecs"]
    assert head(svc)["rayStartParams"] == head(as_service)["rayStartParams"]
    cm = find(svc, "ConfigMap")
    h = head(svc)
    (mount,) = container(h)["volumeMounts"]
    assert mount["mountPath"] == "/home/ray/serve-config" and mount["readOnly"] is True
    vol = next(v for v in h["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    assert vol["configMap"]["name"] == cm["metadata"]["name"]


def test_production_defaults(helms):
    objs = render(helms, CI / "minimal-values.yaml")
    rs = find(objs, "RayService")
    assert rs["spec"]["excludeHeadPodFromServeSvc"] is True
    # Like the other charts' rollouts, an upgrade needs no spare GPUs: no second cluster by default (issue 14).
    assert rs["spec"]["upgradeStrategy"] == {"type": "None"}
    for g, component, port in ((head(objs), "head", "dashboard"), (worker(objs), "engine", "dashboard-agent")):
        pod = g["template"]["spec"]
        c = container(g)
        assert g["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == component
        assert pod["enableServiceLinks"] is False and pod["automountServiceAccountToken"] is False
        assert pod["terminationGracePeriodSeconds"] == 135 and c["lifecycle"]["preStop"]["sleep"]["seconds"] == 15
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert c["startupProbe"]["httpGet"]["port"] == port and c["livenessProbe"]["httpGet"]["port"] == port
        assert {p["name"] for p in c["ports"]} >= {"serve", "metrics"}
        assert not c.get("command") and not c.get("args"), "KubeRay writes the `ray start` command"
    # workers are Ready only when their Serve proxy is (what KubeRay itself checks for RayService workers)
    c = container(worker(objs))
    assert c["readinessProbe"]["httpGet"] == {"path": "/-/healthz", "port": "serve"}
    assert c["livenessProbe"]["httpGet"]["path"] == "/api/local_raylet_healthz"
    assert container(head(objs))["readinessProbe"]["httpGet"] == {"path": "/api/gcs_healthz", "port": "dashboard"}
    # the head runs no GPU work; the worker advertises its CPU request and its GPU
    assert head(objs)["rayStartParams"] == {"dashboard-host": "0.0.0.0", "metrics-export-port": "8080",
                                            "num-cpus": "0", "num-gpus": "0"}
    assert worker(objs)["rayStartParams"] == {"metrics-export-port": "8080", "num-cpus": "8", "num-gpus": "1"}
    # the drain budget is also Serve's graceful shutdown of a replica
    assert llm_config(objs)["deployment_config"]["graceful_shutdown_timeout_s"] == 120
    assert serve_config(objs)["http_options"] == {"host": "0.0.0.0", "port": 8000}
    assert "autoscalerOptions" not in cluster_spec(objs) and cluster_spec(objs)["enableInTreeAutoscaling"] is False


def test_structured_values_become_the_llm_config(helms):
    objs = render(helms, CI / "full-values.yaml")
    cfg = llm_config(objs)
    assert cfg["engine_kwargs"] == {
        "tensor_parallel_size": 2, "pipeline_parallel_size": 2, "max_model_len": 16384, "gpu_memory_utilization": 0.9,
        "enable_prefix_caching": True, "enable_chunked_prefill": True, "max_num_seqs": 128,
        "max_num_batched_tokens": 8192, "kv_cache_dtype": "fp8", "dtype": "bfloat16",
        "enforce_eager": False, "max_logprobs": 5}
    assert cfg["deployment_config"] == {
        "max_ongoing_requests": 64, "max_queued_requests": 256, "graceful_shutdown_timeout_s": 120,
        "autoscaling_config": {"min_replicas": 1, "max_replicas": 2, "initial_replicas": 1,
                               "target_ongoing_requests": 32, "upscale_delay_s": 30, "downscale_delay_s": 600}}
    assert cfg["accelerator_type"] == "L4"
    assert cfg["runtime_env"] == {"env_vars": {"VLLM_LOGGING_LEVEL": "INFO"}}
    assert cfg["experimental_configs"] == {"stream_batching_interval_ms": 50}
    sc = serve_config(objs)
    assert sc["http_options"]["request_timeout_s"] == 600
    assert sc["applications"][0]["args"]["ingress_deployment_config"] == {"autoscaling_config": {"min_replicas": 1, "max_replicas": 2}}


def test_autoscaler_owns_the_worker_count(helms):
    objs = render(helms, CI / "full-values.yaml")
    spec = cluster_spec(objs)
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["upscalingMode"] == "Conservative"
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] == 300
    w = worker(objs)
    assert "replicas" not in w, "a helm upgrade would reset the autoscaler's count"
    assert (w["minReplicas"], w["maxReplicas"]) == (2, 4)
    # only the head (where the autoscaler sidecar runs) gets an API token
    assert head(objs)["template"]["spec"]["automountServiceAccountToken"] is True
    assert w["template"]["spec"]["automountServiceAccountToken"] is False


@pytest.mark.parametrize("case", [c for c in discovery.cases() if c.chart.name == "ray-llm"], ids=lambda c: c.id)
def test_ray_start_params_are_strings_on_every_group(case, report_for):
    """KubeRay <= 1.3 types rayStartParams map[string]string and requires it on every group."""
    rep = report_for(case)
    assert not rep.render_errors, rep.summary()
    spec = cluster_spec(rep.objects)
    for g in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
        assert g["rayStartParams"], "rayStartParams is required on KubeRay <= 1.3"
        assert all(isinstance(v, str) for v in g["rayStartParams"].values()), g["rayStartParams"]


def test_numbers_in_ray_start_params_render_without_exponent(helms):
    objs = render(helms, CI / "full-values.yaml")
    assert head(objs)["rayStartParams"]["object-store-memory"] == "2147483648"
    assert worker(objs)["rayStartParams"]["object-store-memory"] == str(8 * 2**30)
    assert worker(objs)["rayStartParams"]["min-worker-port"] == "10002"
    objs = render(helms, CI / "minimal-values.yaml", **{"worker.rayStartParams": {"num-cpus": 1e10, "block": True}})
    assert worker(objs)["rayStartParams"]["num-cpus"] == "10000000000"
    assert worker(objs)["rayStartParams"]["block"] == "true"


@pytest.mark.parametrize("tp,pp,gpus,pods,ok", [
    (8, 4, 8, 4, True),    # the seed: 32 GPUs over 4 pods
    (8, 4, 8, 3, False),   # one pod short
    (4, 2, 4, 2, True),    # pipeline stages on two pods
    (8, 1, 4, 2, False),   # tensor parallel across pods
    (2, 1, 8, 1, True),    # a replica smaller than a pod
])
def test_gpu_arithmetic(helms, tp, pp, gpus, pods, ok):
    values = {"engine.tensorParallelSize": tp, "engine.pipelineParallelSize": pp,
              "worker.accelerator": {"type": "nvidia", "count": gpus},
              "worker.replicas": pods, "worker.minReplicas": pods, "worker.maxReplicas": pods}
    if ok:
        objs = render(helms, CI / "minimal-values.yaml", **values)
        kw = llm_config(objs)["engine_kwargs"]
        assert kw["tensor_parallel_size"] * kw["pipeline_parallel_size"] <= pods * gpus
    else:
        msg = fails(helms, CI / "minimal-values.yaml", **values)
        assert "engine.tensorParallelSize" in msg


def test_services_and_monitor_select_the_right_pods(helms):
    objs = render(helms, CI / "full-values.yaml")
    api = find(objs, "Service", "ray-full")
    dash = find(objs, "Service", "ray-full-dashboard")
    assert api["spec"]["selector"]["app.kubernetes.io/component"] == "engine"
    assert api["spec"]["ports"] == [{"name": "serve", "port": 8000, "targetPort": "serve", "protocol": "TCP"}]
    assert dash["spec"]["selector"]["app.kubernetes.io/component"] == "head"
    assert dash["spec"]["ports"][0]["targetPort"] == "dashboard"
    pm = find(objs, "PodMonitor")
    sel = pm["spec"]["selector"]["matchLabels"]
    for g in (head(objs), worker(objs)):
        labels = g["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in sel.items()), "the PodMonitor scrapes head and workers"
        assert any(p["name"] == "metrics" and p["containerPort"] == 8080 for p in container(g)["ports"])
        assert g["rayStartParams"]["metrics-export-port"] == "8080"
    assert pm["metadata"]["labels"]["release"] == "prometheus"


def test_global_values_apply(helms):
    objs = render(helms, CI / "minimal-values.yaml",
                  **{"global.hfToken": {"secretName": "shared-hf", "secretKey": "tok"}, "global.gpuProduct": "NVIDIA-L4",
                     "global.imageRegistry": "mirror.example.com", "global.imagePullSecrets": ["regcred"],
                     "global.commonLabels": {"team": "ml"}})
    for g in (head(objs), worker(objs)):
        pod = g["template"]["spec"]
        env = {e["name"]: e for e in container(g)["env"]}
        assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "shared-hf", "key": "tok"}
        assert container(g)["image"].startswith("mirror.example.com/rayproject/ray-llm:")
        assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert worker(objs)["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert "nodeSelector" not in head(objs)["template"]["spec"], "the CPU head goes anywhere"
    assert all(o["metadata"]["labels"]["team"] == "ml" for o in objs)


def test_custom_image_needs_the_flag(helms):
    custom = {"image.repository": "ml/ray-llm-custom", "image.tag": "2.60.0-build7"}
    assert "image.repository" in fails(helms, CI / "minimal-values.yaml", **custom)
    objs = render(helms, CI / "minimal-values.yaml", **custom, **{"ray.customImage": True})
    assert container(worker(objs))["image"] == "docker.io/ml/ray-llm-custom:2.60.0-build7"


def test_notes(helms, tmp_path):
    r = helms["helm4"].install_dry_run(CHART, [PRESET], "llama-70b", "ml-serving", kubeconfig=tmp_path / "none")
    assert r.returncode == 0, r.stderr
    notes = r.stdout.split("NOTES:", 1)[1]
    assert "http://llama-70b-service.ml-serving.svc:8000/v1" in notes
    assert "tensor parallel 8 x pipeline parallel 4 = 32 GPUs (H100)" in notes
    assert "job submissions" in notes and "WARNING" not in notes
    r = helms["helm4"].install_dry_run(CHART, [CI / "raycluster-values.yaml"], "rc", "default",
                                       kubeconfig=tmp_path / "none", extra=("--set", "engine.trustRemoteCode=true"))
    assert r.returncode == 0, r.stderr
    assert "serve deploy /home/ray/serve-config/serve.yaml" in r.stdout
    assert "WARNING: engine.trustRemoteCode is ON" in r.stdout


def test_a_gpu_head_is_declared_to_ray_and_gets_shm(helms):
    """The head has no GPU by default; given GPUs, Ray is told (num-gpus) and NCCL gets a bounded /dev/shm."""
    from llmcharts import invariants
    objs = render(helms, CI / "minimal-values.yaml", **{"head.accelerator": {"type": "nvidia", "count": 2}})
    h = head(objs)
    assert h["rayStartParams"]["num-gpus"] == "2"
    assert container(h)["resources"]["limits"]["nvidia.com/gpu"] == 2
    vols = {v["name"]: v for v in h["template"]["spec"]["volumes"]}
    assert vols["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "8Gi"}
    assert invariants.run_all(objs) == []
    msg = fails(helms, CI / "minimal-values.yaml",
                **{"head.accelerator": {"type": "nvidia", "count": 2}, "head.shm": {"enabled": False}})
    assert "head.shm.enabled" in msg


def test_kuberay_incremental_upgrade_strategy(helms):
    """KubeRay's NewClusterWithIncrementalUpgrade, with the options its validation requires (validation.go,
    ValidateClusterUpgradeOptions)."""
    objs = render(helms, CI / "minimal-values.yaml", ray={"version": "2.60.0", "autoscaler": {"enabled": True}},
                  rayService={"upgradeStrategy": "NewClusterWithIncrementalUpgrade", "clusterUpgradeOptions": {
                      "gatewayClassName": "istio", "stepSizePercent": 25, "intervalSeconds": 60}})
    assert find(objs, "RayService")["spec"]["upgradeStrategy"] == {
        "type": "NewClusterWithIncrementalUpgrade",
        "clusterUpgradeOptions": {"gatewayClassName": "istio", "stepSizePercent": 25, "intervalSeconds": 60}}
