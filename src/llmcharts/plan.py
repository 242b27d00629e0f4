"""Sizes a model on a GPU as vLLM 0.32 would: weights, KV cache, concurrency, fit, suggestions.

Sizes a model on a GPU as vLLM 0.32 would: weights per GPU, KV cache tokens and concurrency at a context
length, whether it fits, the smallest tensor-parallel size that does, and shm / memory / startup suggestions.

How vLLM 0.32 sizes the KV cache (the engine venv's installed source):
- GPU: vllm/v1/worker/gpu_worker.py determine_available_memory: KV bytes = total memory x
  gpu_memory_utilization - (weights + peak activations of a max_num_batched_tokens profile run + non-torch memory)
  - the CUDA-graph estimate. The planner cannot profile, so it uses OVERHEAD_BASE_BYTES plus an activation
  estimate (overhead_bytes below); `--overhead-gib` replaces both.
- CPU: vllm/platforms/cpu.py turns VLLM_CPU_KVCACHE_SPACE (GiB) into cache_config.kv_cache_memory_bytes, and
  vllm/v1/worker/cpu_worker.py hands exactly that to the KV cache (no profiling) - `kv_cache_memory`.
- Blocks: vllm/v1/core/kv_cache_utils.py get_kv_cache_config_from_groups: num_blocks = memory // bytes per block,
  where a block holds block_size tokens of every layer of the largest group; get_kv_cache_capacity logs
  "KV cache size: int(concurrency x max_model_len) tokens" with concurrency = num_blocks / blocks one max-length
  request needs (get_max_concurrency_for_kv_cache_config); _get_kv_cache_groups_uniform_page_size groups hybrid
  (sliding + full) models.
- Sliding-window layers hold min(window - 1 + max_in_flight_tokens, max_model_len) tokens + 1 block per request
  (vllm/v1/kv_cache_interface.py SlidingWindowSpec.max_admission_blocks_per_request); max_in_flight_tokens =
  max_num_batched_tokens x concurrent batches (vllm/config/vllm.py: 2 with async scheduling, the GPU default)."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import yaml

from . import paths
from .modelcfg import DTYPE_BYTES, KV_CACHE_DTYPES, Model, PlanError, quantized

GiB = 1024 ** 3
MiB = 1024 ** 2
GPUS_TPL = paths.CHARTS / "llm-common" / "templates" / "_gpus.tpl"
VLLM_VERSION = "0.32.0"

# Stated overhead per GPU beyond weights and KV cache: CUDA context, cuBLAS/NCCL workspaces and CUDA graphs
# (vLLM's non-torch memory and cudagraph estimate, typically 0.5-1.5 GiB) - 1 GiB, plus 0.5 GiB with TP > 1 for
# NCCL buffers. The activation peak of the profile run is added by activation_bytes().
OVERHEAD_BASE_BYTES = 1 * GiB
OVERHEAD_TP_BYTES = GiB // 2
BLOCK_SIZE = 16                   # vllm/config/cache.py default block_size on CUDA attention backends
CONCURRENT_BATCHES = 2            # async scheduling, single pipeline stage (VllmConfig.max_concurrent_batches)
MAX_TP = 8                        # one node; larger deployments need pipeline parallelism across nodes
# Startup budget: engine start (imports, torch.compile, CUDA graphs) + weights / load bandwidth, x safety factor.
STARTUP_FIXED_S = 120
LOAD_BANDWIDTH_MBPS = 250         # MB/s assumed for the first load (Hub or object-store download, then read)
STARTUP_SAFETY = 1.5


def startup_budget_seconds(weights_bytes: int, load_mbps: float = LOAD_BANDWIDTH_MBPS) -> int:
    """(engine start + weights / load bandwidth) x safety, rounded up to a minute. The charts derive the same from
    model.sizeBytes (llm-common.probes.startupBudget; tests/static/test_model_source.py holds them equal)."""
    return int(math.ceil((STARTUP_FIXED_S + weights_bytes / (load_mbps * 1e6)) * STARTUP_SAFETY / 60) * 60)


@lru_cache(maxsize=1)
def gpu_table() -> dict:
    """The llm-common.gpus.table define's body from charts/llm-common/templates/_gpus.tpl, yaml-loaded."""
    text = GPUS_TPL.read_text()
    m = re.search(r'{{-?\s*define\s+"llm-common\.gpus\.table"\s*-?}}(.*?){{-?\s*end\s*-?}}', text, re.S)
    if not m:
        raise RuntimeError(f"{GPUS_TPL}: no define \"llm-common.gpus.table\"")
    return yaml.safe_load(m.group(1))


