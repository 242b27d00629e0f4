"""Reads what sizing needs from a model folder: attention layout, dtypes, quantization, weight bytes.

Reads what sizing needs from a model folder: config.json (attention layout, dtype, quantization) and the
weight bytes, exactly from the safetensors headers or index when present, else counted from config.json.

KV-cache rules are ported from vLLM 0.32 (the engine venv's installed source):
- KV heads and head size: vllm/transformers_utils/model_arch_config_convertor.py (get_total_num_kv_heads,
  get_head_size, is_deepseek_mla; FalconModelArchConfigConvertor for `multi_query`).
- Bytes per token and layer: vllm/v1/kv_cache_interface.py AttentionSpec.state_content_size_bytes
  ((head_size + head_size_v) x dtype bytes per KV head; MLAAttentionSpec: one latent of
  kv_lora_rank + qk_rope_head_dim, head_size_v = 0).
- Which layers slide: vllm/engine/arg_utils.py (the model-wide sliding_window applies only when config.json has
  no layer_types or all of them slide) and the per-layer layer_types the model files pass (llama.py, gemma2.py),
  with transformers 5.19's defaults for layer_types (Gemma2Config, Gemma3TextConfig, Qwen2Config)."""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path


class PlanError(ValueError):
    """A model the planner cannot size; the message names the config field."""


# Bytes per element of a serving dtype or KV-cache dtype (vllm/utils/torch_utils.py STR_DTYPE_TO_TORCH_DTYPE:
# the fp8 cache dtypes are stored as uint8, one byte).
DTYPE_BYTES = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2,
               "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}
KV_CACHE_DTYPES = ("auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2")
FLOAT_SAFETENSORS = {"F64", "F32", "F16", "BF16"}

# Model types whose MLA latent cache vLLM uses (is_deepseek_mla; the plain DeepSeek ones we can also count).
MLA_TYPES = {"deepseek_v2", "deepseek_v3", "kimi_k2"}
# Families whose parameters we can count from config.json alone (when no safetensors header or index is there).
# gated: the MLP has gate, up and down matrices; norms: RMSNorm weights per layer; tie: tie_word_embeddings
# default of the family's transformers config class.
FAMILIES = {
    "llama": dict(gated=True, norms=2, tie=False),
    "mistral": dict(gated=True, norms=2, tie=False),
    "mixtral": dict(gated=True, norms=2, tie=False),
    "qwen2": dict(gated=True, norms=2, tie=False, qkv_bias=True),
    "qwen3": dict(gated=True, norms=2, tie=False, qk_norm=True),
    "qwen3_moe": dict(gated=True, norms=2, tie=False, qk_norm=True),
    "phi3": dict(gated=True, norms=2, tie=False),
    "gemma": dict(gated=True, norms=2, tie=True),
    "gemma2": dict(gated=True, norms=4, tie=True),
    "gemma3_text": dict(gated=True, norms=4, tie=True, qk_norm=True),
    "falcon": dict(gated=False, norms=0, tie=True),  # LayerNorms with bias, counted in _falcon_norms
    "deepseek_v2": dict(gated=True, norms=2, tie=False),
    "deepseek_v3": dict(gated=True, norms=2, tie=False),
    "gpt_oss": dict(gated=True, norms=2, tie=False),  # o_proj bias, sinks, router and expert biases: linear_shapes
}


def _get(cfg: dict, *names, default=None):
    for n in names:
        if cfg.get(n) is not None:
            return cfg[n]
    return default


def _require(cfg: dict, *names) -> int:
    v = _get(cfg, *names)
    if v is None:
        raise PlanError(f"config.json: {' / '.join(names)} is missing; the planner needs it to size the model")
    return v


@dataclass
class Layer:
    """One attention layer's KV cache: bytes per token at 1 byte per element and the window (None = full)."""
    elements_per_token: int       # per KV head slot: head_size + head_size_v; times kv_heads
    kv_heads: int                 # KV head slots (1 for MLA: the latent is shared by all heads)
    window: int | None = None


@dataclass
class Weights:
    float_params: int             # parameters held in the serving dtype (cast at load)
    fixed_bytes: int              # quantized tensors, kept as stored (packed ints, fp8, their scales)
    source: str                   # safetensors | index | config

    def bytes(self, dtype_bytes: int) -> int:
        return self.float_params * dtype_bytes + self.fixed_bytes


