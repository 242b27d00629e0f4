"""The sizing planner against published model configs and parameter counts (tests/data/model-configs/README.md),
vLLM 0.32's KV-cache arithmetic written out by hand, and its failure messages."""
import json
import struct

import pytest

from llmcharts import cli, modelcfg, plan
from llmcharts.modelcfg import PlanError
from llmcharts.plan import GiB

from conftest import STATS

DATA = plan.paths.ROOT / "tests" / "data" / "model-configs"


def load(name):
    return modelcfg.load(str(DATA / name))


# KV bytes per token = 2 (K and V) x layers x KV heads x head_dim x 2 bytes (bf16), from each config.json;
# MLA: layers x (kv_lora_rank + qk_rope_head_dim) x 2 bytes (one latent, no separate V).
KV_BYTES = {
    "llama-3.1-8b": 2 * 32 * 8 * 128 * 2,        # = 131072
    "llama-3.1-70b": 2 * 80 * 8 * 128 * 2,       # GQA 64 heads / 8 KV heads
    "mistral-7b-v0.3": 2 * 32 * 8 * 128 * 2,
    "mixtral-8x7b": 2 * 32 * 8 * 128 * 2,
    "qwen2.5-7b": 2 * 28 * 4 * 128 * 2,          # head_dim = 3584 / 28
    "gemma-2b": 2 * 18 * 1 * 256 * 2,            # MQA: num_key_value_heads 1, head_dim 256
    "falcon-7b": 2 * 32 * 1 * 64 * 2,            # MQA: multi_query, head_dim = 4544 / 71
    "deepseek-v2-lite": 27 * (512 + 64) * 2,     # MLA
    "gemma-2-9b": 2 * 42 * 8 * 256 * 2,
    "mistral-7b-v0.1": 2 * 32 * 8 * 128 * 2,
    "llama-3.2-3b": 2 * 28 * 8 * 128 * 2,        # head_dim 128 given (3072 / 24 heads)
    "qwen2.5-3b": 2 * 36 * 2 * 128 * 2,          # GQA 16/2
    "qwen2.5-14b": 2 * 48 * 8 * 128 * 2,
    "qwen2.5-32b": 2 * 64 * 8 * 128 * 2,
    "qwen3-4b": 2 * 36 * 8 * 128 * 2,
    "qwen3-8b": 2 * 36 * 8 * 128 * 2,
    "qwen3-14b": 2 * 40 * 8 * 128 * 2,
    "qwen3-32b": 2 * 64 * 8 * 128 * 2,           # 64 query heads x 128 > hidden 5120: head_dim is given
    "qwen3-30b-a3b": 2 * 48 * 4 * 128 * 2,       # MoE, GQA 32/4
    "phi-4": 2 * 40 * 10 * 128 * 2,              # GQA 40/10
    "gpt-oss-20b": 2 * 24 * 8 * 64 * 2,          # head_dim 64; half the layers slide over 128 tokens
}

# Published parameter counts (model cards / technical reports, see the README beside the configs).
PARAMS = {
    "llama-3.1-8b": 8.03e9,
    "llama-3.1-70b": 70.6e9,
    "mistral-7b-v0.3": 7.25e9,
    "mistral-7b-v0.1": 7.24e9,
    "mixtral-8x7b": 46.7e9,
    "qwen2.5-7b": 7.61e9,
    "gemma-2b": 2.51e9,
    "falcon-7b": 7.0e9,
    "deepseek-v2-lite": 15.7e9,
    "gemma-2-9b": 9.24e9,
    "llama-3.2-3b": 3.21e9,
    "qwen2.5-3b": 3.09e9,
    "qwen2.5-14b": 14.7e9,
    "qwen2.5-32b": 32.5e9,
    "qwen3-4b": 4.0e9,
    "qwen3-8b": 8.2e9,
    "qwen3-14b": 14.8e9,
    "qwen3-32b": 32.8e9,
    "qwen3-30b-a3b": 30.5e9,
    "phi-4": 14.7e9,
}


