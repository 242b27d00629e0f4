"""Writes a complete, commented values file for an engine chart from a plan.

Writes a complete, commented values file for the vllm, tgi, kserve-llm or ray-llm chart from a plan, with
the model's profile (schemas/model-profile.schema.yaml) for the render-time fit check."""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import yaml

from .modelcfg import Model, PlanError
from .plan import GiB, VLLM_VERSION, Plan, find_gpu

CHARTS = ("vllm", "tgi", "kserve-llm", "ray-llm")


def planner_version() -> str:
    try:
        return metadata.version("llmcharts")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def profile(p: Plan, model: Model, name: str) -> dict:
    """The model.profile block: what the chart needs to judge a fit without the planner (weights, KV per token,
    how KV heads split across GPUs, the overhead the plan assumed) and where the numbers came from."""
    out = {
        "weightsBytes": p.weights_bytes,
        "kvBytesPerToken": p.kv_bytes_per_token,
        "kvHeads": p.kv_heads,
        "numLayers": len(model.layers),
        "dtype": p.dtype,
        "kvCacheDtype": p.kv_cache_dtype,
        "overheadBytes": p.overhead_bytes_per_gpu,
    }
    if model.max_position_embeddings:
        out["contextLength"] = model.max_position_embeddings
    if p.sliding_window_layers:
        out["slidingWindowLayers"] = p.sliding_window_layers
        out["slidingWindow"] = p.sliding_window
    out["source"] = {"planner": f"llmcharts {planner_version()}", "engine": f"vllm {VLLM_VERSION}",
                     "weightsFrom": p.weights_source, "model": name}
    return out


def hub_id(model: Model) -> str | None:
    """The Hub id when --model was one (or a folder in the Hub cache), else None."""
    m = re.search(r"models--([^/]+)--([^/]+)/snapshots/", str(model.path))
    return f"{m.group(1)}/{m.group(2)}" if m else None


def served_name(name: str, dots: bool = True) -> str:
    """The name clients put in the OpenAI `model` field: the repo part, lower case; without dots it is also a
    DNS-1035 label (an InferenceService name)."""
    out = re.sub(r"[^a-z0-9.-]+" if dots else r"[^a-z0-9-]+", "-", name.rstrip("/").split("/")[-1].lower()).strip("-.")
    return out if out[:1].isalpha() else f"m-{out}"


def _resources(p: Plan) -> dict:
    return {"requests": {"cpu": str(max(4, 4 * p.count)), "memory": p.memory_request},
            "limits": {"memory": p.memory_limit}}


def _accelerator(p: Plan) -> dict:
    _, row = find_gpu(p.gpu)
    return {"type": row["vendor"], "count": p.count, "product": p.gpu}


def _engine(p: Plan) -> dict:
    e = {"tensorParallelSize": p.count, "pipelineParallelSize": 1, "maxModelLen": p.max_model_len,
         "gpuMemoryUtilization": p.gpu_memory_utilization, "dtype": p.dtype}
    if p.kv_cache_dtype != p.dtype:
        e["kvCacheDtype"] = p.kv_cache_dtype
    if p.quantize == "fp8":
        e["quantization"] = "fp8"  # quantized at load; AWQ/GPTQ checkpoints are detected by vLLM
    return e


def _storage(p: Plan) -> dict:
    # The chart-created PVC caches the download across restarts: weights plus half again for the Hub cache's
    # temporary files.
    return {"type": "pvc", "mountPath": "/models", "pvc": {"size": f"{max(10, int(p.weights_bytes * 1.5 / GiB) + 1)}Gi"}}


