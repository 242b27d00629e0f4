"""The tgi chart's own promises: the seed preset, defaults that are safe for production, launcher flags rendered
from structured values, the 2.0 image line, and the rules checked at render time."""
import pytest

import render_cache
from llmcharts import paths
from query import container, env as env_of, find, pod_spec

TGI = paths.CHARTS / "tgi"
SEED = paths.VALUES / "tgi" / "mistral-7b-awq-2gpu.yaml"
MINIMAL = TGI / "ci" / "minimal-values.yaml"
render = render_cache.Chart("tgi").objects
render_error = render_cache.Chart("tgi").error


def pod(objs):
    return pod_spec(find(objs, "Deployment"))


def engine(objs):
    return container(find(objs, "Deployment"))


def env(objs):
    return env_of(engine(objs))


def test_seed_preset_reproduces_tgi_mistral(helms):
    objs = render(helms, SEED)
    d = find(objs, "Deployment")
    c = engine(objs)
    args = c["args"]
    assert d["metadata"]["name"] == "tgi-mistral" and d["spec"]["replicas"] == 3
    # the acceptance items
    assert "--num-shard=2" in args
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 2 == c["resources"]["requests"]["nvidia.com/gpu"]
    assert "--max-input-tokens=4096" in args
    vols = {v["name"]: v for v in pod(objs)["volumes"]}
    assert vols["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Gi"}
    assert {"name": "dshm", "mountPath": "/dev/shm"} in c["volumeMounts"]
    assert env(objs)["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "token"}
    # the rest of the seed
    assert "Mistral-7B-Instruct-v0.3" in next(a for a in args if a.startswith("--model-id="))
    for flag in ("--quantize=awq", "--max-total-tokens=8192", "--max-batch-size=64",
                 "--max-concurrent-requests=128"):
        assert flag in args, flag
    assert c["resources"]["requests"]["memory"] == "48Gi" and c["resources"]["limits"]["memory"] == "64Gi"
    assert vols["models"]["persistentVolumeClaim"]["claimName"] == "tgi-cache"
    assert {"name": "models", "mountPath": "/data"} in c["volumeMounts"]
    assert find(objs, "Service")["spec"]["ports"][0]["port"] == 80
    # the seed's faults, not copied
    assert "--trust-remote-code" not in args
    assert not any(a.startswith("--max-input-length") for a in args)
    assert "HUGGING_FACE_HUB_TOKEN" not in env(objs) and "CUDA_VISIBLE_DEVICES" not in env(objs)
    assert "MAX_CONCURRENT_REQUESTS" not in env(objs), "rendered as its flag, not as a loose variable"
    assert c["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.7"
    assert all(k in c for k in ("startupProbe", "readinessProbe", "livenessProbe"))


def test_single_gpu_preset(helms):
    objs = render(helms, paths.VALUES / "tgi" / "llama-3.1-8b-l4.yaml")
    c = engine(objs)
    assert "--num-shard=1" in c["args"] and c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod(objs)["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert "dshm" not in [v["name"] for v in pod(objs)["volumes"]], "one GPU: no NCCL, no shm"
    pvc = find(objs, "PersistentVolumeClaim")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_production_defaults(helms):
    objs = render(helms, MINIMAL)
    d = find(objs, "Deployment")
    p = pod(objs)
    c = engine(objs)
    assert p["enableServiceLinks"] is False and p["automountServiceAccountToken"] is False
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert p["securityContext"]["runAsNonRoot"] is True and p["securityContext"]["fsGroup"] == 1000
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # drain: preStop sleep, then TGI's own graceful termination for in-flight requests
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] == 15
    assert p["terminationGracePeriodSeconds"] == 135
    assert "--graceful-termination-timeout=120" in c["args"]
    # probes: the startup probe carries the load budget; /health on the named port
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] == 1800
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert "--port=8080" in c["args"] and "--hostname=0.0.0.0" in c["args"]
    assert "--usage-stats=off" in c["args"]
    assert "command" not in c, "the image's entrypoint runs the launcher"
    # the Hub cache at /data, HF_HOME on it; a writable HOME for the non-root user
    assert {"name": "models", "mountPath": "/data"} in c["volumeMounts"]
    assert env(objs)["HF_HOME"]["value"] == "/data/huggingface"
    assert env(objs)["HOME"]["value"] == "/home/tgi"
    assert "HF_TOKEN" not in env(objs), "no token Secret configured, none referenced"
    assert "dshm" not in [v["name"] for v in p["volumes"]]
    assert find(objs, "Service")["spec"]["ports"][0] == {"name": "http", "port": 80, "targetPort": "http",
                                                       "protocol": "TCP"}
    assert find(objs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_structured_values_become_flags(helms):
    objs = render(helms, TGI / "ci" / "full-values.yaml")
    args = engine(objs)["args"]
    for flag in ("--model-id=meta-llama/Llama-3.1-8B-Instruct", "--revision=main", "--num-shard=2",
                 "--max-input-tokens=8192", "--max-total-tokens=16384", "--max-batch-prefill-tokens=8192",
                 "--max-batch-total-tokens=131072", "--max-batch-size=128", "--max-concurrent-requests=256",
                 "--dtype=bfloat16", "--kv-cache-dtype=fp8_e4m3fn", "--speculate=2",
                 "--cuda-graphs=1,2,4,8,16,32,64",
                 "--lora-adapters=predibase/customer_support,sql=/data/adapters/sql",
                 "--graceful-termination-timeout=300"):
        assert flag in args, flag
    assert args[-2:] == ["--json-output", "--max-waiting-tokens=20"], "extraArgs come last"
    e = env(objs)
    assert e["API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "tgi-api-key", "key": "api-key"}
    assert not any(a.startswith("--api-key") for a in args), "the key never appears in the pod spec"
    assert pod(objs)["terminationGracePeriodSeconds"] == 320


def test_large_integers_render_without_exponent(helms):
    objs = render(helms, MINIMAL, **{"engine.maxBatchTotalTokens": 1048576})
    assert "--max-batch-total-tokens=1048576" in engine(objs)["args"]


@pytest.mark.parametrize("seconds", [30, 600])
def test_drain_budget_is_the_launchers_termination_timeout(helms, seconds):
    objs = render(helms, MINIMAL, **{"drain.inflightTimeoutSeconds": seconds})
    assert f"--graceful-termination-timeout={seconds}" in engine(objs)["args"]
    assert pod(objs)["terminationGracePeriodSeconds"] == 15 + seconds


def test_image_line_2_0(helms):
    objs = render(helms, TGI / "ci" / "v2-values.yaml")
    c = engine(objs)
    e = env(objs)
    assert c["image"] == "ghcr.io/huggingface/text-generation-inference:2.0.4"
    ref = {"name": "hf-token", "key": "token"}
    assert e["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == ref
    assert e["HUGGING_FACE_HUB_TOKEN"]["valueFrom"]["secretKeyRef"] == ref
    # the 2.0 image sets HUGGINGFACE_HUB_CACHE=/data, which would win over HF_HOME
    assert e["HUGGINGFACE_HUB_CACHE"]["value"] == "/data/huggingface/hub"
    assert not any(a.startswith(("--graceful-termination-timeout", "--usage-stats")) for a in c["args"])
    assert "--max-input-tokens=4096" in c["args"] and "--quantize=awq" in c["args"]
    # the 3.3 line has neither
    e3 = env(render(helms, SEED))
    assert "HUGGING_FACE_HUB_TOKEN" not in e3 and "HUGGINGFACE_HUB_CACHE" not in e3


def test_monitoring_and_autoscaling_on_tgi_metrics(helms):
    objs = render(helms, TGI / "ci" / "full-values.yaml")
    sm = find(objs, "ServiceMonitor")
    assert sm["spec"]["endpoints"][0]["path"] == "/metrics" and sm["spec"]["endpoints"][0]["port"] == "http"
    hpa = find(objs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "tgi_queue_size"
    assert "replicas" not in find(objs, "Deployment")["spec"], "the autoscaler owns the replica count"
    np = find(objs, "NetworkPolicy")
    assert np["spec"]["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    keda = find(render(helms, TGI / "ci" / "keda-values.yaml"), "ScaledObject")
    assert keda["spec"]["triggers"][0]["metadata"]["query"].startswith("avg(tgi_batch_current_size{")


def test_cache_pvc_is_created_and_mounted_at_data(helms):
    objs = render(helms, MINIMAL, **{"modelStorage.type": "pvc", "modelStorage.pvc": {"size": "40Gi"}})
    pvc = find(objs, "PersistentVolumeClaim")
    vols = {v["name"]: v for v in pod(objs)["volumes"]}
    assert vols["models"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert {"name": "models", "mountPath": "/data"} in engine(objs)["volumeMounts"]


def test_global_values_apply(helms):
    objs = render(helms, MINIMAL,
                  **{"global.hfToken": {"secretName": "shared-hf", "secretKey": "tok"}, "global.gpuProduct": "NVIDIA-L4",
                     "global.imageRegistry": "mirror.example.com", "global.commonLabels": {"team": "ml"}})
    assert env(objs)["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "shared-hf", "key": "tok"}
    assert pod(objs)["nodeSelector"]["nvidia.com/gpu.product"] == "NVIDIA-L4"
    assert engine(objs)["image"].startswith("mirror.example.com/huggingface/text-generation-inference:")
    assert all(o["metadata"]["labels"]["team"] == "ml" for o in objs)


def test_cpu_install_has_no_gpu_anything(helms):
    objs = render(helms, TGI / "ci" / "cpu-values.yaml")
    c = engine(objs)
    assert not any("gpu" in k for s in c["resources"].values() for k in s)
    assert "tolerations" not in pod(objs) and "nodeSelector" not in pod(objs)
    assert c["image"].endswith(":3.3.7-intel-cpu") and "--num-shard=1" in c["args"]


def test_local_model_path_needs_no_writable_cache(helms):
    objs = render(helms, MINIMAL, **{"engine.modelId": "/models/mistral-7b",
                                     "modelStorage": {"type": "existingClaim", "existingClaim": "weights",
                                                      "mountPath": "/models", "readOnly": True}})
    assert "--model-id=/models/mistral-7b" in engine(objs)["args"]
    assert "HF_HOME" not in env(objs), "a read-only volume is no cache"


@pytest.mark.parametrize("set_values,expected", [
    ({"engine.numShard": 4, "accelerator.count": 2}, "engine.numShard (4) must equal accelerator.count (2)"),
    ({"engine.maxInputTokens": 8192, "engine.maxTotalTokens": 8192},
     "engine.maxTotalTokens (8192) must be greater than engine.maxInputTokens (8192)"),
    ({"engine.quantize": "gptq", "engine.dtype": "bfloat16"}, "TGI refuses --dtype with --quantize"),
    ({"extraArgs": ["--max-input-length=1024"]}, "--max-input-length is rendered by the chart from engine.maxInputTokens"),
])
def test_rules_say_what_to_change(helms, set_values, expected):
    assert expected in render_error(helms, MINIMAL, **set_values)


def test_notes_name_remote_code_loudly(helms, tmp_path):
    r = helms["helm4"].install_dry_run(TGI, [MINIMAL], "n", "default", kubeconfig=tmp_path / "none")
    assert r.returncode == 0, r.stderr
    assert "WARNING" not in r.stdout and "--trust-remote-code" not in r.stdout
    r = helms["helm4"].install_dry_run(TGI, [MINIMAL], "n", "default", kubeconfig=tmp_path / "none",
                                       extra=("--set", "engine.trustRemoteCode=true"))
    assert r.returncode == 0, r.stderr
    assert "WARNING: engine.trustRemoteCode is ON (--trust-remote-code)" in r.stdout
    assert "set engine.revision to pin it" in r.stdout
    assert '"--trust-remote-code"' in r.stdout
