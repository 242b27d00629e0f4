"""Parse rendered vLLM container args with the pinned vLLM's own argument parser, without starting an engine.

Runs inside the engine venv (it imports vllm). Reads JSON [{"id": ..., "args": [...]}] on stdin, writes JSON
{id: [error, ...]} on stdout. Checked: unknown and removed flags and bad choices (argparse, as `vllm serve`
would reject them at start), --quantization against vLLM's QUANTIZATION_METHODS (argparse has no choices for
it; vLLM checks it only when the engine config is built), and JSON-valued flags parse as JSON.
Usage: python -m llmcharts.vllm_args_check < renders.json
"""
from __future__ import annotations

import contextlib
import io
import json
import sys


def main() -> int:
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.model_executor.layers.quantization import QUANTIZATION_METHODS
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    cases = json.load(sys.stdin)
    out = {}
    for case in cases:
        errors = []
        parser = make_arg_parser(FlexibleArgumentParser(prog="vllm serve"))
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                ns = parser.parse_args(case["args"])
        except SystemExit:
            errors.append(err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "argparse exit")
            ns = None
        if ns is not None:
            q = getattr(ns, "quantization", None)
            if q is not None and q not in QUANTIZATION_METHODS:
                errors.append(f"--quantization: {q!r} is not one of vLLM's QUANTIZATION_METHODS")
        for a in case["args"]:
            if a.startswith("--speculative-config="):
                try:
                    json.loads(a.split("=", 1)[1])
                except ValueError as e:
                    errors.append(f"--speculative-config is not JSON: {e}")
        out[case["id"]] = errors
    json.dump({"vllm": __import__("vllm").__version__, "quantization_methods": list(QUANTIZATION_METHODS),
               "results": out}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