def build(chart: str, p: Plan, model: Model, name: str) -> list[tuple[str, dict]]:
    """[(comment, {top-level key: value})] in the order they are written; name: the Hub id (or path) to load."""
    prof = profile(p, model, name)
    probes = {"startup": {"path": "/health", "budgetSeconds": p.startup_budget_seconds}}
    shm = {"shm": {"enabled": True, "sizeLimit": p.shm_size}} if p.shm_size else {}
    startup_note = (f"Startup budget: {STARTUP_HELP} {p.weights_bytes / 1e9:.1f} GB at "
                    f"{p.load_bandwidth_mbps:g} MB/s -> {p.startup_budget_seconds}s.")
    if chart == "vllm":
        return [
            ("The model, and its profile for the chart's fit check (written by the planner; keep it in sync "
             "with the model).", {"model": {"name": name, "servedModelName": served_name(name),
                                            "profile": prof}}),
            ("Weights are downloaded once to a chart-created PVC (HF_HOME on it).", {"modelStorage": _storage(p)}),
            ("GPUs per pod = tensor parallel size.", {"accelerator": _accelerator(p)}),
            ("Engine flags (vLLM), sized by the plan above.", {"engine": _engine(p)}),
            ("Pod memory: the engine process plus a safetensors shard in flight while loading, plus /dev/shm.",
             {"resources": _resources(p)}),
            *([("Memory-backed /dev/shm for NCCL between the pod's GPUs (counts against the memory limit).", shm)]
              if shm else []),
            (startup_note, {"probes": probes}),
        ]
    if chart == "tgi":
        return [
            ("The model's profile for the chart's fit check (written by the planner).", {"model": {"profile": prof}}),
            ("TGI shards the model over numShard GPUs (its tensor parallelism).",
             {"engine": {"modelId": name, "numShard": p.count, "dtype": _tgi_dtype(p.dtype),
                         "maxInputTokens": p.max_model_len - 1, "maxTotalTokens": p.max_model_len}}),
            ("Weights are downloaded once to a chart-created PVC.", {"modelStorage": {**_storage(p), "mountPath": "/data"}}),
            ("GPUs per pod = numShard.", {"accelerator": _accelerator(p)}),
            ("Pod memory: the server plus a safetensors shard in flight while loading, plus /dev/shm.",
             {"resources": _resources(p)}),
            *([("Memory-backed /dev/shm for NCCL between the pod's GPUs.", shm)] if shm else []),
            (startup_note, {"probes": probes}),
        ]
    if chart == "kserve-llm":
        return [
            ("Runtime-wide: GPUs per predictor pod and the vLLM engine flags, sized by the plan above.",
             {"accelerator": _accelerator(p)}),
            ("", {"engine": _engine(p)}),
            ("Predictor pod memory: the engine plus a safetensors shard in flight while loading, plus /dev/shm.",
             {"resources": _resources(p)}),
            *([("Memory-backed /dev/shm for NCCL between the pod's GPUs.", shm)] if shm else []),
            (startup_note, {"probes": probes}),
            ("The InferenceService, with the model's profile for the chart's fit check (written by the planner).",
             {"inferenceServices": [{"name": served_name(name, dots=False), "storageUri": f"hf://{name}",
                                     "profile": prof}]}),
        ]
    if chart == "ray-llm":
        _, row = find_gpu(p.gpu)
        worker = {"groupName": "gpu-workers", "replicas": 1, "minReplicas": 1, "maxReplicas": 1,
                  "accelerator": _accelerator(p), "resources": _resources(p)}
        if p.shm_size:
            worker["shm"] = {"enabled": True, "sizeLimit": p.shm_size}
        return [
            ("The model (Ray Serve LLM model_id and where it loads from), and its profile for the chart's fit check "
             "(written by the planner).", {"model": {"id": served_name(name), "source": name,
                                                    "profile": prof}}),
            ("Engine kwargs (vLLM), sized by the plan above; one replica spans tensorParallelSize GPUs of a worker.",
             {"engine": _engine(p)}),
            ("Ray's accelerator type for the GPU (empty: any GPU).",
             {"llm": {"acceleratorType": row.get("rayAcceleratorType") or ""}}),
            ("One worker pod holds one replica's GPUs.", {"worker": worker}),
        ]
    raise ValueError(f"--write-values {chart!r}: one of {', '.join(CHARTS)}")


