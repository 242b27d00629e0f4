"""Fixtures of the cluster tests (imported by each test module: a tests/kind/conftest.py would shadow tests/conftest.py
under pytest's prepend import mode): the cluster (kind or the current context), pytest-helm-charts' kube_cluster and
namespace_factory pointed at it, and the kubernetes client for the same kubeconfig."""
import os
from pathlib import Path

import pytest

import kindlib
from kube import Kube


@pytest.fixture(scope="session")
def e2e_cluster(request, tmp_path_factory):
    why_not = kindlib.unavailable()
    if why_not:
        pytest.skip(why_not)
    if not kindlib.opted_in(request.config.option.markexpr):
        pytest.skip("the cluster tests are opt-in (they start a cluster and pull GB of images): "
                    "scripts/test -m kind tests/kind, or LLMCHARTS_KIND=1")
    c = kindlib.connect(tmp_path_factory.mktemp("cluster"))
    yield c
    kindlib.disconnect(c)


@pytest.fixture(scope="module")
def kube_config(e2e_cluster) -> str:
    """pytest-helm-charts' kube_config (which kube_cluster and namespace_factory use), set to our cluster's."""
    return e2e_cluster.kubeconfig or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")


@pytest.fixture(scope="module")
def kube(kube_config) -> Kube:
    return Kube.from_kubeconfig(kube_config)