@pytest.mark.parametrize("name", sorted(KV_BYTES))
def test_kv_bytes_per_token_is_exact(name):
    m = load(name)
    p = plan.plan(m, "NVIDIA-H100-80GB-HBM3", max_model_len=4096)
    assert p.kv_bytes_per_token == KV_BYTES[name]
    assert p.kv_cache_dtype == "bfloat16"


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_weight_bytes_within_3_percent_of_published_params(name):
    m = load(name)
    p = plan.plan(m, "NVIDIA-H100-80GB-HBM3", max_model_len=4096)
    published = PARAMS[name] * 2  # bf16
    STATS[f"plan: {name} weights / published"] = round(p.weights_bytes / published, 4)
    assert abs(p.weights_bytes / published - 1) < 0.03, (p.weights_bytes, published)


def test_fp8_kv_cache_halves_bytes_per_token():
    m = load("llama-3.1-8b")
    assert plan.plan(m, "L4", max_model_len=4096, kv_cache_dtype="fp8").kv_bytes_per_token == 2 * 32 * 8 * 128 * 1


def test_llama_70b_bf16_on_one_l4_does_not_fit():
    p = plan.plan(load("llama-3.1-70b"), "NVIDIA-L4", count=1, max_model_len=8192)
    assert not p.fits and p.kv_cache_tokens == 0
    assert "weights" in p.reasons[0] and "gpu-memory-utilization" in p.reasons[0]


def test_llama_70b_bf16_on_4_h100_fits_with_room():
    p = plan.plan(load("llama-3.1-70b"), "NVIDIA-H100-80GB-HBM3", count=4, max_model_len=8192)
    assert p.fits
    # 141 GB of weights leave each 80 GB GPU about 36 GiB of KV cache, 1/4 of 327680 bytes per token per GPU:
    # several hundred thousand tokens, dozens of 8k sequences.
    assert 300_000 < p.kv_cache_tokens < 600_000 and p.max_concurrent_sequences > 32
    assert p.shm_size and p.count == 4


def test_smallest_tp_for_llama_70b_on_h100():
    m = load("llama-3.1-70b")
    # 70.6B x 2 bytes over 2 GPUs is 65.7 GiB each: it fits at 8k context, not at the full 128k.
    assert plan.plan(m, "H100", max_model_len=8192).tensor_parallel_size == 2
    assert plan.plan(m, "H100", max_model_len=131072).tensor_parallel_size == 4
    p = plan.plan(m, "H100", count=2, max_model_len=131072)
    assert not p.fits and "less than one sequence" in p.reasons[0]