def find_gpu(name: str) -> tuple[str, dict]:
    table = gpu_table()
    if name in table:
        return name, table[name]
    for label, row in table.items():
        if name.lower() in [a.lower() for a in row.get("aliases") or []] or name.lower() == label.lower():
            return label, row
    raise PlanError(f"--gpu {name!r} is not in the GPU table (charts/llm-common/templates/_gpus.tpl); known: "
                    + ", ".join(sorted(table)))


def tp_candidates(model: Model) -> list[int]:
    """Tensor-parallel sizes vLLM accepts: powers of two dividing the attention heads (ModelConfig
    verify_with_parallel_config), up to one node."""
    return [t for t in (1, 2, 4, 8) if t <= MAX_TP and model.num_heads % t == 0]


def serving_dtype(model: Model, dtype: str) -> str:
    """--dtype auto: the checkpoint's dtype, float32 served as bfloat16 (vllm/config/model.py _resolve_auto_dtype)."""
    if dtype != "auto":
        return dtype
    return "bfloat16" if model.dtype in ("float32", "float") else model.dtype


def kv_dtype_bytes(kv_cache_dtype: str, dtype: str) -> int:
    if kv_cache_dtype not in KV_CACHE_DTYPES:
        raise PlanError(f"--kv-cache-dtype {kv_cache_dtype!r} is not supported by the planner; one of "
                        + ", ".join(KV_CACHE_DTYPES))
    return DTYPE_BYTES[dtype if kv_cache_dtype == "auto" else kv_cache_dtype]


