"""The user-facing commands: `scripts/check` reports and fails on problems; `scripts/deploy` without a cluster
renders, checks and prints what it would apply."""
import os
import subprocess

import pytest
import yaml

import render_cache
from llmcharts import deploy, paths
from llmcharts.objects import secret_refs
from llmcharts.pods import pod_templates

CHECK = [str(paths.ROOT / ".venv" / "bin" / "llmcharts"), "check", "-c", "vllm"]


def run(args, tmp_path, **env):
    return subprocess.run(args, capture_output=True, text=True, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
                                                                     "KUBECONFIG": str(tmp_path / "no-kubeconfig"), **env})


def test_check_passes_a_good_preset(tmp_path):
    r = run(CHECK + ["-f", str(paths.VALUES / "vllm" / "llama-3-70b-awq-a100x4.yaml")], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "render helm3: ok" in r.stdout and "render helm4: ok" in r.stdout
    assert "0 violations" in r.stdout and "result: OK" in r.stdout


@pytest.mark.parametrize("values,expected", [
    ({"probes": {"port": "metrics"}}, ["[engine_containers_have_probes]", "'metrics' is not a declared container port"]),
    ({"podSecurityContext": {"runAsUser": "root"}}, ["spec.template.spec.securityContext.runAsUser"]),
    ({"engine": {"tensorParallelSize": 2}}, ["accelerator.count (1) must equal"]),
], ids=["invariant-violation", "kubernetes-schema-error", "render-error"])
def test_check_reports_a_problem_and_fails(values, expected, tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump({"model": {"name": "x"}, **values}))
    r = run(CHECK + ["-f", str(f)], tmp_path)
    assert r.returncode == 1
    assert all(e in r.stdout for e in expected), r.stdout


def test_local_run_hands_every_pod_the_secrets_it_reads(helms, monkeypatch):
    """A local deploy creates each Secret key a pod reads (init containers and optional refs included): the Hugging
    Face token from $HF_TOKEN, every other key one generated API key; the cluster pre-check asks only for the keys
    a pod cannot start without."""
    monkeypatch.setenv("HF_TOKEN", "hf_local")
    objs = render_cache.Chart("vllm").objects(helms, paths.CHARTS / "vllm" / "ci" / "full-values.yaml")
    secrets, api_key = deploy.local_secrets(objs)
    assert secrets == {"hf-token": {"token": "hf_local"}, "vllm-api-key": {"api-key": api_key}} and len(api_key) > 20
    stack = render_cache.Chart("llm-stack").objects(helms, paths.VALUES / "llm-stack" / "cpu-local.yaml")
    optional = [ref for _, _, ref in secret_refs(pod_templates(stack)) if ref.get("optional")]
    assert optional and deploy.referenced_secrets(stack) == {"llm-api-key": {"api-key"}}
    assert deploy.local_secrets(stack)[0].keys() == {"llm-api-key"}


def test_deploy_without_a_cluster_prints_the_checked_manifests(tmp_path):
    r = run([str(paths.ROOT / "scripts" / "deploy"), "--print-only"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no Kubernetes cluster reachable" in r.stdout
    docs = [d for d in yaml.safe_load_all(r.stdout[r.stdout.index("---"):]) if d]
    assert {d["kind"] for d in docs} >= {"Deployment", "Service"}


def test_deploy_to_a_cluster_refuses_missing_secrets(tmp_path, crd_dirs):
    """With a reachable cluster that lacks a Secret the release reads, deploy says which and how to create it,
    and applies nothing (no pod stuck in CreateContainerConfigError)."""
    import sys
    sys.path.insert(0, str(paths.ROOT / "tests"))
    from discovery_stub import discovery_kubeconfig
    with discovery_kubeconfig(tmp_path, crd_dirs) as cfg:
        r = subprocess.run([str(paths.ROOT / "scripts" / "deploy"), "-n", "ml"], capture_output=True, text=True,
                           env={**os.environ, "KUBECONFIG": str(cfg)}, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "kubectl -n ml create secret generic llm-api-key --from-literal=api-key=..." in r.stderr
    assert "upgrade --install" not in r.stdout