def test_sliding_window_layers_hold_window_plus_inflight_tokens():
    """vLLM's SlidingWindowSpec: a request holds ceil(min(window - 1 + in-flight, len) / 16) + 1 blocks."""
    full, swa = load("mistral-7b-v0.3"), load("mistral-7b-v0.1")
    mem = 64 * GiB  # a fixed KV cache (as --kv-cache-memory-bytes): 64 GiB / 2 MiB blocks = 32768 blocks
    block = 32 * 8 * 128 * 2 * 2 * 16  # layers x KV heads x head_dim x (K, V) x bf16 x 16 tokens = 2 MiB
    assert mem // block == 32768
    kw = dict(count=1, max_model_len=32768, kv_cache_memory=mem, max_num_batched_tokens=2048)
    p_full, p_swa = plan.plan(full, "H100", **kw), plan.plan(swa, "H100", **kw)
    assert p_full.max_concurrent_sequences == 32768 / (32768 // 16)           # 16 sequences of 32k
    held = min(4096 - 1 + 2 * 2048, 32768)                                  # window - 1 + 2 batches in flight
    assert p_swa.max_concurrent_sequences == round(32768 / (-(-held // 16) + 1), 2)
    assert p_swa.sliding_window_layers == 32 and p_swa.sliding_window == 4096


def test_hybrid_sliding_and_full_layers_are_grouped_as_vllm_does():
    """Gemma 2: 21 sliding + 21 full layers -> two groups of 21 layers sharing one block pool."""
    m = load("gemma-2-9b")
    assert [l.window for l in m.layers[:4]] == [4096, None, 4096, None]  # transformers' Gemma2Config layer_types
    mem = 84 * GiB
    block = 21 * 8 * 256 * 2 * 2 * 16  # a block spans one group's 21 layers
    blocks = mem // block
    held = min(4096 - 1 + 2 * 8192, 32768)
    per_request = 32768 // 16 + (-(-held // 16) + 1)
    p = plan.plan(m, "H100", count=1, max_model_len=32768, kv_cache_memory=mem, max_num_batched_tokens=8192)
    assert p.kv_cache_tokens == int(blocks / per_request * 32768)


def test_qwen_sliding_window_is_off_unless_use_sliding_window():
    m = load("qwen2.5-7b")
    assert all(l.window is None for l in m.layers)


def test_mla_cache_is_replicated_across_tensor_parallel_ranks():
    m = load("deepseek-v2-lite")
    p = plan.plan(m, "H100", count=2, max_model_len=8192)
    assert p.kv_bytes_per_token_per_gpu == p.kv_bytes_per_token == 27 * 576 * 2
    g = plan.plan(load("llama-3.1-70b"), "H100", count=4, max_model_len=8192)
    assert g.kv_bytes_per_token_per_gpu == g.kv_bytes_per_token // 4


def test_config_quantization_overheads():
    """AWQ int4, group 128: 4 bits per weight plus an fp16 scale and a 4-bit zero per 128 weights; fp8 with
    128x128 blocks: 1 byte per weight plus an fp32 scale per block. Embeddings, norms stay bf16."""
    cfg = json.loads((DATA / "llama-3.1-8b" / "config.json").read_text())
    linear = 32 * (4096 * 4096 * 2 + 4096 * 1024 * 2 + 3 * 4096 * 14336)
    other = 2 * 128256 * 4096 + (2 * 32 + 1) * 4096
    awq = modelcfg.weights_from_config({**cfg, "quantization_config": {"quant_method": "awq", "bits": 4,
                                                                      "group_size": 128, "zero_point": True}})[0]
    assert awq.bytes(2) == linear // 2 + linear // 128 * 2 + linear // 128 // 2 + other * 2
    fp8 = modelcfg.weights_from_config({**cfg, "quantization_config": {"quant_method": "fp8",
                                                                      "weight_block_size": [128, 128]}})[0]
    assert fp8.bytes(2) == linear + linear // (128 * 128) * 4 + other * 2


def _write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, (dtype, shape, nbytes) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


def test_safetensors_headers_give_exact_bytes(tmp_path):
    """Float tensors are cast to the serving dtype; packed int4 weights and their fp16 scales stay as stored."""
    cfg = json.loads((DATA / "llama-3.1-8b" / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "torch_dtype": "float32"}))
    _write_safetensors(tmp_path / "model-00001.safetensors", {
        "model.embed_tokens.weight": ("F32", [10, 4], 160),
        "model.layers.0.mlp.down_proj.qweight": ("I32", [16, 4], 256),
        "model.layers.0.mlp.down_proj.scales": ("F16", [1, 32], 64)})
    m = modelcfg.load(str(tmp_path))
    assert m.weights.source == "safetensors"
    assert m.weights.bytes(2) == 40 * 2 + 256 + 64  # fp32 checkpoint served in bf16 (dtype auto)
    p = plan.plan(m, "L4", max_model_len=4096)
    assert p.dtype == "bfloat16" and p.weights_bytes == 400


def test_index_total_size_is_used_without_weight_files(tmp_path):
    cfg = json.loads((DATA / "mistral-7b-v0.3" / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 14496047104},
                                                                        "weight_map": {}}))
    m = modelcfg.load(str(tmp_path))
    assert m.weights.source == "index" and m.weights.bytes(2) == 14496047104


def test_hub_id_in_the_local_cache(tmp_path, monkeypatch):
    snap = tmp_path / "hub" / "models--meta-llama--Llama-3.1-8B" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (snap / "config.json").write_text((DATA / "llama-3.1-8b" / "config.json").read_text())
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    assert modelcfg.load("meta-llama/Llama-3.1-8B").path == snap
    with pytest.raises(PlanError, match="not in the Hub cache"):
        modelcfg.load("meta-llama/Llama-3.1-405B")


@pytest.mark.parametrize("edit, field", [
    (lambda c: c.pop("num_hidden_layers"), "num_hidden_layers"),
    (lambda c: c.update(quantization_config={"quant_method": "bitsandbytes"}), "quantization_config.quant_method"),
    (lambda c: c.update(layer_types=["mamba"] * 32), "layer_types"),
    (lambda c: c.update(model_type="mystery"), "model_type"),
    (lambda c: c.update(layer_types=["sliding_attention"] * 32, sliding_window=None), "sliding_window"),
])
def test_errors_name_the_config_field(tmp_path, edit, field):
    cfg = json.loads((DATA / "llama-3.1-8b" / "config.json").read_text())
    edit(cfg)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PlanError, match=field.replace(".", r"\.")):
        modelcfg.load(str(tmp_path))


