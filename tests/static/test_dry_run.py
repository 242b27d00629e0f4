"""`helm install --dry-run=client` works for every preset under helm 3 and helm 4.

helm 4 needs no cluster at all. helm 3 reads discovery even for a client-side dry run (helm/helm#13144), so it
is pointed at tests/discovery_stub.py, which answers only discovery (/version, /api, /apis and resource lists)."""
import pytest

from llmcharts import discovery, paths, pods
from llmcharts.helm import pool

from discovery_stub import discovery_kubeconfig


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory, crd_dirs):
    with discovery_kubeconfig(tmp_path_factory.mktemp("kube"), crd_dirs) as cfg:
        yield cfg


@pytest.fixture(scope="module")
def dry_runs(helms, kubeconfig, tmp_path_factory):
    """Every preset's dry run under both helms, all started at once on the helm pool."""
    no_cluster = tmp_path_factory.mktemp("none") / "no-cluster"
    return {(case.id, name): pool().submit(helms[name].install_dry_run, case.chart, [case.values],
                                           release=case.release, namespace="ml-serving",
                                           kubeconfig=kubeconfig if name == "helm3" else no_cluster)
            for case in discovery.presets() for name in paths.HELM_NAMES}


@pytest.mark.parametrize("helm_name", paths.HELM_NAMES)
@pytest.mark.parametrize("case", discovery.presets(), ids=lambda c: c.id)
def test_install_dry_run_client(case, helm_name, dry_runs):
    r = dry_runs[(case.id, helm_name)].result()
    assert r.returncode == 0, r.stderr
    assert "STATUS: pending-install" in r.stdout
    # A workload was rendered: a Deployment, or a custom resource that embeds pod templates (RayService, ...) or
    # that KServe builds pods from (InferenceService, its runtime).
    workloads = (*pods.POD_TEMPLATE_PATHS, "InferenceService", *pods.KSERVE_RUNTIME_KINDS)
    assert "NOTES:" in r.stdout and any(f"\nkind: {k}\n" in r.stdout for k in workloads)


def test_helm4_needs_no_cluster_for_a_client_dry_run(helms, tmp_path):
    case = discovery.presets()[0]
    r = helms["helm4"].install_dry_run(case.chart, [case.values], "x", "default", kubeconfig=tmp_path / "missing")
    assert r.returncode == 0, r.stderr
