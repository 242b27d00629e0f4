"""The cluster e2e's plumbing: whether a cluster can be had here (and why not), the kind cluster, and a target
installed with the pinned helm, waited for with pytest-helm-charts' waiters, with diagnostics on failure.

Where the cluster comes from (LLMCHARTS_E2E_CLUSTER):
  kind     (default) the kind cluster LLMCHARTS_KIND_CLUSTER (default llm-charts): reused when it exists (CI creates
           it with scripts/kind-create.sh and prepares it with scripts/kind-prepare.sh), else created here and
           deleted at the end (LLMCHARTS_KIND_KEEP=1 keeps it). Needs a reachable Docker daemon and kind on PATH.
  current  the current kube-context, e.g. a real GPU cluster (.github/workflows/gpu-e2e.yaml).
Targets are src/llmcharts/kindplan.py's (tests/kind/values); LLMCHARTS_E2E_TARGETS / LLMCHARTS_E2E_CHARTS narrow them.
"""
from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pykube
from pytest_helm_charts.k8s.deployment import wait_for_deployments_to_run
from pytest_helm_charts.utils import wait_for_objects_condition

from kube import Kube
from llmcharts import paths
from llmcharts.helm import parse_manifests
from llmcharts.objects import secret_refs as pod_secret_refs
from llmcharts.pods import pod_templates
from llmcharts.kindplan import Target

MODE = os.environ.get("LLMCHARTS_E2E_CLUSTER", "kind")
KIND_CLUSTER = os.environ.get("LLMCHARTS_KIND_CLUSTER", "llm-charts")
HELM = paths.TOOLS_BIN / "helm3"  # what ct uses in CI, and helm 3 is the older of the two we support
READY_TIMEOUT = int(os.environ.get("LLMCHARTS_E2E_READY_TIMEOUT", "1800"))


# ------------------------------------------------------------------ can a cluster be had here?

def unavailable(mode: str = MODE, env: dict | None = None) -> str | None:
    """None when the e2e tests can run here; else the reason, for the skip message."""
    env = dict(os.environ if env is None else env)
    if mode == "current":
        try:
            Kube.from_kubeconfig(env.get("KUBECONFIG")).core.get_api_resources(_request_timeout=10)
        except Exception as e:  # noqa: BLE001 (any failure to reach the API server is the reason)
            return f"LLMCHARTS_E2E_CLUSTER=current, but no cluster is reachable through the current kube-context ({e})"
        return None
    if mode != "kind":
        return f"LLMCHARTS_E2E_CLUSTER={mode!r} is neither 'kind' nor 'current'"
    problems = []
    docker = shutil.which("docker", path=env.get("PATH"))
    if not docker:
        problems.append("Docker is not installed (no docker on PATH)")
    else:
        try:
            r = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                               timeout=30, env=env)
            if r.returncode != 0 or not r.stdout.strip():
                last = (r.stderr.strip().splitlines() or ["no server version"])[-1]
                problems.append(f"the Docker daemon is not reachable (`docker info`: {last})")
        except (OSError, subprocess.TimeoutExpired) as e:
            problems.append(f"`docker info` did not answer ({e})")
    if not shutil.which("kind", path=env.get("PATH")):
        problems.append("kind is not on PATH")
    if not problems:
        return None
    return ("kind e2e needs Docker and kind: " + "; ".join(problems) +
            ". Where they exist: scripts/test -m kind tests/kind (GitHub: .github/workflows/kind-e2e.yaml)")


def opted_in(markexpr: str) -> bool:
    """The e2e tests pull several GB and start a cluster: they run when asked for (-m kind, or LLMCHARTS_KIND=1)."""
    return os.environ.get("LLMCHARTS_KIND") == "1" or re.search(r"(?<!not )\bkind\b", markexpr or "") is not None


# ------------------------------------------------------------------ the cluster