def test_unknown_gpu_is_refused_with_the_table_named():
    with pytest.raises(PlanError, match="_gpus.tpl"):
        plan.plan(load("llama-3.1-8b"), "NVIDIA-GTX-1080", max_model_len=4096)


def test_cli_json_has_the_documented_keys(capsys):
    rc = cli.main(["plan", "--model", str(DATA / "llama-3.1-8b"), "--gpu", "NVIDIA-L4", "--max-model-len", "8192",
                   "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    for k in ("weights_bytes", "kv_bytes_per_token", "kv_cache_tokens", "max_concurrent_sequences", "fits",
              "tensor_parallel_size"):
        assert k in out
    assert out["kv_bytes_per_token"] == 131072 and out["fits"] is True


def test_cli_table_and_exit_status(capsys):
    rc = cli.main(["plan", "--model", str(DATA / "llama-3.1-70b"), "--gpu", "L4", "--count", "1",
                   "--max-model-len", "8192"])
    out = capsys.readouterr().out
    assert rc == 1 and "fits" in out and "NO:" in out
    assert cli.main(["plan", "--model", str(DATA / "llama-3.1-8b"), "--gpu", "nope"]) == 2
    assert "is not in the GPU table" in capsys.readouterr().err


def test_help_says_what_it_assumes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["plan", "--help"])
    out = capsys.readouterr().out
    assert "What it assumes" in out and "--write-values" in out


def test_quantization_sizes_the_linear_weights_as_stored():
    """--quantization: fp8 (vLLM quantizes at load) keeps embeddings in bf16 and the linear weights in one byte;
    awq is an int4 group-128 checkpoint (packed weights, fp16 scales, packed zeros); a quantized checkpoint is not
    quantized twice."""
    m = load("llama-3.1-70b")
    bf16 = plan.plan(m, "H100", count=4, max_model_len=8192).weights_bytes
    fp8 = plan.plan(m, "H100", count=4, max_model_len=8192, quantization="fp8")
    awq = plan.plan(m, "H100", count=4, max_model_len=8192, quantization="awq")
    embeddings = 2 * 128256 * 8192 * 2                           # embed_tokens + lm_head, bf16
    norms = (2 * 80 + 1) * 8192 * 2                              # RMSNorm weights stay bf16 too
    scales = 80 * 7 * 4                                          # one fp32 scale per linear weight
    assert fp8.quantization == "fp8"
    assert fp8.weights_bytes == (bf16 - embeddings - norms) // 2 + embeddings + norms + scales
    assert awq.quantization == "awq int4" and 0.27 < awq.weights_bytes / bf16 < 0.30
    with pytest.raises(PlanError, match="already quantized"):
        plan.plan(modelcfg.quantized(m, "awq"), "H100", count=4, max_model_len=8192, quantization="fp8")
    with pytest.raises(PlanError, match="--quantization 'int3'"):
        modelcfg.quantized(m, "int3")


def test_gpt_oss_mxfp4_experts_and_bf16_rest():
    """gpt-oss-20b: 20.9B parameters (model card); the checkpoint is 12.8 GiB (OpenAI's gpt-oss model card,
    arXiv:2508.10925): MXFP4 experts (4 bits + a uint8 scale per 32) and bf16 attention, router and embeddings."""
    m = load("gpt-oss-20b")
    unquantized, _ = modelcfg.weights_from_config({**m.config, "quantization_config": None})
    assert abs(unquantized.float_params / 20.9e9 - 1) < 0.03
    p = plan.plan(m, "H100", max_model_len=8192)
    assert p.quantization == "mxfp4" and abs(p.weights_bytes / (12.8 * GiB) - 1) < 0.03, p.weights_bytes / GiB
    assert p.sliding_window_layers == 12 and p.sliding_window == 128
