#!/usr/bin/env python3
"""Build a tiny random Llama model that vLLM (CPU) can load, in a few seconds and without any download.

Run with the engine venv's python (it imports torch/transformers):
    python -m llmcharts.tinymodel OUT_DIR [--dtype float32] [--max-len 8192]
    python -m llmcharts.tinymodel HF_HOME --hub-repo meta-llama/Llama-3.1-8B-Instruct
    python -m llmcharts.tinymodel ADAPTER_DIR --lora
The second form lays the model out as a Hugging Face Hub cache entry (hub/models--org--name/snapshots/<rev>),
so a chart that names a Hub model id loads it offline (HF_HUB_OFFLINE=1) from HF_HOME, unchanged.

Writes config.json, generation_config.json, model.safetensors, tokenizer.json,
tokenizer_config.json (with chat_template), special_tokens_map.json, chat_template.jinja.
--lora writes a random rank-8 LoRA adapter for that model instead (PEFT layout: adapter_config.json and
adapter_model.safetensors with lora_A/lora_B for q_proj and v_proj), for the LoRA serving tests.
Needs: torch, transformers, tokenizers, safetensors. Runs in a few seconds, no network.
"""
import argparse
import json
import os

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

CORPUS = [
    "Hello world, this is a tiny model used for testing LLM serving charts.",
    "The quick brown fox jumps over the lazy dog.",
    "Kubernetes runs containers in pods; Helm packages charts.",
    "vLLM serves large language models with an OpenAI compatible API.",
    "user assistant system: what is the capital of France? Paris.",
    "0 1 2 3 4 5 6 7 8 9 , . ! ? : ; - _ ( ) [ ] { } / \\ ' \" < > | = + * & % $ # @",
]
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
VOCAB_SIZE = 512


def build_tokenizer(out):
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 20, trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=1 << 20,
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    # transformers>=4.43 writes chat_template.jinja; also embed it in tokenizer_config.json
    # so older/newer readers (vLLM, TGI, SGLang) all find it.
    with open(os.path.join(out, "chat_template.jinja"), "w") as f:
        f.write(CHAT_TEMPLATE)
    tc_path = os.path.join(out, "tokenizer_config.json")
    with open(tc_path) as f:
        tc = json.load(f)
    tc["chat_template"] = CHAT_TEMPLATE
    with open(tc_path, "w") as f:
        json.dump(tc, f, indent=2)
    return fast


# The tiny model's shape (main() builds it): the adapter must match it.
HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM = 128, 2, 2, 2, 64


def write_lora(out: str, rank: int = 8, seed: int = 0) -> None:
    from safetensors.torch import save_file
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for i in range(LAYERS):
        for proj, width in (("q_proj", HEADS * HEAD_DIM), ("v_proj", KV_HEADS * HEAD_DIM)):
            key = f"base_model.model.model.layers.{i}.self_attn.{proj}"
            tensors[f"{key}.lora_A.weight"] = torch.randn(rank, HIDDEN, generator=g) * 0.02
            tensors[f"{key}.lora_B.weight"] = torch.randn(width, rank, generator=g) * 0.02
    save_file(tensors, os.path.join(out, "adapter_model.safetensors"))
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": 2 * rank,
                   "lora_dropout": 0.0, "bias": "none", "target_modules": ["q_proj", "v_proj"],
                   "base_model_name_or_path": "tiny-llama", "fan_in_fan_out": False, "modules_to_save": None}, f)
    print(f"wrote a rank-{rank} LoRA adapter for the tiny llama to {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-len", type=int, default=32768)
    ap.add_argument("--hub-repo", help="write a Hub cache entry for this repo id under OUT (an HF_HOME)")
    ap.add_argument("--lora", action="store_true", help="write a LoRA adapter for the tiny model to OUT")
    ap.add_argument("--revision", default="0" * 40, help="the commit of the Hub cache entry (--hub-repo; default 0...0)")
    a = ap.parse_args()
    if a.lora:
        return write_lora(a.out, seed=a.seed)
    if a.hub_repo:
        revision = a.revision
        entry = os.path.join(a.out, "hub", "models--" + a.hub_repo.replace("/", "--"))
        os.makedirs(os.path.join(entry, "refs"), exist_ok=True)
        with open(os.path.join(entry, "refs", "main"), "w") as f:
            f.write(revision)
        a.out = os.path.join(entry, "snapshots", revision)
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)

    fast = build_tokenizer(a.out)
    vocab = len(fast)  # <= VOCAB_SIZE
    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=HIDDEN,
        intermediate_size=256,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        head_dim=HEAD_DIM,  # CPU attention backend rejects small head sizes (e.g. 16)
        max_position_embeddings=a.max_len,  # presets ask for 8k+ contexts; weights are random anyway
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
        torch_dtype=a.dtype,
    )
    model = LlamaForCausalLM(cfg).to(getattr(torch, a.dtype))
    model.generation_config.bos_token_id = fast.bos_token_id
    model.generation_config.eos_token_id = fast.eos_token_id
    model.generation_config.pad_token_id = fast.pad_token_id
    model.save_pretrained(a.out, safe_serialization=True)
    print(f"wrote tiny llama (vocab={vocab}, params={sum(p.numel() for p in model.parameters())}) to {a.out}")


if __name__ == "__main__":
    main()
