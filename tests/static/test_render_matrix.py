"""Every application chart x every values file that targets it (ci/*.yaml and values/<chart>/*.yaml),
rendered with helm 3 and helm 4: identical objects, strict schema validation, all invariants."""
import pytest

from llmcharts import discovery

CASES = discovery.cases()


def test_matrix_is_not_empty():
    charts = {c.chart.name for c in CASES}
    assert "vllm" in charts
    assert len(CASES) >= 5


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_renders_under_helm3_and_helm4(case, report_for):
    rep = report_for(case)
    assert not rep.render_errors, rep.summary()
    assert rep.objects, "rendered nothing"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_helm3_and_helm4_agree(case, report_for):
    rep = report_for(case)
    assert not rep.render_errors, rep.summary()
    assert not rep.helm_diffs, rep.summary()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_objects_validate_strictly(case, report_for):
    rep = report_for(case)
    assert not rep.render_errors, rep.summary()
    assert all(r.validated_against for r in rep.schema)
    assert not rep.schema_errors, rep.summary()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_invariants_hold(case, report_for):
    rep = report_for(case)
    assert not rep.render_errors, rep.summary()
    assert not rep.violations, rep.summary()
