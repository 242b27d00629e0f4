"""checkov (Kubernetes framework, offline) on every chart x values file, the pods of custom resources included: no
finding outside the justified list (llmcharts.scan.SKIPS), and no render that scans nothing."""
import time

import pytest

import render_cache
from llmcharts import discovery, scan

from conftest import STATS

pytestmark = pytest.mark.skipif(not scan.CHECKOV.exists(), reason=f"checkov is not installed at {scan.CHECKOV} "
                                                                  "(scripts/bootstrap installs it)")


@pytest.fixture(scope="module")
def result(helms, tmp_path_factory):
    cases = {c.id: render_cache.render(helms["helm4"], c.chart, [c.values], release=c.release,
                                       namespace="llm-test").objects for c in discovery.cases()}
    t0 = time.monotonic()
    findings, scanned = scan.run(cases, tmp_path_factory.mktemp("checkov"))
    STATS["checkov: seconds for one run over every render"] = round(time.monotonic() - t0, 1)
    STATS["checkov: resources scanned"] = sum(len(s) for s in scanned.values())
    STATS["checkov: findings waived with a reason"] = sum(1 for f in findings if f.waiver())
    return cases, findings, scanned


def test_every_render_is_scanned(result):
    cases, _, scanned = result
    empty = [case for case, resources in scanned.items() if not resources]
    assert not empty, f"checkov scanned nothing in {empty}"


def test_pods_of_custom_resources_are_scanned(result):
    """The KServe predictor pods and the Ray groups reach checkov as stand-in Deployments."""
    _, _, scanned = result
    for case, kind in (("kserve-llm:charts/kserve-llm/ci/full-values.yaml", "inferenceservice"),
                       ("ray-llm:charts/ray-llm/ci/full-values.yaml", "ray")):
        assert any(r.startswith(f"Deployment.llm-test.{kind}") for r in scanned[case]), (case, sorted(scanned[case]))


def test_no_finding_outside_the_justified_list(result):
    _, findings, _ = result
    unjustified = sorted({f"{f.check} {f.name} ({f.resource}, {f.case})" for f in findings if not f.waiver()})
    assert not unjustified, "checkov findings without a justification:\n" + "\n".join(unjustified)


def test_waivers_are_narrow():
    """A waiver covers the pods it names and no others: the read-only root and UID waivers are for TGI and Ray,
    not the vLLM engines; the probe waivers for the curl test pods, not the engines."""
    vllm = ["docker.io/vllm/vllm-openai:v0.32.0", "docker.io/library/haproxy:2.8.26-alpine"]
    for check in ("CKV_K8S_22", "CKV_K8S_40", "CKV_K8S_9", "CKV_K8S_8", "CKV_K8S_29", "CKV_K8S_20"):
        assert scan.Finding("c", "Deployment.llm-test.x-vllm", check, "", vllm).waiver() is None, check
    assert scan.Finding("c", "Pod.llm-test.x-vllm-test-openai", "CKV_K8S_9", "", ["docker.io/curlimages/curl:8.16.0"]).waiver()
