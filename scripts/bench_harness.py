#!/usr/bin/env python3
"""Benchmark of the harness's own overhead (prints numbers; not a test, nothing fails on them).

1. The static suite (`pytest -m "not engine and not kind"`): its wall time against the summed time of the helm
   calls it makes (every process of the run logs each call to LLMCHARTS_HELM_TIMES). Target: at most 1.5x, and
   under 60 s on 2 cores.
2. `llmcharts check` of one values file: its wall time against the two bare `helm template` runs it needs
   (helm 3 then helm 4, the same arguments), the median of several runs each. Target: at most 3x.

    scripts/bench [--suite-runs N] [--check-runs N] [--chart vllm] [--values FILE] [--skip-suite] [-- PYTEST ARGS]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
HELM = ROOT / ".tools" / "bin"


def timed(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)
    return time.monotonic() - start, r


def suite(runs: int, extra: list[str]) -> list[tuple[float, float, int, str]]:
    out = []
    for i in range(runs):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as log:
            pass
        env = {**os.environ, "LLMCHARTS_HELM_TIMES": log.name, "COLUMNS": "400"}
        wall, r = timed([str(PY), "-m", "pytest", "-m", "not engine and not kind", "-q", "-p", "no:cacheprovider",
                         *extra],
                        env=env)
        calls = [float(line.split("\t")[2]) for line in Path(log.name).read_text().splitlines() if line]
        os.unlink(log.name)
        tail = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-300:]
        out.append((wall, sum(calls), len(calls), tail))
        for line in r.stdout.splitlines():
            if line.startswith(("FAILED", "ERROR")):
                print(f"  {line}")
        print(f"  suite run {i + 1}: wall {wall:.1f} s, {len(calls)} helm calls summing {sum(calls):.1f} s "
              f"(ratio {wall / max(sum(calls), 1e-9):.2f}); pytest: {tail}", flush=True)
    return out


def check(runs: int, chart: str, values: str) -> tuple[float, float]:
    common = ["template", "check", str(ROOT / "charts" / chart), "--namespace", "llm-test",
              "--kube-version", "1.37.0", "-f", values]
    cmd = [str(ROOT / ".venv" / "bin" / "llmcharts"), "check", "-c", chart, "-f", values]
    timed(cmd)  # warm caches (.cache/, dependency build stamps), as a user's second run is
    checks, bares = [], []
    for _ in range(runs):
        t, r = timed(cmd)
        if r.returncode != 0:
            sys.exit(f"bench: llmcharts check failed:\n{r.stdout}{r.stderr}")
        checks.append(t)
        bares.append(sum(timed([str(HELM / h), *common])[0] for h in ("helm3", "helm4")))
    return statistics.median(checks), statistics.median(bares)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite-runs", type=int, default=1)
    ap.add_argument("--check-runs", type=int, default=9)
    ap.add_argument("--chart", default="vllm")
    ap.add_argument("--values", default=str(ROOT / "values" / "vllm" / "llama-3.1-8b-l4.yaml"))
    ap.add_argument("--skip-suite", action="store_true")
    ap.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments for the suite runs")
    args = ap.parse_args()
    args.values = str(Path(args.values).resolve())
    print(f"bench: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other work on the machine skews "
          f"wall times; compare ratios, rerun when busy)")
    c, b = check(args.check_runs, args.chart, args.values)
    print(f"check: llmcharts check -c {args.chart} -f {os.path.relpath(args.values, ROOT)}: median {c:.3f} s; two "
          f"bare helm template runs: median {b:.3f} s; ratio {c / b:.2f} (target <= 3)")
    if not args.skip_suite:
        runs = suite(args.suite_runs, args.pytest_args)
        wall, helm, calls, _ = min(runs)  # the quietest run: the least disturbed by other work on the machine
        print(f"suite: wall {wall:.1f} s (target < 60), {calls} helm calls summing {helm:.1f} s "
              f"({1000 * helm / max(calls, 1):.0f} ms each); ratio {wall / max(helm, 1e-9):.2f} (target <= 1.5); "
              f"best of {len(runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