@dataclass
class Model:
    name: str
    path: Path
    config: dict
    model_type: str
    dtype: str                    # the checkpoint's dtype from config.json (torch_dtype / dtype)
    num_layers: int
    num_heads: int
    layers: list[Layer]
    weights: Weights
    quantization: str | None
    max_position_embeddings: int | None
    mla: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def total_kv_heads(self) -> int:
        return self.layers[0].kv_heads if self.layers else 0


def text_config(cfg: dict) -> dict:
    """Multimodal checkpoints nest the language model's config under text_config (vLLM's hf_text_config)."""
    inner = cfg.get("text_config")
    if isinstance(inner, dict) and inner.get("num_hidden_layers"):
        return {**inner, "quantization_config": cfg.get("quantization_config") or inner.get("quantization_config")}
    return cfg


def kv_heads_and_head_size(cfg: dict) -> tuple[int, int, int]:
    """(kv heads, head_size, head_size_v) as vLLM 0.32 sizes the cache (model_arch_config_convertor.py)."""
    heads = _require(cfg, "num_attention_heads", "n_head")
    if cfg.get("model_type") in MLA_TYPES and cfg.get("kv_lora_rank") is not None:
        # MLA: one latent vector per token and layer, kv_lora_rank + qk_rope_head_dim wide, no separate V.
        rope = _require(cfg, "qk_rope_head_dim")
        return 1, cfg["kv_lora_rank"] + rope, 0
    if cfg.get("model_type") == "falcon" and not cfg.get("new_decoder_architecture") and cfg.get("multi_query"):
        kv = 1  # FalconModelArchConfigConvertor: multi_query without the new decoder architecture is one KV head
    else:
        kv = _get(cfg, "n_head_kv", "num_kv_heads", "num_key_value_heads", "multi_query_group_num", default=heads)
    head_dim = cfg.get("head_dim")
    if not head_dim:
        head_dim = _get(cfg, "hidden_size_per_head") or _require(cfg, "hidden_size") // heads
    return kv, head_dim, head_dim


def layer_windows(cfg: dict, n: int) -> list[int | None]:
    """Sliding window of each attention layer (None = full attention), as vLLM 0.32 applies them."""
    window = cfg.get("sliding_window") or None  # 0 means disabled (vllm/config/model.py)
    mt = cfg.get("model_type", "")
    types = cfg.get("layer_types")
    if mt in ("qwen2", "qwen3", "qwen2_moe", "qwen3_moe"):
        # Qwen2Config: sliding_window only with use_sliding_window, then for layers >= max_window_layers.
        if not cfg.get("use_sliding_window"):
            window = None
        if types is None:
            start = cfg.get("max_window_layers", n)
            types = ["sliding_attention" if window and i >= start else "full_attention" for i in range(n)]
    elif types is None and mt == "gemma2" and window:
        types = ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
    elif types is None and mt in ("gemma3", "gemma3_text") and window:
        pattern = cfg.get("sliding_window_pattern", 6)
        types = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
    if types is None:
        if cfg.get("attention_chunk_size") or cfg.get("no_rope_layers"):
            raise PlanError("config.json: attention_chunk_size (chunked local attention, e.g. Llama 4) is not "
                            "supported by the planner")
        # No per-layer types: the model-wide window applies to every layer (Mistral 7B v0.1).
        return [window] * n
    if len(types) != n:
        raise PlanError(f"config.json: layer_types has {len(types)} entries for num_hidden_layers={n}")
    out = []
    for i, t in enumerate(types):
        if t == "full_attention":
            out.append(None)
        elif t == "sliding_attention":
            if not window:
                raise PlanError(f"config.json: layer_types[{i}] is sliding_attention but sliding_window is not set")
            out.append(window)
        else:
            raise PlanError(f"config.json: layer_types[{i}] = {t!r} is not supported by the planner "
                            "(full_attention and sliding_attention are)")
    return out


# -- weights

