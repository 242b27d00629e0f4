"""`llmcharts plan`: its arguments and help, the table a person reads, --json, and --write-values."""
from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from pathlib import Path

from . import modelcfg, plan as planner, plan_values
from .modelcfg import PlanError
from .plan import GiB

DESCRIPTION = """\
Size a model on a GPU before deploying it, offline, as vLLM 0.32 would: weight bytes, KV cache bytes per
token, the KV cache tokens left per replica after weights and overhead, how many sequences of --max-model-len
run at once, whether it fits, the smallest tensor-parallel size that fits, and shm / memory / startup-probe
suggestions. With --write-values it writes a values file for a chart, with the model's profile in it.

--model is a folder with config.json (and, when present, *.safetensors or model.safetensors.index.json: their
headers give the exact weight bytes), or a Hub id already in the local cache (HF_HOME/hub). --gpu is a product
label from charts/llm-common/templates/_gpus.tpl (e.g. NVIDIA-L4, NVIDIA-H100-80GB-HBM3) or a short alias (L4).

What it assumes (each can be overridden):
- weights split evenly over the tensor-parallel GPUs; float weights in --dtype (auto: the checkpoint's, fp32
  as bf16), quantized ones (fp8, AWQ/GPTQ int4 with scales and zeros, compressed-tensors, MXFP4 experts) as
  stored; --quantization sizes fp8 at load or an int4 AWQ/GPTQ checkpoint of an unquantized model;
- per GPU: GPU memory x --gpu-memory-utilization - weights - overhead is KV cache; overhead = 1 GiB (CUDA
  context, workspaces, CUDA graphs; +0.5 GiB NCCL with TP > 1) + an estimate of the profile run's activations
  at --max-num-batched-tokens (vLLM's per-GPU default) (--overhead-gib replaces it);
- KV blocks of 16 tokens; sliding-window layers hold window + in-flight tokens (2 x max-num-batched-tokens);
- "fits" = the weights fit and the KV cache holds at least one sequence of --max-model-len (vLLM refuses to
  start otherwise); tensor-parallel sizes are powers of two dividing the attention heads, up to 8 (one node);
- startup budget = (120 s + weights / --load-mbps) x 1.5, rounded up to a minute.

Exit status: 0 it fits, 1 it does not, 2 bad input (the message names the field or option).
"""


def register(sub) -> None:
    p = sub.add_parser("plan", help="size a model on a GPU (weights, KV cache, fit, tensor parallel); write values",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="folder with config.json, or a Hub id in the local HF cache")
    p.add_argument("--gpu", required=True, help="GPU product label (or alias) from the llm-common GPU table")
    p.add_argument("--count", type=int, help="GPUs per replica = tensor parallel size (default: the smallest that fits)")
    p.add_argument("--max-model-len", type=int, help="context length (default: the model's max_position_embeddings)")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9, help="vLLM's fraction of GPU memory (0.9)")
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"])
    p.add_argument("--kv-cache-dtype", default="auto", choices=list(modelcfg.KV_CACHE_DTYPES))
    p.add_argument("--quantization", choices=list(modelcfg.QUANTIZE),
                   help="size the model quantized: fp8 (vLLM quantizes at load), awq or gptq (an int4 g128 checkpoint)")
    p.add_argument("--max-num-seqs", type=int, default=256)
    p.add_argument("--max-num-batched-tokens", type=int, help="vLLM's default for the GPU when omitted")
    p.add_argument("--overhead-gib", type=float, help="per-GPU memory besides weights and KV cache (default: estimated)")
    p.add_argument("--kv-cache-memory", help="fixed KV cache per GPU (e.g. 4GiB), as vLLM's --kv-cache-memory-bytes "
                                             "or VLLM_CPU_KVCACHE_SPACE; skips the memory estimate")
    p.add_argument("--load-mbps", type=float, default=planner.LOAD_BANDWIDTH_MBPS,
                   help="assumed weight load bandwidth in MB/s for the startup budget (250)")
    p.add_argument("--json", action="store_true", help="print the plan as a JSON object")
    p.add_argument("--write-values", metavar="CHART", choices=plan_values.CHARTS,
                   help="write a values file for this chart (vllm, tgi, kserve-llm, ray-llm); needs -o")
    p.add_argument("-o", "--output", help="where --write-values writes")
    p.add_argument("--model-name", help="what the written values load (Hub id or a path in the pod); default: the "
                                        "Hub id --model names or resolves to")
    p.set_defaults(func=run, parser=p)


