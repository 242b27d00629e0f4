"""The vllm chart's own promises: the seed preset, defaults that are safe for production, flags rendered from
structured values."""
import pytest

import render_cache
from llmcharts import paths
from query import container, env, find, pod_spec

VLLM = paths.CHARTS / "vllm"
render = render_cache.Chart("vllm").objects


def deployment(objs):
    return find(objs, "Deployment")


def engine(objs):
    return container(deployment(objs))


def test_seed_preset_reproduces_vllm_llama(helms):
    objs = render(helms, paths.VALUES / "vllm" / "llama-3-70b-awq-a100x4.yaml")
    d = deployment(objs)
    pod = d["spec"]["template"]["spec"]
    c = engine(objs)
    assert d["metadata"]["name"] == "vllm-llama" and d["spec"]["replicas"] == 2
    assert c["args"][0] == "/models/llama-3-70b"
    for flag in ("--tensor-parallel-size=4", "--max-model-len=8192", "--gpu-memory-utilization=0.9",
                 "--enable-prefix-caching", "--enable-chunked-prefill", "--max-num-seqs=256", "--host=127.0.0.1",
                 "--port=8001"):
        assert flag in c["args"], flag
    assert any(a.startswith("--quantization=awq") for a in c["args"])
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 4 == c["resources"]["requests"]["nvidia.com/gpu"]
    assert c["resources"]["limits"]["memory"] == "256Gi" and c["resources"]["requests"]["cpu"] == "32"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["models"]["persistentVolumeClaim"]["claimName"] == "model-storage"
    assert vols["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "32Gi"}
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in c["volumeMounts"]
    # the seed's faults, not copied
    assert not any(e["name"] == "CUDA_VISIBLE_DEVICES" for e in c.get("env", []))
    assert all(k in c for k in ("startupProbe", "readinessProbe", "livenessProbe"))
    assert c["image"].endswith(":v0.32.0")
    svc = next(o for o in objs if o["kind"] == "Service")
    assert svc["spec"]["ports"][0]["port"] == 8000


def test_production_defaults(helms):
    objs = render(helms, VLLM / "ci" / "minimal-values.yaml")
    d = deployment(objs)
    pod = d["spec"]["template"]["spec"]
    c = engine(objs)
    assert pod["enableServiceLinks"] is False
    assert pod["automountServiceAccountToken"] is False
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] == 15
    assert pod["terminationGracePeriodSeconds"] == 135
    assert "--shutdown-timeout=120" in c["args"], "vLLM aborts in-flight streams on SIGTERM without it"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # startup budget 1800 s at 10 s periods
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] == 1800
    assert "dshm" not in [v["name"] for v in pod["volumes"]], "single GPU: no shm by default"
    assert c["command"] == ["vllm", "serve"]


def test_structured_values_become_flags(helms, tmp_path):
    objs = render(helms, VLLM / "ci" / "full-values.yaml")
    args = engine(objs)["args"]
    assert args[0] == "meta-llama/Llama-3.1-8B-Instruct"
    assert args[args.index("--served-model-name") + 1] == "llama-8b"
    for flag in ("--revision=main", "--tensor-parallel-size=2",
                 "--max-model-len=16384", "--no-enable-chunked-prefill", "--max-num-batched-tokens=8192",
                 "--kv-cache-dtype=fp8", "--enable-lora", "--max-loras=2", "--max-lora-rank=16",
                 '--speculative-config={"method":"ngram","num_speculative_tokens":3,"prompt_lookup_max":4}'):
        assert flag in args, flag
    i = args.index("--lora-modules")
    assert args[i + 1] == "sql=/models/adapters/sql"
    assert args[-1] == "--disable-uvicorn-access-log", "extraArgs come last"
    env_vars = env(engine(objs))
    assert env_vars["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-api-key", "key": "api-key"}
    assert env_vars["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "token"}


def test_large_integers_render_without_exponent(helms):
    objs = render(helms, VLLM / "ci" / "minimal-values.yaml", **{"engine.maxModelLen": 1048576})
    assert "--max-model-len=1048576" in engine(objs)["args"]


def test_global_values_apply(helms):
    objs = render(helms, VLLM / "ci" / "minimal-values.yaml",
                  **{"global.hfToken": {"secretName": "shared-hf", "secretKey": "tok"}, "global.gpuProduct": "NVIDIA-L4",
                     "global.imagePullSecrets": ["regcred"], "global.commonLabels": {"team": "ml"}})
    pod = pod_spec(deployment(objs))
    env_vars = env(engine(objs))
    assert env_vars["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "shared-hf", "key": "tok"}
    assert pod["nodeSelector"]["nvidia.com/gpu.product"] == "NVIDIA-L4"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert all(o["metadata"]["labels"]["team"] == "ml" for o in objs)


def test_cpu_preset_has_no_gpu_anything(helms):
    objs = render(helms, paths.VALUES / "vllm" / "qwen2.5-0.5b-cpu.yaml")
    pod = pod_spec(deployment(objs))
    c = engine(objs)
    assert not any("gpu" in k for s in c["resources"].values() for k in s)
    assert "tolerations" not in pod and "nodeSelector" not in pod
    assert deployment(objs)["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 1


@pytest.mark.parametrize("budget,period,threshold", [(600, 10, 60), (605, 10, 61), (60, 30, 2)])
def test_startup_budget_is_rounded_up(helms, budget, period, threshold):
    objs = render(helms, VLLM / "ci" / "minimal-values.yaml",
                  **{"probes.startup": {"path": "/health", "budgetSeconds": budget, "periodSeconds": period}})
    assert engine(objs)["startupProbe"]["failureThreshold"] == threshold


def test_notes_warn_about_remote_code(helms, tmp_path):
    minimal = [VLLM / "ci" / "minimal-values.yaml"]
    r = helms["helm4"].install_dry_run(VLLM, minimal, "n", "default", kubeconfig=tmp_path / "none")
    assert r.returncode == 0 and "WARNING" not in r.stdout
    r = helms["helm4"].install_dry_run(VLLM, minimal, "n", "default", kubeconfig=tmp_path / "none",
                                       extra=("--set", "model.trustRemoteCode=true"))
    assert "WARNING: model.trustRemoteCode is ON" in r.stdout
    assert "--trust-remote-code" in r.stdout
