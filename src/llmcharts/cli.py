"""Command line: parses the arguments of `llmcharts check`, `deploy` and `plan` and dispatches them.

check.py, deploy.py and plan_cli.py do the work."""
from __future__ import annotations

import argparse
import sys

from . import paths, plan_cli


def _check(args) -> int:
    from .check import check_command
    return check_command(args.chart, args.values, helm=args.helm, release=args.release, namespace=args.namespace,
                         show=args.show)


def _deploy(args) -> int:
    from .deploy import deploy
    return deploy(args)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="llmcharts")
    sub = ap.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("check", help="render a chart with your values and report schema errors and invariant violations")
    c.add_argument("-c", "--chart", required=True)
    c.add_argument("-f", "--values", action="append", default=[], help="values file (repeatable)")
    c.add_argument("--helm", choices=["helm3", "helm4", "both"], default="both")
    c.add_argument("--release", default="check")
    c.add_argument("-n", "--namespace", default="default")
    c.add_argument("--show", action="store_true", help="print the rendered manifests too")
    c.set_defaults(func=_check)

    d = sub.add_parser("deploy", help="deploy a preset to the current cluster, or show it when there is none")
    d.add_argument("-c", "--chart", default="llm-stack")
    d.add_argument("-f", "--values", action="append", default=[])
    d.add_argument("--release", default="llm")
    d.add_argument("-n", "--namespace", default="llm-serving")
    d.add_argument("--helm", choices=list(paths.HELM_NAMES), default="helm4")
    d.add_argument("--timeout", default="40m", help="helm --wait timeout (model load included)")
    d.add_argument("--local", action="store_true", help="do not use a cluster even if one is reachable")
    d.add_argument("--print-only", action="store_true", help="with no cluster: print the checked manifests, start nothing")
    d.add_argument("--tiny-model", action="store_true", help="locally: serve a tiny random model even with Hub access")
    d.add_argument("--workdir", help="locally: folder for volumes and logs (default: a new temp folder)")
    d.add_argument("--ready-timeout", type=float, default=900)
    d.set_defaults(func=_deploy)

    plan_cli.register(sub)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
