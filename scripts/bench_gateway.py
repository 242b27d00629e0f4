#!/usr/bin/env python3
"""What the gateway costs: vLLM's own serving benchmark (vllm.benchmarks.serve) against one engine replica directly,
through the router alone (its loopback port, as only the pod itself can reach it) and through the whole gateway
(HAProxy in front of the router) before the same replica, on the local stack of the README's main job
(values/llm-stack/cpu-local.yaml, the real vLLM CPU build, the tiny model).

Prints, per round and as medians over the rounds (the three targets interleaved, so drift hits all of them):
  - median time to first token at concurrency 1 (target: the gateway adds at most 2 ms),
  - output token throughput at concurrency 16 (target: the gateway costs at most 5%).
A benchmark, not a test: it prints numbers and whether the targets are met, and exits 0 either way unless a run
fails. Usage: .venv/bin/python scripts/bench_gateway.py [--rounds 3] [--prompts 40] [--input-len 256] [--output-len 32]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmcharts import engine_env, paths  # noqa: E402
from llmcharts.helm import Helm  # noqa: E402
from llmcharts.local import LocalRunner, local_overlay, wait_for_gateway_models  # noqa: E402

KEY = "bench-key"
MODEL = "qwen2.5-0.5b-instruct"


def bench(base: str, tokenizer: Path, concurrency: int, a) -> dict:
    argv = ["--backend", "openai", "--base-url", base, "--endpoint", "/v1/completions", "--model", MODEL,
            "--tokenizer", str(tokenizer), "--dataset-name", "random", "--random-input-len", str(a.input_len),
            "--random-output-len", str(a.output_len), "--num-prompts", str(a.prompts if concurrency > 1 else a.prompts // 2),
            "--max-concurrency", str(concurrency), "--ignore-eos", "--num-warmups", "2",
            "--percentile-metrics", "ttft,tpot,e2el", "--metric-percentiles", "50"]
    env = {**os.environ, "OPENAI_API_KEY": KEY, "PYTHONPATH": str(paths.ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([str(engine_env.engine_python()), "-m", "llmcharts.bench_serve", *argv],
                       capture_output=True, text=True, env=env, timeout=1800)
    if r.returncode != 0:
        raise SystemExit(f"benchmark against {base} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if out.get("failed"):
        raise SystemExit(f"benchmark against {base}: {out['failed']} requests failed")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--prompts", type=int, default=48)
    ap.add_argument("--input-len", type=int, default=256)
    ap.add_argument("--output-len", type=int, default=32)
    a = ap.parse_args()
    chart = paths.CHARTS / "llm-stack"
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    r = Helm("helm4").template(chart, [paths.VALUES / "llm-stack" / "cpu-local.yaml", local_overlay(chart, work)],
                               release="bench", namespace="bench")
    if not r.ok:
        raise SystemExit(r.error)
    with LocalRunner(r.objects, work / "run", secrets={"llm-api-key": {"api-key": KEY}}, namespace="bench",
                     extra_env={"HF_HUB_OFFLINE": "1"}, tiny_models=True) as runner:
        runner.start()
        runner.wait_ready(timeout=900)
        gateway = runner.service_url("bench-llm-stack-gateway")
        wait_for_gateway_models(gateway, KEY, [MODEL])
        engine = runner.service_url("bench-vllm")
        router = gateway.rsplit(":", 1)[0] + ":8001"  # the router's loopback listener (the pod's address here)
        targets = [("direct", engine), ("router", router), ("gateway", gateway)]
        tokenizer = next((work / "run").rglob("snapshots/*/tokenizer.json")).parent
        rows = []
        for i in range(a.rounds):
            row = {}
            for name, base in targets[i % 3:] + targets[:i % 3]:
                c1, c16 = bench(base, tokenizer, 1, a), bench(base, tokenizer, 16, a)
                row[name] = {"ttft_ms": c1["median_ttft_ms"], "tput": c16["output_throughput"]}
            rows.append(row)
            print(f"round {i + 1}: " + "; ".join(f"{k} TTFT@1 {v['ttft_ms']:.2f} ms, tok/s@16 {v['tput']:.1f}"
                                                 for k, v in row.items()), flush=True)
    med = {k: {m: statistics.median(r[k][m] for r in rows) for m in ("ttft_ms", "tput")}
           for k in ("direct", "router", "gateway")}
    # Per-round paired differences (the three targets ran back to back within a round), then their median: drift in
    # machine load between rounds cancels out of the comparison.
    added = statistics.median(r["gateway"]["ttft_ms"] - r["direct"]["ttft_ms"] for r in rows)
    by_proxy = statistics.median(r["gateway"]["ttft_ms"] - r["router"]["ttft_ms"] for r in rows)
    change = statistics.median(100 * (r["gateway"]["tput"] / r["direct"]["tput"] - 1) for r in rows)
    proxy_change = statistics.median(100 * (r["gateway"]["tput"] / r["router"]["tput"] - 1) for r in rows)
    print(f"\nmedians over {a.rounds} rounds ({a.input_len} in / {a.output_len} out tokens, {a.prompts} prompts at 16;"
          " differences are medians of per-round paired differences):")
    print(f"  router alone:            TTFT@1 {med['router']['ttft_ms']:.2f} ms, tok/s@16 {med['router']['tput']:.1f}"
          f" (HAProxy in front of it: TTFT {by_proxy:+.2f} ms, tok/s {proxy_change:+.1f}%)")
    print(f"  TTFT at concurrency 1:   direct {med['direct']['ttft_ms']:.2f} ms, gateway {med['gateway']['ttft_ms']:.2f} ms"
          f"  -> {added:+.2f} ms  (target: at most +2 ms: {'met' if added <= 2 else 'NOT met'})")
    print(f"  output tok/s at 16:      direct {med['direct']['tput']:.1f}, gateway {med['gateway']['tput']:.1f}"
          f"  -> {change:+.1f}%  (target: no worse than -5%: {'met' if change >= -5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
