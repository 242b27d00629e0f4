"""The deploy flow: check the values, then install on a cluster, or run the release on this CPU.

The deploy flow (`llmcharts deploy`): check the values, then `helm upgrade --install` on a reachable cluster (after
checking that the Secrets the release reads exist), or run the release on this machine's CPU when there is none."""
from __future__ import annotations

import json
import os
import secrets as pysecrets
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

from . import paths
from .check import check
from .discovery import chart_dir
from .e2e import engine_containers, served_model_name
from .helm import Helm, build_all_dependencies
from .local import LocalRunner, RunnerError, local_overlay, wait_for_gateway_models
from .objects import secret_refs
from .pods import pod_templates
from .progress import ClusterProgress

# What `scripts/deploy` runs when given no values file.
DEFAULT_PRESETS = {
    "llm-stack": paths.VALUES / "llm-stack" / "cpu-local.yaml",
    "vllm": paths.VALUES / "vllm" / "qwen2.5-0.5b-cpu.yaml",
}


def cluster_reachable(kubectl: Path) -> bool:
    try:
        out = subprocess.run([str(kubectl), "version", "--request-timeout=5s", "-o", "json"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and '"serverVersion"' in out.stdout


def referenced_secrets(objects: list[dict]) -> dict[str, set]:
    """Secret name -> keys, for every secretKeyRef (not optional) in the rendered pods."""
    out: dict[str, set] = {}
    for _, _, key_ref in secret_refs(pod_templates(objects)):
        if not key_ref.get("optional"):
            out.setdefault(key_ref["name"], set()).add(key_ref["key"])
    return out


def missing_secrets(objects: list[dict], namespace: str) -> dict[str, set]:
    """The referenced Secrets (or keys) the cluster does not have: a pod would sit in CreateContainerConfigError."""
    kubectl = str(paths.TOOLS_BIN / "kubectl")
    missing = {}
    for name, keys in referenced_secrets(objects).items():
        out = subprocess.run([kubectl, "-n", namespace, "get", "secret", name, "-o", "json", "--request-timeout=10s"],
                             capture_output=True, text=True)
        have = set((json.loads(out.stdout).get("data") or {}).keys()) if out.returncode == 0 else set()
        if keys - have:
            missing[name] = keys - have
    return missing


def local_secrets(objects: list[dict]) -> tuple[dict[str, dict], str | None]:
    """The Secrets a local run hands its pods: name -> {key: value}, every key the pods read; a Hugging Face token
    from $HF_TOKEN, every other key one generated API key (returned too, None when nothing reads one)."""
    out: dict[str, dict] = {}
    api_key = None
    for _, env, key_ref in secret_refs(pod_templates(objects)):
        if "TOKEN" in env["name"] and "HF" in env["name"]:
            value = os.environ.get("HF_TOKEN", "")
        else:
            value = api_key = api_key or pysecrets.token_urlsafe(24)
        out.setdefault(key_ref["name"], {})[key_ref["key"]] = value
    return out, api_key


def deploy(args) -> int:
    chart = chart_dir(args.chart)
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
        with ClusterProgress(paths.TOOLS_BIN / "kubectl", args.namespace, args.release):
            return subprocess.call(cmd)
    kinds = ", ".join(sorted({f"{o['kind']}/{o['metadata']['name']}" for o in rep.objects}))
    print(f"deploy: no Kubernetes cluster reachable (current kube-context); {len(rep.objects)} objects rendered "
          f"and checked ({kinds}). With a cluster this runs: helm upgrade --install {args.release} "
          f"charts/{args.chart} -n {args.namespace} " + " ".join(f"-f {v}" for v in values))
    if args.print_only:
        print(rep.renders[helm.name].stdout)
        return 0
    return run_locally(chart, values, helm, args)


def hub_reachable() -> bool:
    try:
        urllib.request.urlopen("https://huggingface.co/api/models?limit=1", timeout=4)
        return True
    except Exception:
        return False


def run_locally(chart: Path, values: list[Path], helm: Helm, args) -> int:
    """Start the release on this machine's CPU through the LocalRunner; Ctrl-C stops it gracefully."""
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="llm-local-"))
    workdir.mkdir(parents=True, exist_ok=True)
    local = values + [local_overlay(chart, workdir)]
    r = helm.template(chart, local, release=args.release, namespace=args.namespace)
    if not r.ok:
        print(r.error, file=sys.stderr)
        return 1
    tiny = args.tiny_model or not hub_reachable()
    secrets, api_key = local_secrets(r.objects)
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
            t = runner.wait_ready(timeout=args.ready_timeout,
                                  progress=lambda line: print(f"deploy: waiting {line}", flush=True))
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