@dataclass
class Cluster:
    kubeconfig: str | None   # None: the current context of $KUBECONFIG / ~/.kube/config
    created: bool = False

    def helm(self, *args, timeout: int = 600) -> subprocess.CompletedProcess:
        env = dict(os.environ, **({"KUBECONFIG": self.kubeconfig} if self.kubeconfig else {}))
        return subprocess.run([str(HELM), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


def connect(tmp: Path) -> Cluster:
    if MODE == "current":
        return Cluster(kubeconfig=os.environ.get("KUBECONFIG"))
    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, timeout=60).stdout.split()
    created = KIND_CLUSTER not in clusters
    if created:
        r = subprocess.run([str(paths.ROOT / "scripts" / "kind-create.sh"), "--name", KIND_CLUSTER], capture_output=True,
                           text=True, timeout=1200)
        if r.returncode != 0:
            raise AssertionError(f"scripts/kind-create.sh failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    cfg = tmp / "kubeconfig"
    cfg.write_text(subprocess.run(["kind", "get", "kubeconfig", "--name", KIND_CLUSTER], capture_output=True, text=True,
                                  timeout=60, check=True).stdout)
    return Cluster(kubeconfig=str(cfg), created=created)


def disconnect(cluster: Cluster) -> None:
    if cluster.created and os.environ.get("LLMCHARTS_KIND_KEEP") != "1":
        subprocess.run(["kind", "delete", "cluster", "--name", KIND_CLUSTER], capture_output=True, timeout=600)


# ------------------------------------------------------------------ an installed target

@dataclass
class Release:
    cluster: Cluster
    kube: Kube
    target: Target
    name: str
    namespace: str
    objects: list = field(default_factory=list)   # the release's manifest
    hooks: list = field(default_factory=list)     # its hooks (the helm test pods)
    secret_values: dict = field(default_factory=dict)  # (secret, key) -> value created for the test

    @property
    def test_pod(self) -> dict:
        pods = [h for h in self.hooks if h.get("kind") == "Pod" and
                "test" in str((h.get("metadata", {}).get("annotations") or {}).get("helm.sh/hook", ""))]
        assert pods, f"{self.target.chart} renders no `helm test` pod (llm-common.tests.openaiPod)"
        return pods[0]

    def test_env(self) -> dict:
        env = {}
        for e in self.test_pod["spec"]["containers"][0].get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
            else:
                ref = e["valueFrom"]["secretKeyRef"]
                env[e["name"]] = self.secret_values.get((ref["name"], ref["key"]))
        return env

    def pods(self, component: str = "engine") -> list[dict]:
        return self.kube.pods(self.namespace, f"app.kubernetes.io/instance={self.name},"
                                              f"app.kubernetes.io/component={component}")


def secret_refs(objects: list[dict]) -> set[tuple[str, str, str]]:
    """(env name, secret, key) of every secretKeyRef (not optional) in the rendered pods."""
    return {(e["name"], ref["name"], ref["key"]) for _, e, ref in pod_secret_refs(pod_templates(objects))
            if not ref.get("optional")}


def values_args(target: Target) -> list[str]:
    return [a for v in target.values for a in ("-f", str(v))]


def install(cluster: Cluster, kube: Kube, target: Target, namespace: str, name: str) -> Release:
    """helm upgrade --install (no --wait: readiness is waited for per kind of object, with diagnostics), after
    creating the Secrets the render reads: API keys get a fresh random value (the checks send it), a Hugging Face
    token is taken from $HF_TOKEN when set; anything else must exist already."""
    rel = Release(cluster, kube, target, name, namespace)
    r = cluster.helm("template", name, target.chart_dir, "-n", namespace, *values_args(target), timeout=120)
    assert r.returncode == 0, f"helm template {target.name}: {r.stderr}"
    for env_name, secret, key in sorted(secret_refs(parse_manifests(r.stdout))):
        if re.search(r"API_?KEY", env_name):
            value = secrets.token_hex(16)
        elif env_name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN") and os.environ.get("HF_TOKEN"):
            value = os.environ["HF_TOKEN"]
        else:
            continue
        if (secret, key) in rel.secret_values:
            continue
        kube.core.create_namespaced_secret(namespace, {"metadata": {"name": secret},
                                                       "data": {key: base64.b64encode(value.encode()).decode()}})
        rel.secret_values[(secret, key)] = value
    r = cluster.helm("upgrade", "--install", name, target.chart_dir, "-n", namespace, *values_args(target), timeout=900)
    assert r.returncode == 0, f"helm install of {target.name} failed:\n{r.stderr[-3000:]}\n{kube.diagnostics(namespace)}"
    rel.objects = parse_manifests(cluster.helm("get", "manifest", name, "-n", namespace).stdout)
    rel.hooks = parse_manifests(cluster.helm("get", "hooks", name, "-n", namespace).stdout)
    return rel


def uninstall(rel: Release) -> None:
    rel.cluster.helm("uninstall", rel.name, "-n", rel.namespace, "--wait", "--timeout", "5m", timeout=600)


# ------------------------------------------------------------------ readiness (pytest-helm-charts' waiters)

def _condition_true(kind: str):
    def check(obj) -> bool:
        status = obj.obj.get("status") or {}
        if kind == "RayCluster":
            return status.get("state") == "ready"
        conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        return conds.get("Ready") == "True" or status.get("serviceStatus") == "Running"
    return check


def wait_ready(rel: Release, pykube_client: pykube.HTTPClient, timeout: int = READY_TIMEOUT) -> list[str]:
    """Wait until every workload of the release is ready: its Deployments (pytest-helm-charts'
    wait_for_deployments_to_run), InferenceServices, RayServices and RayClusters (their Ready condition or state,
    through wait_for_objects_condition), then KServe's predictor Deployments. Fails with the namespace's events and
    the logs of every pod that is not Ready."""
    waited = []
    try:
        deployments = [o["metadata"]["name"] for o in rel.objects if o.get("kind") == "Deployment"]
        if deployments:
            wait_for_deployments_to_run(pykube_client, deployments, rel.namespace, timeout)
            waited += [f"Deployment/{d}" for d in deployments]
        for kind, api_version in (("InferenceService", "serving.kserve.io/v1beta1"), ("RayService", "ray.io/v1"),
                                  ("RayCluster", "ray.io/v1")):
            names = [o["metadata"]["name"] for o in rel.objects if o.get("kind") == kind]
            if names:
                cls = pykube.object_factory(pykube_client, api_version, kind)
                wait_for_objects_condition(pykube_client, cls, names, rel.namespace, _condition_true(kind), timeout,
                                           missing_ok=False)
                waited += [f"{kind}/{n}" for n in names]
            if kind == "InferenceService" and names:
                wait_for_deployments_to_run(pykube_client, [f"{n}-predictor" for n in names], rel.namespace, timeout)
    except (TimeoutError, Exception) as e:  # noqa: BLE001 (any wait failure: show the cluster's side)
        raise AssertionError(f"{rel.target.name} did not become ready ({type(e).__name__}: {e}); waited for "
                             f"{waited}\n{rel.kube.diagnostics(rel.namespace)}") from e
    return waited


def helm_test(rel: Release, timeout: str = "15m") -> str:
    """`helm test --logs` (helm prints the test pods' logs before it deletes the ones that passed); when it fails,
    the failed test pods (kept by their delete policy) are read back through the API: phase, logs, events."""
    r = rel.cluster.helm("test", rel.name, "-n", rel.namespace, "--logs", "--timeout", timeout, timeout=1200)
    out = r.stdout + r.stderr
    if r.returncode != 0:
        for hook in (h for h in rel.hooks if h.get("kind") == "Pod"):
            name = hook["metadata"]["name"]
            try:
                pod = rel.kube.pod(rel.namespace, name)
            except Exception:  # noqa: BLE001 (a pod that passed is gone)
                continue
            out += (f"\n--- {name}: phase {pod['status'].get('phase')}\n" +
                    rel.kube.logs(rel.namespace, name, pod["spec"]["containers"][0]["name"], tail=400))
        raise AssertionError(f"helm test failed:\n{out[-6000:]}\n{rel.kube.diagnostics(rel.namespace)}")
    return out