def kv_bytes_per_token(model: Model, kv_bytes: int, tp: int = 1) -> int:
    """Bytes one token takes in every layer's cache on one GPU: layers x KV heads per GPU x
    (head_size + head_size_v) x dtype bytes. KV heads are split across TP ranks and replicated when there are
    fewer than ranks (ModelConfig.get_num_kv_heads: max(1, heads // tp)); MLA's single latent is replicated."""
    return sum(max(1, l.kv_heads // tp) * l.elements_per_token * kv_bytes for l in model.layers)


def activation_bytes(model: Model, act_bytes: int, tp: int, max_num_batched_tokens: int, max_num_seqs: int) -> int:
    """Peak activations of vLLM's profile run (a max_num_batched_tokens forward pass), estimated: the hidden
    states, q/k/v and MLP intermediate of one layer per token, plus fp32 logits of max_num_seqs tokens."""
    cfg = model.config
    h = cfg.get("hidden_size", 0)
    inter = cfg.get("moe_intermediate_size") or cfg.get("intermediate_size") or 4 * h
    topk = cfg.get("num_experts_per_tok") or 1
    per_token = 4 * h + (2 * inter * topk + 3 * h) // tp
    return max_num_batched_tokens * per_token * act_bytes + max_num_seqs * cfg.get("vocab_size", 0) * 4


def kv_capacity(model: Model, memory: int, kv_bytes: int, tp: int, max_model_len: int,
                block_size: int = BLOCK_SIZE, max_in_flight_tokens: int = 0) -> tuple[int, float, int]:
    """(KV cache tokens as vLLM logs them, max concurrency at max_model_len, blocks) for `memory` bytes per GPU."""
    specs: dict[tuple, int] = {}
    for l in model.layers:
        key = (max(1, l.kv_heads // tp) * l.elements_per_token * kv_bytes * block_size, l.window)
        specs[key] = specs.get(key, 0) + 1
    if len(specs) == 1:
        (page, window), n = next(iter(specs.items()))
        group_size, groups = n, [(window, 1)]
    else:
        # _get_kv_cache_groups_uniform_page_size: equal-size groups of same-type layers, one block table each.
        if len({page for page, _ in specs}) != 1:
            raise PlanError("config.json: the model's attention layers have different KV page sizes (per-layer "
                            "heads or head_dim); the planner does not size that layout")
        page = next(iter(specs))[0]
        counts = list(specs.values())
        group_size = min(counts) if max(counts) >= 1.5 * min(counts) else max(counts)
        groups = [(window, math.ceil(n / group_size)) for (_, window), n in specs.items()]
    bytes_per_block = page * group_size
    num_blocks = memory // bytes_per_block if memory > 0 else 0
    per_request = 0
    for window, count in groups:
        if window is None:
            per_request += count * math.ceil(max_model_len / block_size)
        else:
            held = min(window - 1 + max_in_flight_tokens, max_model_len)
            per_request += count * (math.ceil(held / block_size) + 1)
    concurrency = num_blocks / per_request
    return int(concurrency * max_model_len), concurrency, num_blocks


@dataclass
class Plan:
    model: str
    gpu: str
    gpu_memory_bytes: int
    count: int
    dtype: str
    kv_cache_dtype: str
    quantization: str | None
    weights_source: str
    weights_bytes: int
    weights_bytes_per_gpu: int
    kv_bytes_per_token: int
    kv_bytes_per_token_per_gpu: int
    kv_heads: int
    sliding_window_layers: int
    sliding_window: int | None
    max_model_len: int
    gpu_memory_utilization: float
    overhead_bytes_per_gpu: int
    kv_cache_bytes_per_gpu: int
    kv_cache_tokens: int
    max_concurrent_sequences: float
    fits: bool
    tensor_parallel_size: int | None
    reasons: list[str] = field(default_factory=list)
    shm_size: str | None = None
    memory_request: str = ""
    memory_limit: str = ""
    startup_budget_seconds: int = 0
    load_bandwidth_mbps: float = LOAD_BANDWIDTH_MBPS
    quantize: str | None = None       # --quantization asked for (fp8 at load is also an engine flag)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _gi(n: float) -> str:
    return f"{max(1, math.ceil(n / GiB))}Gi"


def evaluate(model: Model, gpu_bytes: int, tp: int, *, dtype: str, kv_cache_dtype: str, max_model_len: int,
             util: float, max_num_batched_tokens: int, max_num_seqs: int, overhead: int | None,
             kv_cache_memory: int | None = None) -> dict:
    """One tensor-parallel size: memory per GPU, KV capacity, and why it does not fit (if it does not)."""
    dt = serving_dtype(model, dtype)
    act = DTYPE_BYTES[dt]
    kvb = kv_dtype_bytes(kv_cache_dtype, dt)
    weights = model.weights.bytes(act)
    per_gpu = math.ceil(weights / tp)  # embeddings, attention and MLP/expert weights are all split across ranks
    if overhead is None:
        overhead = OVERHEAD_BASE_BYTES + (OVERHEAD_TP_BYTES if tp > 1 else 0) + \
            activation_bytes(model, act, tp, max_num_batched_tokens, max_num_seqs)
    kv_mem = kv_cache_memory if kv_cache_memory is not None else int(gpu_bytes * util) - per_gpu - overhead
    reasons = []
    if kv_cache_memory is None and kv_mem <= 0:
        reasons.append(f"weights {per_gpu / GiB:.1f} GiB per GPU + overhead {overhead / GiB:.1f} GiB exceed "
                       f"{util} x {gpu_bytes / GiB:.1f} GiB (gpu-memory-utilization x GPU memory)")
        tokens, conc, _ = 0, 0.0, 0
    else:
        tokens, conc, _ = kv_capacity(model, kv_mem, kvb, tp, max_model_len,
                                      max_in_flight_tokens=CONCURRENT_BATCHES * max_num_batched_tokens)
        if conc < 1:
            reasons.append(f"the KV cache holds {tokens} tokens, less than one sequence of max-model-len "
                           f"{max_model_len}; lower --max-model-len or use more GPUs")
    return dict(dtype=dt, weights=weights, per_gpu=per_gpu, overhead=overhead, kv_mem=max(kv_mem, 0),
                tokens=tokens, concurrency=conc, kvb=kvb, reasons=reasons)


def plan(model: Model, gpu: str, *, count: int | None = None, max_model_len: int | None = None,
         util: float = 0.9, dtype: str = "auto", kv_cache_dtype: str = "auto", max_num_seqs: int = 256,
         max_num_batched_tokens: int | None = None, overhead_bytes: int | None = None,
         kv_cache_memory: int | None = None, load_bandwidth_mbps: float = LOAD_BANDWIDTH_MBPS,
         quantization: str | None = None) -> Plan:
    """quantization: size the model quantized (modelcfg.QUANTIZE: fp8 at load, or an int4 AWQ/GPTQ checkpoint)."""
    if quantization:
        model = quantized(model, quantization)
    label, row = find_gpu(gpu)
    gpu_bytes = int(row["memoryMiB"]) * MiB
    if not 0 < util <= 1:
        raise PlanError(f"--gpu-memory-utilization {util}: must be in (0, 1]")
    if max_model_len is None:
        max_model_len = model.max_position_embeddings
        if not max_model_len:
            raise PlanError("config.json: max_position_embeddings is missing; pass --max-model-len")
    if max_num_batched_tokens is None:
        # vllm/engine/arg_utils.py get_batch_defaults (OpenAI server): 16384 on >= 160 GiB GPUs, 8192 on >= 70 GiB
        # other than A100, else 2048.
        max_num_batched_tokens = 16384 if gpu_bytes >= 160 * GiB else \
            8192 if gpu_bytes >= 70 * GiB and "A100" not in label else 2048
    kw = dict(dtype=dtype, kv_cache_dtype=kv_cache_dtype, max_model_len=max_model_len, util=util,
              max_num_batched_tokens=max_num_batched_tokens, max_num_seqs=max_num_seqs, overhead=overhead_bytes,
              kv_cache_memory=kv_cache_memory)
    candidates = tp_candidates(model)
    smallest = next((t for t in candidates if not evaluate(model, gpu_bytes, t, **kw)["reasons"]), None)
    if count is not None and count < 1:
        raise PlanError(f"--count {count}: at least 1 GPU")
    tp = count if count is not None else (smallest or candidates[-1])
    if model.num_heads % tp:
        raise PlanError(f"--count {tp}: tensor parallel size must divide num_attention_heads={model.num_heads}")
    r = evaluate(model, gpu_bytes, tp, **kw)
    windows = [l.window for l in model.layers if l.window]
    p = Plan(model=model.name, gpu=label, gpu_memory_bytes=gpu_bytes, count=tp, dtype=r["dtype"],
             kv_cache_dtype=r["dtype"] if kv_cache_dtype == "auto" else kv_cache_dtype,
             quantization=model.quantization, weights_source=model.weights.source, weights_bytes=r["weights"],
             weights_bytes_per_gpu=r["per_gpu"], kv_bytes_per_token=kv_bytes_per_token(model, r["kvb"]),
             kv_bytes_per_token_per_gpu=kv_bytes_per_token(model, r["kvb"], tp), kv_heads=model.total_kv_heads,
             sliding_window_layers=len(windows), sliding_window=max(windows) if windows else None,
             max_model_len=max_model_len, gpu_memory_utilization=util, overhead_bytes_per_gpu=r["overhead"],
             kv_cache_bytes_per_gpu=r["kv_mem"], kv_cache_tokens=r["tokens"],
             max_concurrent_sequences=round(r["concurrency"], 2), fits=not r["reasons"],
             tensor_parallel_size=smallest, reasons=r["reasons"], load_bandwidth_mbps=load_bandwidth_mbps,
             quantize=quantization)
    if smallest is None:
        p.reasons.append(f"no tensor-parallel size up to {MAX_TP} ({', '.join(map(str, candidates))}) fits on "
                         f"{label}; a larger GPU, quantized weights or pipeline parallelism across nodes is needed")
    suggest_resources(p, model)
    return p


def suggest_resources(p: Plan, model: Model) -> None:
    """shm, pod memory and the startup budget the plan implies."""
    # NCCL moves tensors between a pod's GPUs through /dev/shm: the charts require >= 1Gi with more than one GPU;
    # its buffers grow with the ranks, so 2Gi per GPU (at least 4Gi) leaves room for custom all-reduce and the
    # multiprocessing executor's shared-memory broadcast.
    shm = max(4, 2 * p.count) * GiB if p.count > 1 else 0
    p.shm_size = _gi(shm) if shm else None
    # Pod memory: the loader may hold one safetensors shard in page cache and host RAM while copying it to the
    # GPU, plus the Python engine process (~4 GiB), plus memory-backed shm (it counts against the limit).
    shard = max((f.stat().st_size for f in model.path.glob("*.safetensors")), default=5 * GiB)
    request = 4 * GiB + 2 * shard + shm
    p.memory_request = _gi(request)
    p.memory_limit = _gi(max(request * 1.25, request + 4 * GiB))
    p.startup_budget_seconds = startup_budget_seconds(p.weights_bytes, p.load_bandwidth_mbps)
    if model.weights.source == "config":
        p.notes.append("weights counted from config.json (no safetensors files or index beside it)")
    if p.sliding_window_layers:
        p.notes.append(f"{p.sliding_window_layers} of {len(model.layers)} layers use a {p.sliding_window}-token "
                       "sliding window: they hold at most window + in-flight tokens per sequence")
