"""The user-facing commands: `scripts/check` reports and fails on problems; `scripts/deploy` without a cluster
renders, checks and prints what it would apply."""
import os
import subprocess

import yaml

from llmcharts import paths

CHECK = [str(paths.ROOT / ".venv" / "bin" / "llmcharts"), "check", "-c", "vllm"]


def run(args, tmp_path, **env):
    return subprocess.run(args, capture_output=True, text=True, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
                                                                     "KUBECONFIG": str(tmp_path / "no-kubeconfig"), **env})


def test_check_passes_a_good_preset(tmp_path):
    r = run(CHECK + ["-f", str(paths.VALUES / "vllm" / "llama-3-70b-awq-a100x4.yaml")], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "render helm3: ok" in r.stdout and "render helm4: ok" in r.stdout
    assert "0 violations" in r.stdout and "result: OK" in r.stdout


def test_check_reports_an_invariant_violation(tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump({"model": {"name": "x"}, "probes": {"port": "metrics"}}))
    r = run(CHECK + ["-f", str(f)], tmp_path)
    assert r.returncode == 1
    assert "[engine_containers_have_probes]" in r.stdout and "'metrics' is not a declared container port" in r.stdout


def test_check_reports_a_kubernetes_schema_error(tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump({"model": {"name": "x"}, "podSecurityContext": {"runAsUser": "root"}}))
    r = run(CHECK + ["-f", str(f)], tmp_path)
    assert r.returncode == 1
    assert "spec.template.spec.securityContext.runAsUser" in r.stdout


def test_check_reports_a_render_error(tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump({"model": {"name": "x"}, "engine": {"tensorParallelSize": 2}}))
    r = run(CHECK + ["-f", str(f)], tmp_path)
    assert r.returncode == 1 and "accelerator.count (1) must equal" in r.stdout


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
