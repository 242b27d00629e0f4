"""Shared fixtures: the pinned helm binaries (dependencies built once per session), the custom-resource schemas
(in-repo, or LLMCHARTS_CRD_DIRS), cached renders of every chart x values file (rendered in parallel on first
use, see render_cache.py), and counters printed at the end of the run."""
from __future__ import annotations

import collections
import time

import pytest

import render_cache
from llmcharts import discovery, invariants, paths
from llmcharts.helm import Helm, build_all_dependencies

STATS = collections.Counter()
_STARTED = time.monotonic()


@pytest.fixture(scope="session")
def helms() -> dict[str, Helm]:
    hs = {n: Helm(n) for n in paths.HELM_NAMES}
    build_all_dependencies(hs["helm3"], discovery.all_charts())
    return hs


@pytest.fixture(scope="session")
def crd_dirs() -> list:
    """Raw CRD directories from LLMCHARTS_CRD_DIRS, or [] for the in-repo schemas (schemas/crds)."""
    return paths.crd_dirs()


_reports: dict = {}


@pytest.fixture(scope="session")
def report_for(helms, crd_dirs):
    """report_for(case) -> llmcharts.check.Report, rendered once per session."""
    def get(case: discovery.Case):
        if case.id not in _reports:
            if not _reports:  # the first request starts every case's renders (both helms) on the helm pool
                for c in discovery.cases():
                    for h in helms.values():
                        render_cache.submit(h, c.chart, [c.values], release=c.release)
            rep = render_cache.report(helms, case.chart, [case.values], crd_dirs, release=case.release)
            STATS["renders"] += len(rep.renders)
            STATS["objects"] += len(rep.objects)
            STATS["schema validations"] += sum(len(r.validated_against) for r in rep.schema)
            STATS["schema errors"] += len(rep.schema_errors)
            STATS["CEL rule evaluations"] += sum(r.cel_rules for r in rep.schema)
            STATS["invariant checks"] += len(invariants.ALL)
            STATS["invariant violations"] += len(rep.violations)
            _reports[case.id] = rep
        return _reports[case.id]
    return get


def pytest_terminal_summary(terminalreporter):
    if STATS["renders"]:
        cases = len(_reports)
        terminalreporter.write_sep("=", "render-and-check harness")
        terminalreporter.write_line(
            f"{cases} chart x values cases, {STATS['renders']} renders (helm 3 + helm 4), "
            f"{STATS['objects']} objects, {STATS['schema validations']} strict schema validations "
            f"(Kubernetes {' and '.join(paths.K8S_VERSIONS)} + CRDs), {STATS['CEL rule evaluations']} CEL rule "
            f"evaluations, {STATS['schema errors']} schema errors, "
            f"{STATS['invariant checks']} invariant checks, {STATS['invariant violations']} violations")
    for key in sorted(k for k in STATS
                      if k.startswith(("bad input", "CEL rules", "drain", "e2e", "flags", "fuzz", "gateway", "llm-stack", "planner"))):
        terminalreporter.write_line(f"{key}: {STATS[key]}")
    if render_cache.STATS["requested"]:
        terminalreporter.write_line(f"shared renders: {render_cache.STATS['rendered']} helm template runs for "
                                    f"{render_cache.STATS['requested']} requests")
    terminalreporter.write_line(f"suite wall time: {time.monotonic() - _STARTED:.1f}s")