def read_safetensors_header(path: Path) -> dict:
    """The JSON header of a .safetensors file: u64 little-endian length, then the JSON (safetensors format)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        if n > 100_000_000:
            raise PlanError(f"{path.name}: not a safetensors file (header length {n})")
        return json.loads(f.read(n))


def weights_from_safetensors(files: list[Path]) -> Weights:
    """Exact: every tensor's bytes from its data_offsets; floating tensors count as params (cast to the serving
    dtype at load), others (packed int4, int8, fp8 and their scales) keep their stored size."""
    float_params = fixed = 0
    for f in files:
        for name, t in read_safetensors_header(f).items():
            if name == "__metadata__":
                continue
            start, end = t["data_offsets"]
            if t["dtype"] in FLOAT_SAFETENSORS and not _is_quant_aux(name):
                float_params += math.prod(t["shape"])
            else:
                fixed += end - start
    return Weights(float_params, fixed, "safetensors")


def _is_quant_aux(name: str) -> bool:
    """Scales and zero points of quantized layers stay in their stored dtype (vLLM's quant methods load them as is)."""
    return name.endswith(("_scale", ".scales", "weight_scale_inv", "_zero_point", ".qzeros", ".g_idx"))


def linear_shapes(cfg: dict) -> tuple[list[tuple[int, int, int]], int]:
    """Quantizable linear matrices of the decoder layers as (in_features, out_features, how many), and the other
    parameters (norms, biases, routers) as a count. Formulas follow each family's transformers modeling file."""
    mt = cfg.get("model_type", "")
    fam = FAMILIES[mt]
    h = _require(cfg, "hidden_size")
    n = _require(cfg, "num_hidden_layers", "n_layer")
    heads = _require(cfg, "num_attention_heads", "n_head")
    mats: list[tuple[int, int, int]] = []
    other = 0
    if mt in MLA_TYPES:
        # DeepseekV2Attention: q (or q_a/q_b with q_lora_rank), kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj.
        nope, rope, v = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
        r, qr = cfg["kv_lora_rank"], cfg.get("q_lora_rank")
        q = [(h, qr, n), (qr, heads * (nope + rope), n)] if qr else [(h, heads * (nope + rope), n)]
        other += n * (r + (qr or 0))
        mats += q + [(h, r + rope, n), (r, heads * (nope + v), n), (heads * v, h, n)]
    else:
        kv, hd, _ = kv_heads_and_head_size(cfg)
        mats += [(h, heads * hd, n), (h, kv * hd, 2 * n), (heads * hd, h, n)]  # q, k+v, o
        if fam.get("qkv_bias") or cfg.get("attention_bias") or cfg.get("bias"):
            other += n * (heads + 2 * kv) * hd
        if fam.get("qk_norm"):
            other += n * 2 * hd
    if mt == "falcon":
        # FalconDecoderLayer: LayerNorm (weight + bias) once with parallel_attn, twice otherwise; then ln_f.
        per_layer = 1 if cfg.get("parallel_attn", True) and not cfg.get("new_decoder_architecture") else 2
        other += (n * per_layer + 1) * 2 * h
    else:
        other += (n * fam["norms"] + 1) * h  # RMSNorm weights per layer, and the final norm
    inter = _get(cfg, "intermediate_size", "ffn_hidden_size", default=4 * h)
    up = 2 if fam["gated"] else 1  # gate and up projections, or up only
    experts = _get(cfg, "num_local_experts", "n_routed_experts", "num_experts", default=0)
    if not experts:
        mats += [(h, inter, up * n), (inter, h, n)]
        return mats, other
    # Which layers are MoE: DeepSeek (first_k_dense_replace, moe_layer_freq), Qwen3-MoE (decoder_sparse_step,
    # mlp_only_layers), Mixtral (all).
    dense_first, freq = cfg.get("first_k_dense_replace") or 0, cfg.get("moe_layer_freq") or 1
    step, mlp_only = cfg.get("decoder_sparse_step") or 1, set(cfg.get("mlp_only_layers") or [])
    moe_layers = sum(1 for i in range(n) if i >= dense_first and i % freq == 0 and (i + 1) % step == 0
                     and i not in mlp_only)
    dense_layers = n - moe_layers
    moe_inter = _get(cfg, "moe_intermediate_size", default=inter)
    per_layer_experts = experts + (cfg.get("n_shared_experts") or 0)  # DeepSeek's shared experts are moe-sized
    mats += [(h, inter, up * dense_layers), (inter, h, dense_layers)]
    mats += [(h, moe_inter, up * moe_layers * per_layer_experts), (moe_inter, h, moe_layers * per_layer_experts)]
    other += moe_layers * experts * h  # the router (gate), left unquantized
    if mt == "gpt_oss":
        # GptOssAttention: o_proj bias and one sink logit per head; GptOssMLP: router bias, and a bias on every
        # expert's gate_up (2 x intermediate) and down (hidden) projection.
        other += n * (h + heads) + moe_layers * experts * (1 + up * moe_inter + h)
    return mats, other


def quant_bytes(mats: list[tuple[int, int, int]], q: dict) -> tuple[int, str]:
    """Bytes of the linear weights under quantization_config, with each method's scales and zero points."""
    method = (q.get("quant_method") or "").lower().replace("compressed_tensors", "compressed-tensors")
    params = sum(i * o * c for i, o, c in mats)
    if method == "fp8":
        # Fp8Config: 1 byte per weight, plus an fp32 scale per weight_block_size block (or one per tensor).
        block = q.get("weight_block_size")
        scales = sum(math.ceil(i / block[1]) * math.ceil(o / block[0]) * c for i, o, c in mats) if block else \
            sum(c for *_, c in mats)
        return params + 4 * scales, "fp8"
    if method in ("awq", "gptq"):
        bits = q.get("bits") or q.get("w_bit")
        if not bits:
            raise PlanError(f"config.json: quantization_config.bits is missing for quant_method={method}")
        g = q.get("group_size", q.get("q_group_size", 128))
        g = g if g and g > 0 else None
        # AWQ/GPTQ pack `bits`-bit weights into int32, with an fp16 scale and a packed zero point per group of
        # g input features per output column (qweight, scales, qzeros); GPTQ adds an int32 g_idx per input row.
        groups = sum(((i // g) if g else 1) * o * c for i, o, c in mats)
        g_idx = sum(i * c for i, o, c in mats) * 4 if method == "gptq" else 0
        return params * bits // 8 + groups * (2 * 8 + bits) // 8 + g_idx, f"{method} int{bits}"
    if method == "compressed-tensors":
        groups = list((q.get("config_groups") or {}).values())
        w = (groups[0].get("weights") or {}) if groups else {}
        if len(groups) != 1 or not w.get("num_bits"):
            raise PlanError("config.json: quantization_config.config_groups: the planner reads one group with "
                            "weights.num_bits; put the *.safetensors files beside config.json for an exact count")
        bits, strategy, g = w["num_bits"], w.get("strategy", "tensor"), w.get("group_size")
        scale_count = {"group": sum((i // (g or i)) * o * c for i, o, c in mats),
                       "channel": sum(o * c for i, o, c in mats)}.get(strategy, sum(c for *_, c in mats))
        zeros = 0 if w.get("symmetric", True) else scale_count * bits // 8
        return params * bits // 8 + 2 * scale_count + zeros, f"{w.get('type', 'int')}{bits}"
    raise PlanError(f"config.json: quantization_config.quant_method={method!r} is not supported by the planner "
                    "(fp8, awq, gptq, compressed-tensors are); put the *.safetensors files beside config.json to "
                    "size its weights from their headers")


def weights_from_config(cfg: dict) -> tuple[Weights, str | None]:
    mt = cfg.get("model_type", "")
    if mt not in FAMILIES:
        raise PlanError(f"config.json: model_type={mt!r}: the planner cannot count its parameters from "
                        "config.json alone; put the *.safetensors files (or model.safetensors.index.json) beside it")
    h = _require(cfg, "hidden_size")
    vocab = _require(cfg, "vocab_size")
    mats, other = linear_shapes(cfg)
    tie = cfg.get("tie_word_embeddings", FAMILIES[mt]["tie"])
    other += vocab * h * (1 if tie else 2)  # embed_tokens (+ lm_head unless tied)
    q = cfg.get("quantization_config")
    if not q:
        return Weights(sum(i * o * c for i, o, c in mats) + other, 0, "config"), None
    if (q.get("quant_method") or "").lower() == "mxfp4":
        # MXFP4 (gpt-oss): only the MoE experts, the last two matrices, are stored as 4-bit values with a uint8
        # scale per 32 (the checkpoint's *_blocks and *_scales); attention, router and embeddings stay in bf16
        # (quantization_config.modules_to_not_convert). vLLM's Mxfp4MoEMethod keeps them so.
        if not _get(cfg, "num_local_experts", "num_experts"):
            raise PlanError("config.json: quant_method=mxfp4 without experts; the planner sizes MXFP4 MoE experts only")
        expert = sum(i * o * c for i, o, c in mats[-2:])
        return Weights(other + sum(i * o * c for i, o, c in mats[:-2]), expert // 2 + expert // 32, "config"), "mxfp4"
    fixed, label = quant_bytes(mats, q)
    return Weights(other, fixed, "config"), label


def weights_for(folder: Path, cfg: dict, dtype: str) -> tuple[Weights, str | None]:
    q = cfg.get("quantization_config")
    label = (q.get("quant_method") if q else None)
    files = sorted(folder.glob("*.safetensors"))
    if files:
        return weights_from_safetensors(files), label
    index = folder / "model.safetensors.index.json"
    if index.exists():
        total = (json.loads(index.read_text()).get("metadata") or {}).get("total_size")
        if total:
            # The index gives the stored bytes; unquantized checkpoints are counted as params of their dtype.
            if q:
                return Weights(0, int(total), "index"), label
            return Weights(int(total) // DTYPE_BYTES.get(dtype, 2), 0, "index"), None
    return weights_from_config(cfg)


# What `llmcharts plan --quantization` sizes: fp8 is vLLM's --quantization fp8 (linear weights quantized to fp8 at
# load, one fp32 scale per tensor: Fp8LinearMethod); awq and gptq stand for a 4-bit, group-128 checkpoint of the
# same architecture (what AWQ/GPTQ releases of these models ship).
QUANTIZE = {"fp8": {"quant_method": "fp8"}, "awq": {"quant_method": "awq", "bits": 4, "group_size": 128},
            "gptq": {"quant_method": "gptq", "bits": 4, "group_size": 128}}


def quantized(model: "Model", method: str) -> "Model":
    """The model with its weights counted as `method` (QUANTIZE) quantizes them, from config.json."""
    if method not in QUANTIZE:
        raise PlanError(f"--quantization {method!r}: one of {', '.join(QUANTIZE)}")
    if model.quantization:
        raise PlanError(f"--quantization {method}: the checkpoint is already quantized ({model.quantization})")
    weights, label = weights_from_config({**model.config, "quantization_config": QUANTIZE[method]})
    return replace(model, weights=weights, quantization=label)


# -- loading

def resolve_model_dir(model: str) -> Path:
    """A local folder with config.json, or a Hub id already in the local cache (HF_HOME/hub/models--org--name)."""
    p = Path(model).expanduser()
    if p.is_dir():
        if not (p / "config.json").exists():
            raise PlanError(f"--model {model}: no config.json in that folder")
        return p
    hf_home = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    entry = hf_home / ("models--" + model.replace("/", "--"))
    ref = entry / "refs" / "main"
    snaps = entry / "snapshots"
    if ref.exists() and (snaps / ref.read_text().strip() / "config.json").exists():
        return snaps / ref.read_text().strip()
    found = sorted(snaps.glob("*/config.json")) if snaps.is_dir() else []
    if found:
        return found[-1].parent
    raise PlanError(f"--model {model}: not a folder with config.json, and not in the Hub cache ({entry}); "
                    "the planner works offline: download the model (or just its config.json) first")


def load(model: str) -> Model:
    folder = resolve_model_dir(model)
    try:
        raw = json.loads((folder / "config.json").read_text())
    except json.JSONDecodeError as e:
        raise PlanError(f"{folder / 'config.json'}: not valid JSON ({e})") from None
    cfg = text_config(raw)
    n = _require(cfg, "num_hidden_layers", "n_layer")
    heads = _require(cfg, "num_attention_heads", "n_head")
    kv, hs, hs_v = kv_heads_and_head_size(cfg)
    windows = layer_windows(cfg, n)
    dtype = str(_get(cfg, "torch_dtype", "dtype", default=_get(raw, "torch_dtype", "dtype", default="float32")))
    dtype = dtype.replace("torch.", "")
    weights, quant = weights_for(folder, cfg, dtype)
    mla = cfg.get("model_type") in MLA_TYPES and cfg.get("kv_lora_rank") is not None
    return Model(name=model, path=folder, config=cfg, model_type=cfg.get("model_type", ""), dtype=dtype,
                 num_layers=n, num_heads=heads, layers=[Layer(hs + hs_v, kv, w) for w in windows],
                 weights=weights, quantization=quant, mla=mla,
                 max_position_embeddings=_get(cfg, "max_position_embeddings", "n_positions", "max_seq_len",
                                              "seq_length"))