def command_line(args) -> str:
    """The `llmcharts plan` command that gives these arguments (for the written values file's header)."""
    out = ["llmcharts", "plan"]
    for a in args.parser._actions:
        value = getattr(args, a.dest, None)
        if not a.option_strings or a.dest == "help" or value == a.default or value is None:
            continue
        out += [a.option_strings[-1]] + ([] if value is True else [str(value)])
    return " ".join(shlex.quote(x) for x in out)


def parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9.]+)\s*(Gi|GiB|G|Mi|MiB|M)?\s*", text or "")
    if not m:
        raise PlanError(f"--kv-cache-memory {text!r}: a size such as 4GiB or 512MiB")
    unit = {"Gi": GiB, "GiB": GiB, "G": 10 ** 9, "Mi": 2 ** 20, "MiB": 2 ** 20, "M": 10 ** 6, None: 1}[m.group(2)]
    return int(float(m.group(1)) * unit)


def table(p: planner.Plan) -> str:
    rows = [
        ("model", p.model),
        ("gpu", f"{p.count} x {p.gpu} ({p.gpu_memory_bytes / GiB:.1f} GiB)"),
        ("weights", f"{p.weights_bytes / GiB:.2f} GiB ({p.dtype}{', ' + p.quantization if p.quantization else ''}, "
                    f"from {p.weights_source}); {p.weights_bytes_per_gpu / GiB:.2f} GiB per GPU"),
        ("KV bytes per token", f"{p.kv_bytes_per_token} ({p.kv_cache_dtype}); {p.kv_bytes_per_token_per_gpu} per GPU"),
        ("overhead per GPU", f"{p.overhead_bytes_per_gpu / GiB:.2f} GiB"),
        ("KV cache per GPU", f"{p.kv_cache_bytes_per_gpu / GiB:.2f} GiB at gpu-memory-utilization "
                             f"{p.gpu_memory_utilization}"),
        ("KV cache tokens", f"{p.kv_cache_tokens:,} per replica"),
        ("max concurrent seqs", f"{p.max_concurrent_sequences} at max-model-len {p.max_model_len:,}"),
        ("fits", "yes" if p.fits else "NO: " + "; ".join(p.reasons)),
        ("smallest TP that fits", str(p.tensor_parallel_size) if p.tensor_parallel_size else "none up to 8"),
        ("shm", p.shm_size or "not needed (one GPU)"),
        ("memory request/limit", f"{p.memory_request} / {p.memory_limit}"),
        ("startup budget", f"{p.startup_budget_seconds}s (at {p.load_bandwidth_mbps:g} MB/s)"),
    ]
    rows += [("note", n) for n in p.notes]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def run(args) -> int:
    try:
        model = modelcfg.load(args.model)
        p = planner.plan(model, args.gpu, count=args.count, max_model_len=args.max_model_len,
                         util=args.gpu_memory_utilization, dtype=args.dtype, kv_cache_dtype=args.kv_cache_dtype,
                         max_num_seqs=args.max_num_seqs, max_num_batched_tokens=args.max_num_batched_tokens,
                         overhead_bytes=int(args.overhead_gib * GiB) if args.overhead_gib is not None else None,
                         kv_cache_memory=parse_bytes(args.kv_cache_memory) if args.kv_cache_memory else None,
                         load_bandwidth_mbps=args.load_mbps, quantization=args.quantization)
        if args.write_values:
            if not args.output:
                raise PlanError("--write-values needs -o FILE")
            plan_values.write(args.write_values, p, model, Path(args.output), command_line(args), args.model_name)
    except PlanError as e:
        print(f"plan: {e}", file=sys.stderr)
        return 2
    print(json.dumps(p.to_dict(), indent=2) if args.json else table(p))
    if args.write_values:
        print(f"plan: wrote {args.output} for chart {args.write_values}", file=sys.stderr)
    return 0 if p.fits else 1