STARTUP_HELP = "(engine start + weights / load bandwidth) x 1.5:"


def _tgi_dtype(dtype: str):
    return dtype if dtype in ("float16", "bfloat16") else None


def render(chart: str, p: Plan, model: Model, name: str, command: str, values_path: str | None = None) -> str:
    """The values file text: a header that says what was planned and assumed (and the helm install command, with
    values_path, where the file will be), then each key with its comment."""
    per_gpu = p.weights_bytes_per_gpu / GiB
    head = [
        f"# chart: {chart}",
        f"# hardware: {p.count} x {p.gpu} ({p.gpu_memory_bytes / GiB:.1f} GiB) per pod",
        f"# written by: {command}",
        "#",
        f"#   helm install {served_name(name, dots=False)[:40].strip('-')} charts/{chart} -f {values_path or '<this file>'}",
        "#",
        f"# Plan (vLLM {VLLM_VERSION} memory model; `llmcharts plan --help` says what it assumes):",
        f"# - weights {p.weights_bytes / GiB:.1f} GiB ({p.dtype}{', ' + p.quantization if p.quantization else ''}; "
        f"from {p.weights_source}), {per_gpu:.1f} GiB per GPU at tensor parallel {p.count}",
        f"# - KV cache {p.kv_bytes_per_token_per_gpu} bytes per token per GPU ({p.kv_cache_dtype}); "
        f"{p.kv_cache_bytes_per_gpu / GiB:.1f} GiB per GPU after weights and {p.overhead_bytes_per_gpu / GiB:.1f} GiB "
        f"overhead at gpu-memory-utilization {p.gpu_memory_utilization}",
        f"# - {p.kv_cache_tokens} KV cache tokens per replica: {p.max_concurrent_sequences} sequences of "
        f"{p.max_model_len} tokens at once",
    ]
    if not p.fits:
        head.append("# - DOES NOT FIT: " + "; ".join(p.reasons))
    head += [f"# - note: {n}" for n in p.notes]
    if chart == "tgi":
        head.append("# - TGI sizes its own KV cache (the numbers above are vLLM's); the weights and GPUs are the same.")
    if "/" in name and not name.startswith("/"):
        head.append("# Gated models need a Hub token: add hfToken: {secretName: hf-token, secretKey: token} and "
                    "create that Secret first.")
    out = "".join(f"{line}\n" if not line.startswith("# - ") else
                  "".join(("# - " if i == 0 else "#   ") + w + "\n" for i, w in enumerate(_wrap(line[4:], 112)))
                  for line in head)
    for comment, block in build(chart, p, model, name):
        out += "\n" + "".join(f"# {line}\n" for line in _wrap(comment)) if comment else ""
        out += yaml.safe_dump(block, sort_keys=False, default_flow_style=False)
    return out


def _wrap(text: str, width: int = 110) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    return lines + ([cur] if cur else [])


def write(chart: str, p: Plan, model: Model, path: Path, command: str, name: str | None = None) -> None:
    """name: what the chart loads (Hub id or a path in the pod); default: the Hub id --model resolved to."""
    if chart not in CHARTS:
        raise ValueError(f"--write-values {chart!r}: one of {', '.join(CHARTS)}")
    name = name or hub_id(model)
    if not name:
        raise PlanError(f"--write-values: --model {model.name} is a local folder; pass --model-name with the Hub id "
                        "(or the path in the pod) the chart should load")
    if chart in ("kserve-llm", "ray-llm") and name.startswith("/"):
        raise PlanError(f"--model-name {name}: {chart} loads from the Hub (or storageUri); give a Hub id org/name")
    path.write_text(render(chart, p, model, name, command, str(path)))
