"""Command line: `llmcharts check` (validate your own values file), `llmcharts deploy` (the main job) and
`llmcharts plan` (size a model on a GPU; src/llmcharts/plan_cli.py)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from . import discovery, paths
from .check import check
from .helm import Helm, build_all_dependencies, parse_manifests
from .local import local_overlay, wait_for_gateway_models


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


def referenced_secrets(objects: list[dict]) -> dict[str, set]:
    """Secret name -> keys, for every secretKeyRef (not optional) in the rendered pods."""
    from .invariants import pod_templates
    out: dict[str, set] = {}
    for pod in pod_templates(objects):
        for c in pod.containers():
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    out.setdefault(ref["name"], set()).add(ref["key"])
    return out


def missing_secrets(objects: list[dict], namespace: str) -> dict[str, set]:
    """The referenced Secrets (or keys) the cluster does not have: a pod would sit in CreateContainerConfigError."""
    import json
    kubectl = str(paths.TOOLS_BIN / "kubectl")
    missing = {}
    for name, keys in referenced_secrets(objects).items():
        out = subprocess.run([kubectl, "-n", namespace, "get", "secret", name, "-o", "json", "--request-timeout=10s"],
                             capture_output=True, text=True)
        have = set((json.loads(out.stdout).get("data") or {}).keys()) if out.returncode == 0 else set()
        if keys - have:
            missing[name] = keys - have
    return missing


def cmd_deploy(args) -> int:
    chart = _chart_dir(args.chart)
    values = [Path(f) for f in args.values] or [DEFAULT_PRESETS.get(args.chart) or
                                                 SystemExit(f"deploy: -f VALUES is required for chart {args.chart}")]
    if isinstance(values[0], SystemExit):
        raise values[0]
    helm = Helm(args.helm)
    build_all_dependencies(helm, [chart])
    rep = check(chart, values, [helm], release=args.release, namespace=args.namespace)
    print(rep.summary())
    if not rep.ok:
        print("deploy: the values do not pass the checks above; nothing was applied", file=sys.stderr)
        return 1
    if not args.local and cluster_reachable(paths.TOOLS_BIN / "kubectl"):
        missing = missing_secrets(rep.objects, args.namespace)
        if missing:
            print("deploy: these Secrets are referenced by the release but do not exist in namespace "
                  f"{args.namespace}; create them first (nothing was applied):", file=sys.stderr)
            for name, keys in sorted(missing.items()):
                lits = " ".join(f"--from-literal={k}=..." for k in sorted(keys))
                print(f"  kubectl -n {args.namespace} create secret generic {name} {lits}", file=sys.stderr)
            return 1
        cmd = [str(helm.path), "upgrade", "--install", args.release, str(chart), "--namespace", args.namespace,
               "--create-namespace", "--wait", "--timeout", args.timeout]
        for v in values:
            cmd += ["-f", str(v)]
        print("deploy: cluster reachable; running: " + " ".join(cmd[1:]))
        return subprocess.call(cmd)
    kinds = ", ".join(sorted({f"{o['kind']}/{o['metadata']['name']}" for o in rep.objects}))
    print(f"deploy: no Kubernetes cluster reachable (current kube-context); {len(rep.objects)} objects rendered "
          f"and checked ({kinds}). With a cluster this runs: helm upgrade --install {args.release} "
          f"charts/{args.chart} -n {args.namespace} " + " ".join(f"-f {v}" for v in values))
    if args.print_only:
        print(rep.renders[helm.name].stdout)
        return 0
    return run_locally(chart, values, helm, args)


# What `scripts/deploy` runs when given no values file.
DEFAULT_PRESETS = {
    "llm-stack": paths.VALUES / "llm-stack" / "cpu-local.yaml",
    "vllm": paths.VALUES / "vllm" / "qwen2.5-0.5b-cpu.yaml",
}


def hub_reachable() -> bool:
    import urllib.request
    try:
        urllib.request.urlopen("https://huggingface.co/api/models?limit=1", timeout=4)
        return True
    except Exception:
        return False


def run_locally(chart: Path, values: list[Path], helm: Helm, args) -> int:
    """Start the release on this machine's CPU through the LocalRunner; Ctrl-C stops it gracefully."""
    import secrets as pysecrets
    import signal
    import tempfile
    import threading

    from .e2e import served_model_name, engine_containers
    from .local import LocalRunner, RunnerError

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="llm-local-"))
    workdir.mkdir(parents=True, exist_ok=True)
    local = values + [local_overlay(chart, workdir)]
    r = helm.template(chart, local, release=args.release, namespace=args.namespace)
    if not r.ok:
        print(r.error, file=sys.stderr)
        return 1
    tiny = args.tiny_model or not hub_reachable()
    needed = {}
    for o in r.objects:
        for c in (o.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []):
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    needed.setdefault(ref["name"], {})[ref["key"]] = e["name"]
    secrets, api_key = {}, None
    for name, keys in needed.items():
        for key, env in keys.items():
            if "TOKEN" in env and "HF" in env:
                value = os.environ.get("HF_TOKEN", "")
            else:
                value = api_key = api_key or pysecrets.token_urlsafe(24)
            secrets.setdefault(name, {})[key] = value
    extra_env = {"HF_HUB_OFFLINE": "1"} if tiny else {}
    print(f"deploy: starting locally on CPU in {workdir} ("
          + ("tiny random model standing in for the preset's weights: no Hub access" if tiny else "weights from the Hub")
          + "); logs in " + str(workdir / "logs"), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalRunner(r.objects, workdir, secrets=secrets, namespace=args.namespace, extra_env=extra_env,
                     tiny_models=tiny) as runner:
        try:
            runner.start()
            t = runner.wait_ready(timeout=args.ready_timeout)
        except RunnerError as e:
            print(f"deploy: the local stack did not become ready: {e}", file=sys.stderr)
            return 1
        services = [o for o in r.objects if o["kind"] == "Service"]
        gateway = next((o for o in services if o["metadata"]["labels"].get("app.kubernetes.io/component") == "gateway"), None)
        base = runner.service_url((gateway or services[0])["metadata"]["name"])
        if gateway:
            try:
                models = wait_for_gateway_models(base, api_key)
            except TimeoutError as e:
                print(f"deploy: {e}\n{runner.tail_logs()}", file=sys.stderr)
                return 1
            model = models[0]
        else:
            model = served_model_name(engine_containers(r.objects)[0])
        auth = f" -H 'Authorization: Bearer {api_key}'" if api_key else ""
        print(f"deploy: ready in {t:.0f}s\n\n  OpenAI base URL: {base}/v1\n  model: {model}\n"
              + (f"  API key: {api_key}\n" if api_key else "")
              + f"\n  curl {base}/v1/chat/completions -H 'Content-Type: application/json'{auth} \\\n"
              f"    -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]}}'\n\n"
              "Ctrl-C stops it (graceful: preStop, SIGTERM, in-flight requests finish).", flush=True)
        restarts = {}
        while not stop.wait(1):
            for p in list(runner.pods.values()):
                for c in p.containers:
                    if c.failed:
                        print(f"deploy: {p.name}/{c.name}: {c.failed}", file=sys.stderr)
                        return 1
                    if c.restarts != restarts.get((p.name, c.name), 0):
                        restarts[(p.name, c.name)] = c.restarts
                        print(f"deploy: {p.name}/{c.name} exited; restarted ({c.restarts} restarts, {c.state})", flush=True)
        print("deploy: stopping (graceful)", flush=True)
        timing = runner.stop()
        for name, t in timing.items():
            print(f"deploy: {name} stopped in {t['exited_after']:.1f}s{' (SIGKILL)' if t['sigkill'] else ''}", flush=True)
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
    d.set_defaults(func=cmd_deploy)

    from . import plan_cli
    plan_cli.register(sub)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
