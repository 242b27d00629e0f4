"""Command line: `llmcharts check` (validate your own values file) and `llmcharts deploy` (the main job)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from . import discovery, paths
from .check import check
from .helm import Helm, build_all_dependencies, parse_manifests


def _chart_dir(name: str) -> Path:
    chart = paths.CHARTS / name
    if not (chart / "Chart.yaml").exists():
        names = ", ".join(c.name for c in discovery.app_charts())
        raise SystemExit(f"unknown chart {name!r}; charts: {names}")
    return chart


def cmd_check(args) -> int:
    chart = _chart_dir(args.chart)
    helms = [Helm(n) for n in (paths.HELM_NAMES if args.helm == "both" else [args.helm])]
    build_all_dependencies(helms[0], [chart])
    if not paths.crd_dirs():
        print("note: no CRD directory (set LLMCHARTS_CRD_DIRS); custom resources will be reported as unknown",
              file=sys.stderr)
    rep = check(chart, [Path(f) for f in args.values], helms, release=args.release, namespace=args.namespace)
    if args.show and rep.renders:
        print(next(iter(rep.renders.values())).stdout)
    print(rep.summary())
    return 0 if rep.ok else 1


def cluster_reachable(kubectl: Path) -> bool:
    try:
        out = subprocess.run([str(kubectl), "version", "--request-timeout=5s", "-o", "json"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and '"serverVersion"' in out.stdout


def cmd_deploy(args) -> int:
    chart = _chart_dir(args.chart)
    values = [Path(f) for f in args.values] or [paths.VALUES / args.chart / "qwen2.5-0.5b-cpu.yaml"]
    helm = Helm(args.helm)
    build_all_dependencies(helm, [chart])
    rep = check(chart, values, [helm], release=args.release, namespace=args.namespace)
    print(rep.summary())
    if not rep.ok:
        print("deploy: the values do not pass the checks above; nothing was applied", file=sys.stderr)
        return 1
    if not args.local and cluster_reachable(paths.TOOLS_BIN / "kubectl"):
        cmd = [str(helm.path), "upgrade", "--install", args.release, str(chart), "--namespace", args.namespace,
               "--create-namespace", "--wait", "--timeout", args.timeout]
        for v in values:
            cmd += ["-f", str(v)]
        print("deploy: cluster reachable; running: " + " ".join(cmd[1:]))
        return subprocess.call(cmd)
    print("deploy: no Kubernetes cluster reachable (current kube-context); this is what would be applied:\n")
    print(rep.renders[helm.name].stdout)
    kinds = ", ".join(sorted({f"{o['kind']}/{o['metadata']['name']}" for o in rep.objects}))
    print(f"deploy: {len(rep.objects)} objects rendered and checked ({kinds}); "
          f"with a cluster this runs: helm upgrade --install {args.release} charts/{args.chart} -n {args.namespace} "
          + " ".join(f"-f {v}" for v in values))
    return 0


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
    c.set_defaults(func=cmd_check)

    d = sub.add_parser("deploy", help="deploy a preset to the current cluster, or show it when there is none")
    d.add_argument("-c", "--chart", default="vllm")
    d.add_argument("-f", "--values", action="append", default=[])
    d.add_argument("--release", default="llm")
    d.add_argument("-n", "--namespace", default="llm-serving")
    d.add_argument("--helm", choices=list(paths.HELM_NAMES), default="helm4")
    d.add_argument("--timeout", default="40m", help="helm --wait timeout (model load included)")
    d.add_argument("--local", action="store_true", help="do not use a cluster even if one is reachable")
    d.set_defaults(func=cmd_deploy)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
