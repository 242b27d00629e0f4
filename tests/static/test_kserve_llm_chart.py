"""The kserve-llm chart's own promises: the seed's KServe example reproduced, KServe's {{.Name}} placeholder emitted
verbatim, production defaults, per-model values merged over the top level, the huggingfaceserver and
LLMInferenceService options, and every KServe object validated against both KServe releases."""
import pytest

import render_cache
from llmcharts import discovery, invariants, paths
from llmcharts.objects import PodTemplate, dig, of_kind, selector_matches
from llmcharts.pods import pod_templates, predictor_service, predictor_services
from query import one

CHART = paths.CHARTS / "kserve-llm"
PRESET = paths.VALUES / "kserve-llm" / "llama-3-8b-s3-vllm-runtime.yaml"
NAME_PLACEHOLDER = "{{.Name}}"
KSERVE = render_cache.Chart("kserve-llm", release="kserve")
render, objects = KSERVE.render, KSERVE.objects


def runtime(objs):
    (rt,) = of_kind(objs, "ServingRuntime", "ClusterServingRuntime")
    return rt


def runtime_container(objs):
    """The runtime's kserve-container (the guard runs beside it)."""
    return next(c for c in runtime(objs)["spec"]["containers"] if c["name"] == "kserve-container")


def test_seed_preset_reproduces_the_kserve_example(helms):
    objs = objects(helms, PRESET, release="llama-vllm")
    rt = one(objs, "ClusterServingRuntime", "vllm-runtime")
    assert "namespace" not in rt["metadata"], "a ClusterServingRuntime is cluster-scoped"
    spec = rt["spec"]
    # metrics on 8080, through the annotations KServe reads
    assert spec["annotations"]["prometheus.kserve.io/port"] == "8080"
    assert spec["annotations"]["prometheus.kserve.io/path"] == "/metrics"
    assert spec["supportedModelFormats"] == [{"name": "llm-charts-vllm", "version": "1", "autoSelect": True,
                                              "priority": 1}]
    c = runtime_container(objs)
    assert c["name"] == "kserve-container", "KServe merges the model into this container name only"
    assert c["image"] == "docker.io/vllm/vllm-openai:v0.32.0"
    assert c["command"] == ["vllm", "serve"]
    # vLLM on the pod's loopback behind the guard, which serves the pod's port 8080
    for flag in ("--model=/mnt/models", "--port=8081", "--served-model-name={{.Name}}", "--host=127.0.0.1"):
        assert flag in c["args"], flag
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert [x["name"] for x in spec["containers"]] == ["kserve-container", "guard"]
    assert "resources" not in c, "runtime resources would be merged into every InferenceService"
    shm = next(v for v in spec["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert {"name": "dshm", "mountPath": "/dev/shm"} in c["volumeMounts"]

    isvc = one(objs, "InferenceService", "llama-vllm")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    pred = isvc["spec"]["predictor"]
    model = pred["model"]
    assert model["modelFormat"] == {"name": "llm-charts-vllm"} and model["runtime"] == "vllm-runtime"
    assert model["storageUri"] == "s3://models/llama-3-8b"
    assert model["resources"]["requests"] == {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": 1}
    assert model["resources"]["limits"] == {"memory": "48Gi", "nvidia.com/gpu": 1}
    assert "--max-model-len=8192" in model["args"]
    assert (pred["minReplicas"], pred["maxReplicas"]) == (1, 1)
    sa = one(objs, "ServiceAccount")
    assert pred["serviceAccountName"] == sa["metadata"]["name"]
    assert sa["secrets"] == [{"name": "s3-credentials"}], "the storage initializer reads S3 keys from the SA's Secrets"
    # the seed's faults, not copied
    assert not any(e["name"] in ("STORAGE_URI", "CUDA_VISIBLE_DEVICES") for e in c.get("env", []))
    assert all(k in c for k in ("startupProbe", "readinessProbe", "livenessProbe"))
    assert not any(k.startswith("prometheus.io/") for k in spec["annotations"])


@pytest.mark.parametrize("helm", paths.HELM_NAMES)
def test_name_placeholder_survives_helm_verbatim(helms, helm):
    r = render(helms, PRESET, helm=helm)
    assert '"--served-model-name={{.Name}}"' in r.stdout
    assert r.stdout.count(NAME_PLACEHOLDER) == 1, "only the runtime's served name uses KServe's placeholder"
    assert "--served-model-name=" + NAME_PLACEHOLDER in runtime_container(r.objects)["args"]


def test_production_defaults(helms):
    objs = objects(helms, CHART / "ci" / "minimal-values.yaml")
    rt = runtime(objs)
    assert rt["kind"] == "ServingRuntime" and rt["metadata"]["namespace"] == "llm-test"
    assert rt["metadata"]["name"] == "kserve-kserve-llm"
    c = runtime_container(objs)
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] == 15
    assert "--shutdown-timeout=120" in c["args"], "vLLM aborts in-flight streams on SIGTERM without it"
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] == 1800
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert rt["spec"]["protocolVersions"] == ["v1"]
    pred = one(objs, "InferenceService")["spec"]["predictor"]
    assert pred["enableServiceLinks"] is False and pred["automountServiceAccountToken"] is False
    assert pred["terminationGracePeriodSeconds"] == 135
    assert pred["securityContext"]["runAsNonRoot"] is True
    assert pred["deploymentStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pred["tolerations"]
    assert pred["labels"]["app.kubernetes.io/component"] == "engine"
    model = pred["model"]
    assert model["runtime"] == rt["metadata"]["name"] and model["modelFormat"]["name"] == "llm-charts-vllm"
    assert model["resources"]["limits"]["nvidia.com/gpu"] == 1 == model["resources"]["requests"]["nvidia.com/gpu"]
    assert model["args"] == ["--tensor-parallel-size=1", "--pipeline-parallel-size=1"]


def test_merged_predictor_pod_is_what_kserve_builds(helms):
    """The harness's view of a predictor pod: runtime args first, then the InferenceService's; its resources."""
    objs = objects(helms, CHART / "ci" / "full-values.yaml")
    pods = {p.owner["metadata"]["name"]: p for p in pod_templates(objs)}
    llama = pods["llama-70b"].spec["containers"][0]
    assert llama["name"] == "kserve-container"
    assert llama["args"][:2] == ["--model=/mnt/models", "--served-model-name={{.Name}}"]
    assert llama["args"][-2:] == ["--enable-auto-tool-choice", "--tool-call-parser=llama3_json"]
    assert llama["resources"]["limits"]["nvidia.com/gpu"] == 4
    assert "startupProbe" in llama and llama["lifecycle"]["preStop"]["sleep"]["seconds"] == 15
    assert pods["llama-70b"].annotations["prometheus.kserve.io/port"] == "8080"
    assert not pods["llama-70b"].partial and pods["llama-70b"].spec["enableServiceLinks"] is False
    assert invariants.run_all(objs) == []


def test_predictor_service_is_what_kserve_creates(helms):
    """The <name>-predictor Service the invariants resolve gateway backends against and the local runner serves:
    port 80 onto the kserve-container's first port, selecting the predictor pods."""
    objs = objects(helms, CHART / "ci" / "full-values.yaml")
    isvc = one(objs, "InferenceService", "llama-70b")
    (pod,) = [p for p in pod_templates(objs) if p.owner is isvc]
    svc = predictor_service(isvc, pod)
    assert svc["metadata"] == {"name": "llama-70b-predictor", "namespace": isvc["metadata"]["namespace"]}
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
    assert selector_matches(svc["spec"]["selector"], pod.labels)
    bare = predictor_service(isvc, PodTemplate(isvc, "", {}, {"containers": [{"name": "kserve-container"}]}))
    assert bare["spec"]["ports"][0]["targetPort"] == 8080 and bare["spec"]["ports"][0]["name"] == "llama-70b-predictor"
    assert predictor_services(objs) == [predictor_service(i, p) for i, p in
                                        ((o, next(q for q in pod_templates(objs) if q.owner is o))
                                         for o in of_kind(objs, "InferenceService"))]


def test_per_model_values_merge_over_the_top_level(helms):
    objs = objects(helms, CHART / "ci" / "full-values.yaml")
    rt = one(objs, "ClusterServingRuntime", "vllm-openai-full")
    assert rt["spec"]["supportedModelFormats"][0]["priority"] == 2
    c = runtime_container(objs)
    assert c["args"][-1] == "--disable-uvicorn-access-log", "top-level extraArgs go to the runtime, last"
    env = {e["name"]: e for e in c["env"]}
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-api-key", "key": "api-key"}

    llama = one(objs, "InferenceService", "llama-70b")["spec"]["predictor"]
    assert llama["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert llama["model"]["resources"]["limits"] == {"memory": "192Gi", "nvidia.com/gpu": 4}
    args = llama["model"]["args"]
    for flag in ("--tensor-parallel-size=4", "--max-model-len=8192", "--quantization=awq_marlin", "--max-num-seqs=256",
                 "--gpu-memory-utilization=0.9", "--enable-prefix-caching"):  # the last two inherited
        assert flag in args, flag
    assert args[-2:] == ["--enable-auto-tool-choice", "--tool-call-parser=llama3_json"], "extraArgs come last"

    mistral_isvc = one(objs, "InferenceService", "mistral-7b")
    mistral = mistral_isvc["spec"]["predictor"]
    assert mistral_isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert mistral["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert "--no-enable-chunked-prefill" in mistral["model"]["args"]
    assert "--max-model-len=16384" in mistral["model"]["args"]
    assert (mistral["scaleMetric"], mistral["scaleMetricType"], mistral["scaleTarget"]) == ("memory", "Utilization", 80)
    assert mistral["model"]["resources"]["limits"] == {"memory": "32Gi", "nvidia.com/gpu": 1}


def test_queue_autoscaling_goes_through_kserve_keda(helms):
    objs = objects(helms, CHART / "ci" / "full-values.yaml", release="q")
    isvc = one(objs, "InferenceService", "llama-70b")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    (metric,) = isvc["spec"]["predictor"]["autoScaling"]["metrics"]
    assert metric["type"] == "External"
    ext = metric["external"]
    assert ext["metric"]["backend"] == "prometheus"
    assert ext["metric"]["query"] == 'sum(vllm:num_requests_waiting{namespace="llm-test", pod=~"llama-70b-predictor-.*"})'
    assert ext["target"] == {"type": "AverageValue", "averageValue": "4"}
    assert "scaleMetric" not in isvc["spec"]["predictor"]
    assert not of_kind(objs, "ScaledObject"), "KServe creates the ScaledObject itself"


def test_huggingface_runtime_option(helms, tmp_path):
    values = CHART / "ci" / "huggingface-values.yaml"
    objs = objects(helms, values)
    assert not of_kind(objs, "ServingRuntime") and not of_kind(objs, "ClusterServingRuntime")
    pred = one(objs, "InferenceService", "qwen-7b")["spec"]["predictor"]
    model = pred["model"]
    assert model["runtime"] == "kserve-huggingfaceserver" and model["modelFormat"] == {"name": "huggingface"}
    assert model["args"][0] == "--backend=vllm" and "--tensor-parallel-size=2" in model["args"]
    assert not any(a.startswith(("--port", "--served-model-name", "--model_name", "--shutdown-timeout"))
                   for a in model["args"]), "KServe's runtime owns its port and model name"
    assert model["startupProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert model["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert model["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert model["lifecycle"]["preStop"]["sleep"]["seconds"] == 15
    # two GPUs: a bounded memory-backed /dev/shm of ours replaces KServe's (merged by mount path)
    assert {"name": "dshm", "mountPath": "/dev/shm"} in model["volumeMounts"]
    assert pred["volumes"] == [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "4Gi"}}]
    r = helms["helm4"].install_dry_run(CHART, [values], "hf", "default", kubeconfig=tmp_path / "none")
    assert r.returncode == 0, r.stderr
    notes = r.stdout.split("NOTES:")[1]
    assert "/openai/v1" in notes and "/openai/v1/chat/completions" in notes


def test_notes_give_vllm_routes_and_the_model_name(helms, tmp_path):
    r = helms["helm4"].install_dry_run(CHART, [PRESET], "llama-vllm", "ml-serving", kubeconfig=tmp_path / "none")
    assert r.returncode == 0, r.stderr
    notes = r.stdout.split("NOTES:")[1]
    assert "/openai" not in notes
    assert '"model": "llama-vllm"' in notes and "/v1/chat/completions" in notes
    assert "kubectl -n ml-serving get inferenceservice llama-vllm" in notes


def test_runtime_only_release(helms):
    objs = objects(helms, CHART / "ci" / "runtime-only-values.yaml")
    assert not of_kind(objs, "InferenceService")
    rt = one(objs, "ClusterServingRuntime", "vllm-openai")
    (pod,) = [p for p in pod_templates(objs) if p.owner is rt]
    assert pod.partial and pod.is_engine, "checked alone: its pod fields come from the InferenceServices using it"
    assert invariants.run_all(objs) == []


def test_llm_inference_service(helms):
    objs = objects(helms, CHART / "ci" / "full-values.yaml")
    llm = one(objs, "LLMInferenceService", "qwen-llm")
    assert llm["apiVersion"] == "serving.kserve.io/v1alpha2"
    spec = llm["spec"]
    assert spec["model"] == {"uri": "hf://Qwen/Qwen2.5-7B-Instruct", "name": "Qwen/Qwen2.5-7B-Instruct"}
    assert spec["replicas"] == 2 and "scaling" not in spec, "replicas and scaling are mutually exclusive"
    assert spec["parallelism"] == {"tensor": 1}
    assert spec["router"] == {"route": {}, "gateway": {}, "scheduler": {}}
    (main,) = spec["template"]["containers"]
    assert main["name"] == "main" and main["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "args" not in main and "image" not in main, "KServe's well-known config keeps the vLLM command line"
    assert spec["template"]["enableServiceLinks"] is False
    cpu = one(objects(helms, CHART / "ci" / "cpu-values.yaml"), "LLMInferenceService")
    assert cpu["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert "parallelism" not in cpu["spec"] and "router" not in cpu["spec"]


def test_every_kserve_object_is_validated_against_both_kserve_releases(report_for, crd_dirs):
    """Acceptance: each KServe object is checked against KServe 0.20.0's CRDs and, where its kind exists there,
    0.15.2's (LLMInferenceService is new in 0.16)."""
    releases = ({"crd:kserve@v0.20.0", "crd:kserve@v0.15.2"} if not crd_dirs  # the in-repo schemas
                else {f"crd:{d.name}" for d in crd_dirs})  # LLMCHARTS_CRD_DIRS: one set per directory
    assert len(releases) == 2
    seen = set()
    for case in (c for c in discovery.cases() if c.chart == CHART):
        rep = report_for(case)
        assert rep.ok, rep.summary()
        for obj, r in zip(rep.objects, rep.schema):
            if not obj["apiVersion"].startswith("serving.kserve.io/"):
                continue
            seen.add(obj["kind"])
            if obj["kind"] == "LLMInferenceService":
                assert len(r.validated_against) == 1 and set(r.validated_against) < releases, (case.id, r.ref)
            else:
                assert set(r.validated_against) == releases, (case.id, r.ref, r.validated_against)
    assert seen == {"ServingRuntime", "ClusterServingRuntime", "InferenceService", "LLMInferenceService"}


@pytest.mark.parametrize("budget,period,threshold", [(600, 10, 60), (605, 10, 61)])
def test_startup_budget_is_rounded_up(helms, budget, period, threshold):
    objs = objects(helms, CHART / "ci" / "minimal-values.yaml",
                   **{"probes.startup": {"path": "/health", "budgetSeconds": budget, "periodSeconds": period}})
    assert runtime_container(objs)["startupProbe"]["failureThreshold"] == threshold


def test_global_values_apply(helms):
    objs = objects(helms, CHART / "ci" / "minimal-values.yaml",
                   **{"global.gpuProduct": "NVIDIA-L4", "global.imagePullSecrets": ["regcred"],
                      "global.commonLabels": {"team": "ml"}, "global.imageRegistry": "mirror.example.com"})
    pred = one(objs, "InferenceService")["spec"]["predictor"]
    assert pred["nodeSelector"]["nvidia.com/gpu.product"] == "NVIDIA-L4"
    assert runtime(objs)["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert runtime_container(objs)["image"].startswith("mirror.example.com/vllm/vllm-openai:")
    assert all(o["metadata"]["labels"]["team"] == "ml" for o in objs)


def test_cpu_values_have_no_gpu_anything(helms):
    objs = objects(helms, CHART / "ci" / "cpu-values.yaml")
    pred = one(objs, "InferenceService")["spec"]["predictor"]
    assert not any("gpu" in k for s in pred["model"]["resources"].values() for k in s)
    assert "tolerations" not in pred and "nodeSelector" not in pred
    assert pred["deploymentStrategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert dig(pred, "model", "storageUri").startswith("https://")
